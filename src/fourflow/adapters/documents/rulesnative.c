/* The native pass of the business-rule engine (fourflow.adapters.documents.native_rules).
 *
 * One walk of libxml2's tree (an lxml document element and its descendants, in document
 * order) finds the rule contexts (elements by namespace and local name, optionally with an
 * attribute, a parent, or being the document element); at each, the context's program walks
 * its trie of pure paths (child steps with a name test, an optional last attribute step, no
 * namespace) once, counting the nodes each path selects (up to 255) and keeping the first,
 * and decides the program's checks from that: a path selects a node / none / more than N;
 * (a step, and a context, may carry a predicate: some child, or the first child's or the
 * element's own string, normalized and perhaps upper-cased, is a literal; and/or/not);
 * the first node's normalized string is not empty; it is in a code list; it has at most N
 * characters after its first '.'. The programs come from the Schematron's asserts, compiled
 * in Python (native_rules.py).
 *
 * Built by `make setup` (python -m fourflow.adapters.documents.native_rules --build);
 * without it the rules run on the XSLT engine alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <libxml/tree.h>

/* The head of lxml's _Element (lxml/etree.h, struct LxmlElement). The type is checked
 * against lxml.etree._Element when the trie is prepared, and native_rules.py runs a
 * self-test before it uses the pass. */
typedef struct {
    PyObject_HEAD
    void *_doc;
    xmlNode *_c_node;
    PyObject *_tag;
} ElementHead;

typedef struct {
    char *ns;    /* namespace URI ("" for none) */
    char *local; /* local name */
    int child;   /* trie node */
    int pred;    /* predicate the child must satisfy, or -1 */
} Edge;

/* A predicate on an element (a step's [..], a context's filter), as XPath 1.0 decides it:
 * op 0: some child (ns, local) satisfies predicate a (a -1: any such child);
 *    1: the string of the first child (ns, local) ('' without one), transformed, is lit;
 *    2: the element's own string, transformed, is lit;
 *    3: a and b; 4: a or b; 5: not a.
 * transform 0: as it is; 1: normalize-space; 2: translate a-z to A-Z, then normalize-space.
 * lit never holds XML whitespace, so normalize-space(s) = lit iff s without its leading and
 * trailing whitespace is lit. */
typedef struct {
    int op, transform, a, b;
    char *ns, *local, *lit;
} Pred;

typedef struct {
    char *name;
    int path;
} AttrEnd;

typedef struct {
    int edge_start, edge_count; /* edges sorted by local name, then namespace */
    int end_start, end_count;   /* paths ending at this element */
    int attr_start, attr_count; /* paths ending at an attribute of this element */
} TrieNode;

typedef struct {
    int root;                   /* its trie's node for the context element */
    int path_start, path_end;   /* its paths */
    int check_start, check_end; /* its checks */
    int last;                   /* the element it last ran on (one run per element) */
    int deferred;               /* decide its checks after the walk (they read flags) */
} Program;

typedef struct {
    char *ns, *local;              /* local NULL: a suffix context (below) */
    char *suffix, *not_suffix;     /* the local name ends with suffix, not with not_suffix */
    char *anc_ns, *anc_local;      /* no ancestor anc (with a child kid) */
    char *kid_ns, *kid_local;
    char *attr;                    /* required attribute, or NULL */
    char *parent_ns, *parent_local; /* required parent, or NULL */
    int pred, parent_pred;         /* predicates on it and its parent, or -1 */
    int at_root;                   /* must be the document element */
    int program;
} Context;

typedef struct {
    int path, kind, aux;
} Atom;

typedef struct {
    int number;
    int code_start, code_len; /* its test in postfix: atoms (>= 0), AND -1, OR -2, NOT -3 */
} Check;

typedef struct {
    char **codes; /* sorted (strcmp) */
    int count;
} CodeList;

typedef struct {
    TrieNode *nodes;
    int node_count;
    Edge *edges;
    int edge_count;
    int *ends;
    AttrEnd *attrs;
    int attr_count;
    int paths;
    Program *programs;
    int program_count;
    Context *contexts; /* sorted by local name */
    int context_count;
    Context *suffixed; /* contexts by a suffix of the local name */
    int suffixed_count;
    Check *checks;
    int check_count;
    Atom *atoms;
    int atom_count;
    int *code;
    int code_count;
    int flag_count; /* document-wide flags: a check numbered -(f + 1) sets flag f */
    CodeList *lists;
    int list_count;
    Pred *preds;
    int pred_count;
    PyTypeObject *element_type;
} Pass;

