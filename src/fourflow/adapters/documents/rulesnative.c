/* The native pass of the business-rule engine (fourflow.adapters.documents.native_rules).
 *
 * It counts, over libxml2's tree of an lxml element, how many nodes each of a set of pure
 * paths selects from that element: child steps with a name test (namespace URI and local
 * name) and an optional last attribute step (no namespace). The paths come from the
 * Schematron's asserts, compiled in Python into a trie (one node per distinct path prefix);
 * the pass walks the tree once along that trie. Counts stop at 255.
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
} Edge;

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
    TrieNode *nodes;
    int node_count;
    Edge *edges;
    int *ends;
    AttrEnd *attrs;
    int paths;
    int *checks; /* per check: assert number, path, kind */
    int check_count;
    PyTypeObject *element_type;
} Trie;

static void trie_free(Trie *t) {
    if (t == NULL) return;
    /* strings are owned by the edges and attribute ends */
    for (int i = 0; t->nodes && i < t->node_count; i++) {
        TrieNode *n = &t->nodes[i];
        for (int e = n->edge_start; t->edges && e < n->edge_start + n->edge_count; e++) {
            free(t->edges[e].ns);
            free(t->edges[e].local);
        }
        for (int a = n->attr_start; t->attrs && a < n->attr_start + n->attr_count; a++)
            free(t->attrs[a].name);
    }
    free(t->nodes);
    free(t->edges);
    free(t->ends);
    free(t->attrs);
    free(t->checks);
    Py_XDECREF(t->element_type);
    free(t);
}

static void capsule_free(PyObject *capsule) {
    trie_free((Trie *)PyCapsule_GetPointer(capsule, "fourflow.rulesnative.trie"));
}

static char *copy_str(PyObject *s) {
    const char *text = PyUnicode_AsUTF8(s);
    if (text == NULL) return NULL;
    char *out = strdup(text);
    if (out == NULL) PyErr_NoMemory();
    return out;
}

/* prepare(nodes, paths, checks, element_type) -> capsule
 * nodes: a list of (edges, ends, attrs) with edges a list of (ns, local, child) sorted by
 * (local, ns), ends a list of path numbers, attrs a list of (name, path); checks: a list of
 * (assert number, path, kind), kind 0: fails when the path selects a node, 1: when it
 * selects none, 2: when it selects more than one. */
static PyObject *prepare(PyObject *self, PyObject *args) {
    PyObject *nodes, *checks, *element_type;
    int paths;
    if (!PyArg_ParseTuple(args, "O!iO!O!", &PyList_Type, &nodes, &paths, &PyList_Type, &checks,
                          &PyType_Type, &element_type))
        return NULL;
    if (paths < 0) {
        PyErr_SetString(PyExc_ValueError, "negative path count");
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
    Trie *t = calloc(1, sizeof(Trie));
    if (t == NULL) return PyErr_NoMemory();
    t->nodes = calloc(count ? count : 1, sizeof(TrieNode));
    t->edges = calloc(edges ? edges : 1, sizeof(Edge));
    t->ends = calloc(ends ? ends : 1, sizeof(int));
    t->attrs = calloc(attrs ? attrs : 1, sizeof(AttrEnd));
    t->check_count = (int)PyList_GET_SIZE(checks);
    t->checks = calloc(t->check_count ? 3 * t->check_count : 1, sizeof(int));
    t->node_count = (int)count;
    t->paths = paths;
    t->element_type = (PyTypeObject *)element_type;
    Py_INCREF(element_type);
    if (!t->nodes || !t->edges || !t->ends || !t->attrs || !t->checks) {
        trie_free(t);
        return PyErr_NoMemory();
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
            PyObject *edge = PyList_GET_ITEM(es, j);
            int child;
            PyObject *ns, *local;
            if (!PyArg_ParseTuple(edge, "UUi", &ns, &local, &child)) goto fail;
            if (child < 0 || child >= count) {
                PyErr_SetString(PyExc_ValueError, "trie edge to an unknown node");
                goto fail;
            }
            n->edge_count++;
            t->edges[e].child = child;
            if ((t->edges[e].ns = copy_str(ns)) == NULL) goto fail;
            if ((t->edges[e].local = copy_str(local)) == NULL) goto fail;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(ds); j++, d++) {
            long path = PyLong_AsLong(PyList_GET_ITEM(ds, j));
            if (path == -1 && PyErr_Occurred()) goto fail;
            if (path < 0 || path >= paths) {
                PyErr_SetString(PyExc_ValueError, "path number out of range");
                goto fail;
            }
            n->end_count++;
            t->ends[d] = (int)path;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(as); j++, a++) {
            PyObject *name;
            int path;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(as, j), "Ui", &name, &path)) goto fail;
            if (path < 0 || path >= paths) {
                PyErr_SetString(PyExc_ValueError, "path number out of range");
                goto fail;
            }
            n->attr_count++;
            t->attrs[a].path = path;
            if ((t->attrs[a].name = copy_str(name)) == NULL) goto fail;
        }
    }
    for (int i = 0; i < t->check_count; i++) {
        int number, path, kind;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(checks, i), "iii", &number, &path, &kind)) goto fail;
        if (path < 0 || path >= paths || kind < 0 || kind > 2) {
            PyErr_SetString(PyExc_ValueError, "a check is (assert number, path, kind 0-2)");
            goto fail;
        }
        t->checks[3 * i] = number;
        t->checks[3 * i + 1] = path;
        t->checks[3 * i + 2] = kind;
    }
    return PyCapsule_New(t, "fourflow.rulesnative.trie", capsule_free);