typedef struct {
    unsigned char *counts;
    unsigned char *flags;
    const void **first; /* xmlNode* or xmlAttr* */
    int *failed;        /* pairs: assert number, element index */
    int failed_count, failed_cap;
    int oom;
} Run;

static void pass_free(Pass *t) {
    if (t == NULL) return;
    for (int i = 0; t->edges && i < t->edge_count; i++) {
        free(t->edges[i].ns);
        free(t->edges[i].local);
    }
    for (int i = 0; t->attrs && i < t->attr_count; i++) free(t->attrs[i].name);
    for (int i = 0; t->contexts && i < t->context_count + t->suffixed_count; i++) {
        Context *c = i < t->context_count ? &t->contexts[i] : &t->suffixed[i - t->context_count];
        free(c->ns);
        free(c->local);
        free(c->attr);
        free(c->parent_ns);
        free(c->parent_local);
        free(c->suffix);
        free(c->not_suffix);
        free(c->anc_ns);
        free(c->anc_local);
        free(c->kid_ns);
        free(c->kid_local);
    }
    for (int i = 0; t->lists && i < t->list_count; i++) {
        for (int j = 0; j < t->lists[i].count; j++) free(t->lists[i].codes[j]);
        free(t->lists[i].codes);
    }
    free(t->nodes);
    free(t->edges);
    free(t->ends);
    free(t->attrs);
    free(t->programs);
    free(t->contexts);
    free(t->suffixed);
    free(t->checks);
    free(t->atoms);
    free(t->code);
    free(t->lists);
    for (int i = 0; t->preds && i < t->pred_count; i++) {
        free(t->preds[i].ns);
        free(t->preds[i].local);
        free(t->preds[i].lit);
    }
    free(t->preds);
    Py_XDECREF(t->element_type);
    free(t);
}

static void capsule_free(PyObject *capsule) {
    pass_free((Pass *)PyCapsule_GetPointer(capsule, "fourflow.rulesnative.pass"));
}

static char *copy_str(PyObject *s) {
    if (s == NULL || s == Py_None) return NULL;
    const char *text = PyUnicode_AsUTF8(s);
    if (text == NULL) return NULL;
    char *out = strdup(text);
    if (out == NULL) PyErr_NoMemory();
    return out;
}

static int in_range(long v, long lo, long hi, const char *what) {
    if (v < lo || v >= hi) {
        PyErr_Format(PyExc_ValueError, "%s out of range", what);
        return 0;
    }
    return 1;
}

/* prepare(nodes, paths, programs, contexts, suffixed, checks, atoms, lists, flags,
 *         element_type, preds) -> capsule
 * nodes: [(edges [(ns, local, child, pred|-1)] sorted by (local, ns) as bytes, ends [path],
 *          attrs [(name, path)])]: an edge is taken only by a child satisfying its pred;
 * programs: [(root node, first path, end path, deferred)] (paths of a program are
 *           contiguous; a deferred program runs at the document element only and decides
 *           its checks after the walk, when every flag is set);
 * contexts: [(ns, local, attr|None, parent_ns|None, parent_local|None, at_root, program,
 *             pred|-1, parent_pred|-1)] sorted by local as bytes;
 * suffixed: [(suffix, not_suffix|None, anc_ns|None, anc_local|None, kid_ns|None,
 *             kid_local|None, program)]: every element whose local name ends with suffix,
 *           not with not_suffix, and that has no ancestor anc with a child kid;
 * checks: [(program, assert number, [postfix code])] grouped by program: the test that
 *         fails, of atoms (their numbers), AND (-1), OR (-2), NOT (-3);
 * atoms: [(path, kind, aux)]: kind 0: the path selects a node; 2: more than aux nodes;
 *        3: its first node's normalized string is ''; 4: that string has a space or is not
 *        in code list aux; 5: that string has more than aux characters after its first '.';
 *        7: the path selects exactly aux nodes; 9: flag aux is set;
 * lists: [[code, ...] sorted as bytes]; flags: how many document-wide flags;
 * preds: [(op, ns|None, local|None, transform, lit|None, a, b)] (Pred; operands first). */
static PyObject *prepare(PyObject *self, PyObject *args) {
    PyObject *nodes, *programs, *contexts, *suffixed, *checks, *atoms, *lists, *element_type;
    PyObject *preds;
    int paths, flags;
    if (!PyArg_ParseTuple(args, "O!iO!O!O!O!O!O!iO!O!", &PyList_Type, &nodes, &paths,
                          &PyList_Type, &programs, &PyList_Type, &contexts, &PyList_Type,
                          &suffixed, &PyList_Type, &checks, &PyList_Type, &atoms, &PyList_Type,
                          &lists, &flags, &PyType_Type, &element_type, &PyList_Type, &preds))
        return NULL;
    Py_ssize_t code = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(checks); i++) {
        PyObject *check = PyList_GET_ITEM(checks, i);
        if (!PyTuple_Check(check) || PyTuple_GET_SIZE(check) != 3 ||
            !PyList_Check(PyTuple_GET_ITEM(check, 2))) {
            PyErr_SetString(PyExc_TypeError, "a check is (program, number, code)");
            return NULL;
        }
        code += PyList_GET_SIZE(PyTuple_GET_ITEM(check, 2));
    }
    if (paths < 0 || flags < 0) {
        PyErr_SetString(PyExc_ValueError, "negative path or flag count");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(nodes);
    Py_ssize_t edges = 0, ends = 0, attrs = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *node = PyList_GET_ITEM(nodes, i);
        if (!PyTuple_Check(node) || PyTuple_GET_SIZE(node) != 3 ||
            !PyList_Check(PyTuple_GET_ITEM(node, 0)) || !PyList_Check(PyTuple_GET_ITEM(node, 1)) ||
            !PyList_Check(PyTuple_GET_ITEM(node, 2))) {
            PyErr_SetString(PyExc_TypeError, "a trie node is (edges, ends, attrs)");
            return NULL;
        }
        edges += PyList_GET_SIZE(PyTuple_GET_ITEM(node, 0));
        ends += PyList_GET_SIZE(PyTuple_GET_ITEM(node, 1));
        attrs += PyList_GET_SIZE(PyTuple_GET_ITEM(node, 2));
    }
    Pass *t = calloc(1, sizeof(Pass));
    if (t == NULL) return PyErr_NoMemory();
    t->element_type = (PyTypeObject *)element_type;
    Py_INCREF(element_type);
    t->node_count = (int)count;
    t->paths = paths;
    t->flag_count = flags;
    t->program_count = (int)PyList_GET_SIZE(programs);
    t->context_count = (int)PyList_GET_SIZE(contexts);
    t->suffixed_count = (int)PyList_GET_SIZE(suffixed);
    t->suffixed = calloc(t->suffixed_count + 1, sizeof(Context));
    t->check_count = (int)PyList_GET_SIZE(checks);
    t->list_count = (int)PyList_GET_SIZE(lists);
    t->pred_count = (int)PyList_GET_SIZE(preds);
    t->preds = calloc(t->pred_count + 1, sizeof(Pred));
    t->atom_count = (int)PyList_GET_SIZE(atoms);
    t->atoms = calloc(t->atom_count + 1, sizeof(Atom));
    t->code = calloc(code + 1, sizeof(int));
    t->nodes = calloc(count + 1, sizeof(TrieNode));
    t->edges = calloc(edges + 1, sizeof(Edge));
    t->ends = calloc(ends + 1, sizeof(int));
    t->attrs = calloc(attrs + 1, sizeof(AttrEnd));
    t->programs = calloc(t->program_count + 1, sizeof(Program));
    t->contexts = calloc(t->context_count + 1, sizeof(Context));
    t->checks = calloc(t->check_count + 1, sizeof(Check));
    t->lists = calloc(t->list_count + 1, sizeof(CodeList));
    if (!t->nodes || !t->edges || !t->ends || !t->attrs || !t->programs || !t->contexts ||
        !t->checks || !t->lists || !t->atoms || !t->code || !t->suffixed || !t->preds) {
        pass_free(t);
        return PyErr_NoMemory();
    }
    for (int i = 0; i < t->pred_count; i++) {
        Pred *p = &t->preds[i];
        PyObject *ns, *local, *lit;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(preds, i), "iOOiOii", &p->op, &ns, &local,
                              &p->transform, &lit, &p->a, &p->b))
            goto fail;
        /* operands come before the predicate that uses them: no cycles */
        if (!in_range(p->op, 0, 6, "predicate op") || !in_range(p->transform, 0, 3, "transform") ||
            !in_range(p->a, -1, i, "predicate operand") || !in_range(p->b, -1, i, "predicate operand"))
            goto fail;
        if ((p->op == 3 || p->op == 4) && (p->a < 0 || p->b < 0)) goto bad_pred;
        if (p->op == 5 && p->a < 0) goto bad_pred;
        if (p->op <= 1 && (ns == Py_None || local == Py_None)) goto bad_pred;
        if ((p->op == 1 || p->op == 2) && lit == Py_None) goto bad_pred;
        if (ns != Py_None && (p->ns = copy_str(ns)) == NULL) goto fail;
        if (local != Py_None && (p->local = copy_str(local)) == NULL) goto fail;
        if (lit != Py_None && (p->lit = copy_str(lit)) == NULL) goto fail;
        continue;
    bad_pred:
        PyErr_SetString(PyExc_ValueError, "bad predicate");
        goto fail;
    }
    int e = 0, d = 0, a = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *node = PyList_GET_ITEM(nodes, i);
        PyObject *es = PyTuple_GET_ITEM(node, 0), *ds = PyTuple_GET_ITEM(node, 1),
                 *as = PyTuple_GET_ITEM(node, 2);
        TrieNode *n = &t->nodes[i];
        n->edge_start = e;
        n->end_start = d;
        n->attr_start = a;
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(es); j++, e++) {
            PyObject *ns, *local;
            int child, pred;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(es, j), "UUii", &ns, &local, &child, &pred))
                goto fail;
            if (!in_range(child, 0, count, "trie edge") ||
                !in_range(pred, -1, t->pred_count, "edge predicate"))
                goto fail;
            n->edge_count++;
            t->edge_count++;
            t->edges[e].child = child;
            t->edges[e].pred = pred;
            if ((t->edges[e].ns = copy_str(ns)) == NULL) goto fail;
            if ((t->edges[e].local = copy_str(local)) == NULL) goto fail;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(ds); j++, d++) {
            long path = PyLong_AsLong(PyList_GET_ITEM(ds, j));
            if (path == -1 && PyErr_Occurred()) goto fail;
            if (!in_range(path, 0, paths, "path")) goto fail;
            n->end_count++;
            t->ends[d] = (int)path;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(as); j++, a++) {
            PyObject *name;
            int path;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(as, j), "Ui", &name, &path)) goto fail;
            if (!in_range(path, 0, paths, "path")) goto fail;
            n->attr_count++;
            t->attr_count++;
            t->attrs[a].path = path;
            if ((t->attrs[a].name = copy_str(name)) == NULL) goto fail;
        }
    }
    for (int i = 0; i < t->program_count; i++) {
        Program *p = &t->programs[i];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(programs, i), "iiii", &p->root, &p->path_start,
                              &p->path_end, &p->deferred))
            goto fail;
        if (!in_range(p->root, 0, count, "program root") ||
            !in_range(p->path_start, 0, paths + 1, "program paths") ||
            !in_range(p->path_end, p->path_start, paths + 1, "program paths"))
            goto fail;
        p->check_start = p->check_end = 0;
        p->last = -1;
    }
    for (int i = 0; i < t->context_count; i++) {
        Context *c = &t->contexts[i];
        PyObject *ns, *local, *attr, *pns, *plocal;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(contexts, i), "UUOOOiiii", &ns, &local, &attr, &pns,
                              &plocal, &c->at_root, &c->program, &c->pred, &c->parent_pred))
            goto fail;
        if (!in_range(c->program, 0, t->program_count, "context program") ||
            !in_range(c->pred, -1, t->pred_count, "context predicate") ||
            !in_range(c->parent_pred, -1, t->pred_count, "context predicate"))
            goto fail;
        if (c->parent_pred >= 0 && plocal == Py_None) {
            PyErr_SetString(PyExc_ValueError, "a parent predicate needs a parent");
            goto fail;
        }
        if ((c->ns = copy_str(ns)) == NULL || (c->local = copy_str(local)) == NULL) goto fail;
        if (attr != Py_None && (c->attr = copy_str(attr)) == NULL) goto fail;
        if (pns != Py_None && (c->parent_ns = copy_str(pns)) == NULL) goto fail;
        if (plocal != Py_None && (c->parent_local = copy_str(plocal)) == NULL) goto fail;
    }
    for (int i = 0; i < t->suffixed_count; i++) {
        Context *c = &t->suffixed[i];
        c->pred = c->parent_pred = -1;
        PyObject *sx, *nx, *ans, *anl, *kns, *knl;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(suffixed, i), "UOOOOOi", &sx, &nx, &ans, &anl, &kns,
                              &knl, &c->program))
            goto fail;
        if (!in_range(c->program, 0, t->program_count, "context program")) goto fail;
        if ((c->suffix = copy_str(sx)) == NULL) goto fail;
        if (nx != Py_None && (c->not_suffix = copy_str(nx)) == NULL) goto fail;
        if (anl != Py_None) {
            if ((c->anc_ns = copy_str(ans)) == NULL || (c->anc_local = copy_str(anl)) == NULL ||
                (c->kid_ns = copy_str(kns)) == NULL || (c->kid_local = copy_str(knl)) == NULL)
                goto fail;
        }
    }
    for (int i = 0; i < t->atom_count; i++) {
        Atom *x = &t->atoms[i];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(atoms, i), "iii", &x->path, &x->kind, &x->aux))
            goto fail;
        if (!in_range(x->path, 0, paths, "atom path") || !in_range(x->kind, 0, 10, "atom kind"))
            goto fail;
        if (x->kind == 4 && !in_range(x->aux, 0, t->list_count, "code list")) goto fail;
        if (x->kind == 9 && !in_range(x->aux, 0, t->flag_count, "flag")) goto fail;
    }
    for (int i = 0; i < t->check_count; i++) {
        Check *k = &t->checks[i];
        int program;
        PyObject *ops;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(checks, i), "iiO!", &program, &k->number,
                              &PyList_Type, &ops))
            goto fail;
        if (!in_range(program, 0, t->program_count, "check program")) goto fail;
        if (k->number < 0 && !in_range(-(long)k->number - 1, 0, t->flag_count, "check flag"))
            goto fail;
        k->code_start = t->code_count;
        k->code_len = (int)PyList_GET_SIZE(ops);
        int depth = 0;
        for (int j = 0; j < k->code_len; j++) {
            long op = PyLong_AsLong(PyList_GET_ITEM(ops, j));
            if (op == -1 && PyErr_Occurred()) goto fail;
            if (!in_range(op, -3, t->atom_count, "check code")) goto fail;
            depth += op >= 0 ? 1 : (op == -3 ? 0 : -1);
            if (depth < 1 || depth > 64) {
                PyErr_SetString(PyExc_ValueError, "a check's code is not a test");
                goto fail;
            }
            t->code[t->code_count++] = (int)op;
        }
        if (depth != 1) {
            PyErr_SetString(PyExc_ValueError, "a check's code is not a test");
            goto fail;
        }
        Program *p = &t->programs[program];
        if (p->check_end == 0) p->check_start = p->check_end = i;
        if (p->check_end != i) {
            PyErr_SetString(PyExc_ValueError, "checks are not grouped by program");
            goto fail;
        }
        p->check_end = i + 1;
    }
    for (int i = 0; i < t->list_count; i++) {
        PyObject *codes = PyList_GET_ITEM(lists, i);
        if (!PyList_Check(codes)) {
            PyErr_SetString(PyExc_TypeError, "a code list is a list");
            goto fail;
        }
        CodeList *l = &t->lists[i];
        l->codes = calloc(PyList_GET_SIZE(codes) + 1, sizeof(char *));
        if (l->codes == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(codes); j++) {
            if ((l->codes[j] = copy_str(PyList_GET_ITEM(codes, j))) == NULL) goto fail;
            l->count++;
        }
    }
    return PyCapsule_New(t, "fourflow.rulesnative.pass", capsule_free);