fail:
    trie_free(t);
    return NULL;
}

static inline void bump(unsigned char *counts, int path) {
    if (counts[path] < 255) counts[path]++;
}

static void walk(const Trie *t, int at, const xmlNode *node, unsigned char *counts, int depth) {
    const TrieNode *n = &t->nodes[at];
    for (int i = 0; i < n->end_count; i++) bump(counts, t->ends[n->end_start + i]);
    if (n->attr_count) {
        for (const xmlAttr *p = node->properties; p != NULL; p = p->next) {
            if (p->type != XML_ATTRIBUTE_NODE || p->ns != NULL || p->name == NULL) continue;
            for (int i = 0; i < n->attr_count; i++) {
                const AttrEnd *x = &t->attrs[n->attr_start + i];
                if (strcmp((const char *)p->name, x->name) == 0) bump(counts, x->path);
            }
        }
    }
    if (n->edge_count == 0 || depth > 64) return;
    const Edge *edges = &t->edges[n->edge_start];
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->name == NULL) continue;
        const char *local = (const char *)c->name;
        const char *ns = (c->ns != NULL && c->ns->href != NULL) ? (const char *)c->ns->href : "";
        /* the first edge with this local name (edges sorted by local, then ns) */
        int lo = 0, hi = n->edge_count;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (strcmp(edges[mid].local, local) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < n->edge_count && strcmp(edges[i].local, local) == 0; i++) {
            if (strcmp(edges[i].ns, ns) == 0) walk(t, edges[i].child, c, counts, depth + 1);
        }
    }
}

/* count(capsule, element) -> bytes: for each path, how many nodes it selects from element
 * (at most 255); failures(capsule, element) -> the assert numbers of the failed checks, in
 * the order of the checks. */
static PyObject *run(PyObject *args, int verdicts) {
    PyObject *capsule, *element;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &element)) return NULL;
    Trie *t = (Trie *)PyCapsule_GetPointer(capsule, "fourflow.rulesnative.trie");
    if (t == NULL) return NULL;
    if (!PyObject_TypeCheck(element, t->element_type)) {
        PyErr_SetString(PyExc_TypeError, "an lxml element is required");
        return NULL;
    }
    const xmlNode *node = ((ElementHead *)element)->_c_node;
    if (node == NULL || node->type != XML_ELEMENT_NODE) {
        PyErr_SetString(PyExc_ValueError, "not an element");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, t->paths);
    if (out == NULL) return NULL;
    unsigned char *counts = (unsigned char *)PyBytes_AS_STRING(out);
    memset(counts, 0, (size_t)t->paths);
    if (t->node_count > 0) {
        Py_BEGIN_ALLOW_THREADS
        walk(t, 0, node, counts, 0);
        Py_END_ALLOW_THREADS
    }
    if (!verdicts) return out;
    PyObject *failed = PyList_New(0);
    for (int i = 0; failed != NULL && i < t->check_count; i++) {
        int c = counts[t->checks[3 * i + 1]], kind = t->checks[3 * i + 2];
        if ((kind == 0 && c >= 1) || (kind == 1 && c == 0) || (kind == 2 && c >= 2)) {
            PyObject *number = PyLong_FromLong(t->checks[3 * i]);
            if (number == NULL || PyList_Append(failed, number) < 0) Py_CLEAR(failed);
            Py_XDECREF(number);
        }
    }
    Py_DECREF(out);
    return failed;
}

static PyObject *count(PyObject *self, PyObject *args) { return run(args, 0); }

static PyObject *failures(PyObject *self, PyObject *args) { return run(args, 1); }

static PyMethodDef methods[] = {
    {"prepare", prepare, METH_VARARGS, "Compile a trie of paths."},
    {"count", count, METH_VARARGS, "Count the nodes each path selects from an element."},
    {"failures", failures, METH_VARARGS, "The assert numbers whose checks fail on an element."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rulesnative", "The native pass of the business-rule engine.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__rulesnative(void) { return PyModule_Create(&module); }