fail:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad native pass");
    pass_free(t);
    return NULL;
}

static inline void hit(Run *r, int path, const void *node) {
    if (r->counts[path] == 0) r->first[path] = node;
    if (r->counts[path] < 255) r->counts[path]++;
}

static inline int ns_is(const xmlNode *n, const char *ns) {
    const char *href = (n->ns != NULL && n->ns->href != NULL) ? (const char *)n->ns->href : "";
    return strcmp(href, ns) == 0;
}

typedef struct Buf Buf;
static int pred_eval(const Pass *t, int p, const xmlNode *node, Buf *b, int depth);

static void walk(const Pass *t, int at, const xmlNode *node, Run *r, Buf *b, int depth) {
    const TrieNode *n = &t->nodes[at];
    for (int i = 0; i < n->end_count; i++) hit(r, t->ends[n->end_start + i], node);
    if (n->attr_count) {
        for (const xmlAttr *p = node->properties; p != NULL; p = p->next) {
            if (p->type != XML_ATTRIBUTE_NODE || p->ns != NULL || p->name == NULL) continue;
            for (int i = 0; i < n->attr_count; i++) {
                const AttrEnd *x = &t->attrs[n->attr_start + i];
                if (strcmp((const char *)p->name, x->name) == 0) hit(r, x->path, p);
            }
        }
    }
    if (n->edge_count == 0 || depth > 64) return;
    const Edge *edges = &t->edges[n->edge_start];
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->name == NULL) continue;
        const char *local = (const char *)c->name;
        int lo = 0, hi = n->edge_count;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (strcmp(edges[mid].local, local) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < n->edge_count && strcmp(edges[i].local, local) == 0; i++) {
            if (!ns_is(c, edges[i].ns)) continue;
            if (edges[i].pred >= 0) {
                int v = pred_eval(t, edges[i].pred, c, b, 0);
                if (v < 0) r->oom = 1;
                if (v != 1) continue;
            }
            walk(t, edges[i].child, c, r, b, depth + 1);
        }
    }
}

/* The string value of an element (its descendant text, in document order) or attribute. */
struct Buf {
    char *text;
    size_t len, cap;
    int oom;
};

static void put(Buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->oom || n == 0) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *text = realloc(b->text, cap);
        if (text == NULL) {
            b->oom = 1;
            return;
        }
        b->text = text;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = 0;
}

static void text_of(const xmlNode *n, Buf *b, int depth) {
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            put(b, (const char *)c->content);
        else if (c->type == XML_ELEMENT_NODE && depth < 256)
            text_of(c, b, depth + 1);
    }
}

static void string_value(const void *node, Buf *b) {
    b->len = 0;
    if (b->text) b->text[0] = 0;
    if (node == NULL) return;
    const xmlNode *n = (const xmlNode *)node;
    if (n->type == XML_ATTRIBUTE_NODE) {
        for (const xmlNode *c = n->children; c != NULL; c = c->next)
            if (c->content) put(b, (const char *)c->content);
    } else {
        text_of(n, b, 0);
    }
}

static inline int xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The string of node ('' for NULL), transformed, equals lit: 1, 0, or -1 (no memory). */
static int string_is(const xmlNode *node, int transform, const char *lit, Buf *b) {
    string_value(node, b);
    if (b->oom) return -1;
    char *s = b->text ? b->text : "";
    size_t i = 0, j = b->len;
    if (transform == 2)
        for (size_t x = 0; x < j; x++)
            if (s[x] >= 'a' && s[x] <= 'z') s[x] = (char)(s[x] - 'a' + 'A');
    if (transform >= 1) {
        while (i < j && xml_space(s[i])) i++;
        while (j > i && xml_space(s[j - 1])) j--;
    }
    size_t n = strlen(lit);
    return j - i == n && memcmp(s + i, lit, n) == 0;
}

static int pred_eval(const Pass *t, int p, const xmlNode *node, Buf *b, int depth) {
    const Pred *x = &t->preds[p];
    if (depth > 32) return -1;
    switch (x->op) {
    case 0:
    case 1:
        for (const xmlNode *c = node->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || c->name == NULL ||
                strcmp((const char *)c->name, x->local) != 0 || !ns_is(c, x->ns))
                continue;
            if (x->op == 1) return string_is(c, x->transform, x->lit, b);
            int v = x->a < 0 ? 1 : pred_eval(t, x->a, c, b, depth + 1);
            if (v != 0) return v;
        }
        return x->op == 1 ? string_is(NULL, x->transform, x->lit, b) : 0;
    case 2: return string_is(node, x->transform, x->lit, b);
    case 3:
    case 4: {
        int v = pred_eval(t, x->a, node, b, depth + 1);
        if (v < 0 || v == (x->op == 4)) return v;
        return pred_eval(t, x->b, node, b, depth + 1);
    }
    case 5: {
        int v = pred_eval(t, x->a, node, b, depth + 1);
        return v < 0 ? v : !v;
    }
    }
    return -1;
}

static int atom(const Pass *t, const Atom *k, Run *r, Buf *b) {
    int c = r->counts[k->path];
    switch (k->kind) {
    case 0: return c >= 1;
    case 2: return c > k->aux;
    case 7: return c == k->aux;
    case 9: return r->flags[k->aux];
    case 3: { /* normalize-space(first) = '' */
        if (c == 0) return 1;
        string_value(r->first[k->path], b);
        if (b->oom) return -1;
        for (size_t i = 0; i < b->len; i++)
            if (!xml_space(b->text[i])) return 0;
        return 1;
    }
    case 4: { /* normalize-space(first) has a space, or is not in the code list */
        string_value(c ? r->first[k->path] : NULL, b);
        if (b->oom) return -1;
        const char *s = b->text ? b->text : "";
        size_t i = 0, j = b->len;
        while (i < j && xml_space(s[i])) i++;
        while (j > i && xml_space(s[j - 1])) j--;
        for (size_t x = i; x < j; x++)
            if (xml_space(s[x])) return 1;
        char saved = b->len ? b->text[j] : 0;
        if (b->len) b->text[j] = 0;
        const char *v = b->len ? b->text + i : "";
        const CodeList *l = &t->lists[k->aux];
        int lo = 0, hi = l->count, found = 0;
        while (lo < hi) {
            int mid = (lo + hi) / 2, cmp = strcmp(l->codes[mid], v);
            if (cmp == 0) {
                found = 1;
                break;
            }
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (b->len) b->text[j] = saved;
        return !found;
    }
    case 5: { /* more than aux characters after the first '.' */
        string_value(c ? r->first[k->path] : NULL, b);
        if (b->oom) return -1;
        const char *dot = b->len ? strchr(b->text, '.') : NULL;
        if (dot == NULL) return 0;
        long chars = 0;
        for (const unsigned char *p = (const unsigned char *)dot + 1; *p; p++)
            if ((*p & 0xC0) != 0x80) chars++;
        return chars > k->aux;
    }
    }
    return 0;
}

static void fail_at(Run *r, int number, int index) {
    if (r->oom) return;
    if (r->failed_count + 2 > r->failed_cap) {
        int cap = r->failed_cap ? 2 * r->failed_cap : 64;
        int *failed = realloc(r->failed, (size_t)cap * sizeof(int));
        if (failed == NULL) {
            r->oom = 1;
            return;
        }
        r->failed = failed;
        r->failed_cap = cap;
    }
    r->failed[r->failed_count++] = number;
    r->failed[r->failed_count++] = index;
}

static void decide_checks(const Pass *t, const Program *p, int index, Run *r, Buf *b) {
    for (int i = p->check_start; i < p->check_end; i++) {
        const Check *k = &t->checks[i];
        int stack[64], top = 0;
        for (int j = 0; j < k->code_len; j++) {
            int op = t->code[k->code_start + j];
            if (op >= 0) {
                int v = atom(t, &t->atoms[op], r, b);
                if (v < 0) {
                    r->oom = 1;
                    v = 0;
                }
                stack[top++] = v;
            } else if (op == -3) {
                stack[top - 1] = !stack[top - 1];
            } else {
                top--;
                stack[top - 1] = op == -1 ? (stack[top - 1] && stack[top])
                                          : (stack[top - 1] || stack[top]);
            }
        }
        if (!stack[0]) continue;
        if (k->number < 0)
            r->flags[-k->number - 1] = 1;
        else
            fail_at(r, k->number, index);
    }
}

static void run_program(const Pass *t, Program *p, const xmlNode *node, int index, Run *r, Buf *b) {
    if (p->last == index) return;
    p->last = index;
    int span = p->path_end - p->path_start;
    memset(r->counts + p->path_start, 0, (size_t)span);
    memset(r->first + p->path_start, 0, (size_t)span * sizeof(void *));
    walk(t, p->root, node, r, b, 0);
    if (!p->deferred) decide_checks(t, p, index, r, b);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int is_element(const xmlNode *n, const char *ns, const char *local) {
    return n != NULL && n->type == XML_ELEMENT_NODE && n->name != NULL &&
           strcmp((const char *)n->name, local) == 0 && ns_is(n, ns);
}

/* ancestor::anc/kid selects a node */
static int has_ancestor_with_child(const xmlNode *node, const Context *c) {
    for (const xmlNode *a = node->parent; a != NULL && a->type == XML_ELEMENT_NODE; a = a->parent) {
        if (!is_element(a, c->anc_ns, c->anc_local)) continue;
        for (const xmlNode *k = a->children; k != NULL; k = k->next)
            if (is_element(k, c->kid_ns, c->kid_local)) return 1;
    }
    return 0;
}

static int visit(Pass *t, const xmlNode *node, int *index, Run *r, Buf *b, int depth) {
    int here = (*index)++;
    const char *local = (const char *)node->name;
    int lo = 0, hi = t->context_count;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(t->contexts[mid].local, local) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < t->context_count && strcmp(t->contexts[i].local, local) == 0; i++) {
        const Context *c = &t->contexts[i];
        if (!ns_is(node, c->ns)) continue;
        const xmlNode *parent = node->parent;
        if (c->at_root && (parent == NULL || parent->type != XML_DOCUMENT_NODE)) continue;
        if (c->parent_local != NULL) {
            if (parent == NULL || parent->type != XML_ELEMENT_NODE || parent->name == NULL ||
                strcmp((const char *)parent->name, c->parent_local) != 0 ||
                !ns_is(parent, c->parent_ns))
                continue;
        }
        if (c->parent_pred >= 0 || c->pred >= 0) {
            int v = c->parent_pred >= 0 ? pred_eval(t, c->parent_pred, parent, b, 0) : 1;
            if (v == 1 && c->pred >= 0) v = pred_eval(t, c->pred, node, b, 0);
            if (v < 0) r->oom = 1;
            if (v != 1) continue;
        }
        if (c->attr != NULL) {
            int found = 0;
            for (const xmlAttr *p = node->properties; p != NULL && !found; p = p->next)
                found = p->type == XML_ATTRIBUTE_NODE && p->ns == NULL && p->name != NULL &&
                        strcmp((const char *)p->name, c->attr) == 0;
            if (!found) continue;
        }
        run_program(t, &t->programs[c->program], node, here, r, b);
    }
    for (int i = 0; i < t->suffixed_count; i++) {
        const Context *c = &t->suffixed[i];
        if (!ends_with(local, c->suffix) || (c->not_suffix && ends_with(local, c->not_suffix)))
            continue;
        if (c->anc_local != NULL && has_ancestor_with_child(node, c)) continue;
        run_program(t, &t->programs[c->program], node, here, r, b);
    }
    if (depth > 256) return 0;
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->name != NULL) visit(t, c, index, r, b, depth + 1);
    return 0;
}

static const xmlNode *node_of(const Pass *t, PyObject *element) {
    if (!PyObject_TypeCheck(element, t->element_type)) {
        PyErr_SetString(PyExc_TypeError, "an lxml element is required");
        return NULL;
    }
    const xmlNode *node = ((ElementHead *)element)->_c_node;
    if (node == NULL || node->type != XML_ELEMENT_NODE || node->name == NULL) {
        PyErr_SetString(PyExc_ValueError, "not an element");
        return NULL;
    }
    return node;
}

/* failures(capsule, document element) -> [assert number, element index, ...]: each failed
 * check with its context element's place among the document's elements (document order,
 * the document element 0), by element, then program, then check. */
static PyObject *failures(PyObject *self, PyObject *args) {
    PyObject *capsule, *element;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &element)) return NULL;
    Pass *t = (Pass *)PyCapsule_GetPointer(capsule, "fourflow.rulesnative.pass");
    if (t == NULL) return NULL;
    const xmlNode *node = node_of(t, element);
    if (node == NULL) return NULL;
    Run r = {0};
    Buf b = {0};
    r.counts = calloc((size_t)t->paths + 1, 1);
    r.first = calloc((size_t)t->paths + 1, sizeof(void *));
    r.flags = calloc((size_t)t->flag_count + 1, 1);
    if (r.counts == NULL || r.first == NULL || r.flags == NULL) {
        free(r.counts);
        free(r.first);
        free(r.flags);
        return PyErr_NoMemory();
    }
    int index = 0;
    /* the walk reads the tree only; the GIL stays held (the programs' run marks are shared) */
    for (int i = 0; i < t->program_count; i++) t->programs[i].last = -1;
    visit(t, node, &index, &r, &b, 0);
    /* deferred programs (at the document element, reading flags) decide now; their paths'
     * counts are their own, so still those of their run */
    for (int i = 0; i < t->program_count; i++) {
        Program *p = &t->programs[i];
        if (p->deferred && p->last >= 0) decide_checks(t, p, p->last, &r, &b);
    }
    for (int i = 0; i < t->program_count; i++) t->programs[i].last = -1;
    PyObject *out = NULL;
    if (!r.oom && !b.oom) {
        out = PyList_New(r.failed_count);
        for (int i = 0; out != NULL && i < r.failed_count; i++) {
            PyObject *v = PyLong_FromLong(r.failed[i]);
            if (v == NULL) Py_CLEAR(out);
            else PyList_SET_ITEM(out, i, v);
        }
    } else {
        PyErr_NoMemory();
    }
    free(r.counts);
    free(r.first);
    free(r.flags);
    free(r.failed);
    free(b.text);
    return out;
}

static PyMethodDef methods[] = {
    {"prepare", prepare, METH_VARARGS, "Compile the contexts, tries and checks of a rule set."},
    {"failures", failures, METH_VARARGS, "The failed checks over a document element."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rulesnative", "The native pass of the business-rule engine.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__rulesnative(void) { return PyModule_Create(&module); }
