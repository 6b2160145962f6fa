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
 * The rest are evaluated by libxml2's XPath (lxml's, called through the addresses
 * native_rules.py passes; libxslt evaluates the stylesheet's tests with it): a whole test at
 * the context (kind 21), a quantifier (kind 22), rules whose contexts a select from the root
 * gives (after the walk). Per run, one XPath context holds the namespaces, every element of
 * each name the tests read as a set (one walk) and the stylesheet's globals, evaluated once.
 *
 * Built by `make setup` (python -m fourflow.adapters.documents.native_rules --build);
 * without it the rules run on the XSLT engine alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
/* Built with -DFF_PROFILE (bench/rule_engine.py's xpath_profile, never by make setup): the
 * thread CPU time of each libxml2 XPath evaluation, by its test's place (kinds 21 and 22, the
 * globals; the named sets' walk at PROF_NAMED), read and reset by profile(). */
#ifdef FF_PROFILE
#include <time.h>
#define PROF_SLOTS 4096
#define PROF_NAMED (PROF_SLOTS - 1)
static double prof_ns[PROF_SLOTS];
static long prof_calls[PROF_SLOTS];
static double prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}
#define PROF_START double prof_t0 = prof_now()
#define PROF_END(i)                                                                         \
    do {                                                                                    \
        int prof_i = (i) >= 0 && (i) < PROF_SLOTS ? (i) : PROF_NAMED - 1;                  \
        prof_ns[prof_i] += prof_now() - prof_t0;                                            \
        prof_calls[prof_i]++;                                                               \
    } while (0)
#else
#define PROF_START
#define PROF_END(i)
#endif

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
    int sym, nsid; /* local and ns as symbols (see Pass.syms) */
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
    int sym, nsid;
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
    int sym, nsid, parent_sym, parent_nsid; /* names as symbols (-1 for none) */
    char *gp_ns, *gp_local;        /* required grandparent, or NULL */
    int gp_root;                   /* the grandparent's parent is the document element */
    int gp_sym, gp_nsid;
} Context;

typedef struct {
    int path, kind, aux, aux2;
} Atom;

/* A path from the context element for the numeric atoms: up to its parent first (up 1),
 * then child steps (ns, local), at most 4. */
#define MAX_STEPS 4
typedef struct {
    int up, count;
    char *ns[MAX_STEPS], *local[MAX_STEPS];
} Step;

/* number() of a string as libxml2 converts it (its xmlXPathCastStringToNumber). */
typedef double (*ToNumber)(const unsigned char *);

/* libxml2's XPath (lxml's: the library libxslt evaluates the stylesheet's tests with), for
 * the asserts decided by their whole test (kind 21): compiled once, evaluated at each
 * context element, so their verdicts are the stylesheet's by construction. */
typedef struct {
    xmlXPathContextPtr (*new_context)(xmlDocPtr);
    void (*free_context)(xmlXPathContextPtr);
    int (*register_ns)(xmlXPathContextPtr, const xmlChar *, const xmlChar *);
    xmlXPathCompExprPtr (*compile)(const xmlChar *);
    void (*free_comp)(xmlXPathCompExprPtr);
    int (*eval_bool)(xmlXPathCompExprPtr, xmlXPathContextPtr);
    xmlXPathObjectPtr (*eval)(xmlXPathCompExprPtr, xmlXPathContextPtr);
    void (*free_object)(xmlXPathObjectPtr);
    int (*register_variable)(xmlXPathContextPtr, const xmlChar *, xmlXPathObjectPtr);
    xmlXPathObjectPtr (*new_node_set)(xmlNodePtr);
    int (*set_cache)(xmlXPathContextPtr, int, int, int);
    xmlNodeSetPtr (*node_set_create)(xmlNodePtr);
    int (*node_set_add)(xmlNodeSetPtr, xmlNodePtr);
    xmlXPathObjectPtr (*wrap_node_set)(xmlNodeSetPtr);
    /* the extension functions the stylesheet calls, registered with the context */
    int (*register_func_ns)(xmlXPathContextPtr, const xmlChar *, const xmlChar *,
                            xmlXPathFunction);
    xmlXPathObjectPtr (*value_pop)(xmlXPathParserContextPtr);
    int (*value_push)(xmlXPathParserContextPtr, xmlXPathObjectPtr);
    xmlChar *(*cast_to_string)(xmlXPathObjectPtr);
    xmlChar *(*cast_node_to_string)(xmlNodePtr);
    xmlXPathObjectPtr (*new_boolean)(int);
    void (*err)(xmlXPathParserContextPtr, int);
    int (*exslt_sets)(xmlXPathContextPtr, const xmlChar *);
    void (*xml_free)(void *);
    void (*variables_cleanup)(xmlXPathContextPtr);
} XPathFns;
#define XPATH_FNS 24

/* The functions above for the extension functions (the same libxml2 for every pass). */
static XPathFns ext_fns;

/* A rule whose contexts are the elements a path from the root selects (an xsl:for-each's
 * select the walk cannot match by names), evaluated by libxml2 after the walk. */
typedef struct {
    int program, xpath;
} Selected;

typedef struct {
    int number;
    int code_start, code_len; /* its test in postfix: atoms (>= 0), AND -1, OR -2, NOT -3 */
    int simple_path;          /* the test is "P selects a node" (or its negation): P, or -1 */
    int simple_not;
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
    int suffixed_all; /* suffixed_count and the contexts turned into attr_flags after them */
    /* "every element: flag f when it has the no-namespace attribute name" (a suffixed
     * context matching every element whose program only sets flags from the element's own
     * attributes: the stylesheet's key('ff-attributes', name) globals), decided by one look
     * at each element's attributes instead of a run of each program: sorted by name */
    struct AttrFlag *attr_flags;
    int attr_flag_count;
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
    Step *steps;
    int step_count;
    char **cats; /* VAT category codes of the VAT atoms */
    int cat_count;
    ToNumber to_number;
    double eps; /* the literal 0.000001 as libxml2 reads it */
    XPathFns x;              /* set when xpath_count > 0 */
    xmlXPathCompExprPtr *xpaths; /* the tests of kind 21's atoms, compiled */
    char **xvars;                /* per test, the variable kind 22 binds ("" for none) */
    int xpath_count;
    char **prefixes, **uris; /* the namespaces those tests use */
    int prefix_count;
    Selected *selected;
    int selected_count;
    char **global_names; /* the stylesheet's globals those tests read, in evaluation order */
    int *global_xpaths;
    int global_count;
    /* variables holding every element of a name (//p:N, what the stylesheet's name index
     * filtered to one name gives), gathered in one walk: sorted by local name */
    char **named_vars, **named_ns, **named_local;
    int named_count;
    int *named_sym, *named_nsid; /* their names as symbols */
    int *named_at;               /* per symbol, its first named set, or -1 */
    /* Every local name and namespace the pass tests, sorted (strcmp): a name's symbol is
     * its place. A run maps each name pointer (and xmlNs) of the tree to its symbol once
     * (caches below: a namespace's valid for the run whose generation it carries, a name's
     * kept from run to run with its text, checked once a run), so the walk compares
     * integers; a name outside the table is -1, a namespace -2: they match nothing. */
    char **syms;
    int sym_count;
    char **nss;
    int ns_count;
    unsigned gen;
    struct NameSlot *names; /* NAME_SLOTS */
    struct NsSlot *spaces;  /* NS_SLOTS */
    /* the XPath context of the last run (its namespaces, functions and object cache; no
     * variables), kept for the next run (walk_lock: one run at a time), which binds its
     * own document's variables before any test reads them */
    xmlXPathContextPtr kept;
} Pass;

struct AttrFlag {
    char *name; /* the Pass's AttrEnd's (not owned) */
    int flag;
};

#define NAME_SLOTS 2048
#define NS_SLOTS 64
struct NameSlot {
    const void *key;
    const char *text; /* the name it was computed for: syms[sym], or owned (sym -1) */
    int owned;
    unsigned gen;
    int sym;
    int suffixes; /* bit i: suffixed context i's name test holds (-1: not computed) */
};
struct NsSlot {
    const void *key;
    unsigned gen;
    int id;
};

typedef struct {
    unsigned char *counts;
    unsigned char *flags;
    const void **first; /* xmlNode* or xmlAttr* */
    int *failed;        /* pairs: assert number, element index */
    int failed_count, failed_cap;
    int oom;
    /* every cac:InvoiceLine, cac:CreditNoteLine and cac:AllowanceCharge of the document
     * (in document order), gathered the first time a VAT atom needs them */
    int gathered;
    const xmlNode **lines[3];
    int line_count[3], line_cap[3];
    xmlXPathContextPtr xctx; /* for kind 21, made at its first use in the run */
    int xerr;                /* an XPath evaluation failed */
} Run;

static void pass_free(Pass *t) {
    if (t == NULL) return;
    if (t->kept != NULL) t->x.free_context(t->kept);
    for (int i = 0; t->edges && i < t->edge_count; i++) {
        free(t->edges[i].ns);
        free(t->edges[i].local);
    }
    for (int i = 0; t->attrs && i < t->attr_count; i++) free(t->attrs[i].name);
    for (int i = 0; t->contexts && i < t->context_count + t->suffixed_all; i++) {
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
    for (int i = 0; t->contexts && i < t->context_count; i++) {
        free(t->contexts[i].gp_ns);
        free(t->contexts[i].gp_local);
    }
    free(t->contexts);
    free(t->suffixed);
    free(t->attr_flags);
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
    for (int i = 0; t->steps && i < t->step_count; i++) {
        for (int j = 0; j < t->steps[i].count; j++) {
            free(t->steps[i].ns[j]);
            free(t->steps[i].local[j]);
        }
    }
    free(t->steps);
    for (int i = 0; t->cats && i < t->cat_count; i++) free(t->cats[i]);
    free(t->cats);
    for (int i = 0; t->syms && i < t->sym_count; i++) free(t->syms[i]);
    free(t->syms);
    for (int i = 0; t->nss && i < t->ns_count; i++) free(t->nss[i]);
    free(t->nss);
    for (int i = 0; t->names && i < NAME_SLOTS; i++)
        if (t->names[i].owned) free((char *)t->names[i].text);
    free(t->names);
    free(t->spaces);
    for (int i = 0; t->xpaths && i < t->xpath_count; i++)
        if (t->xpaths[i] != NULL) t->x.free_comp(t->xpaths[i]);
    free(t->xpaths);
    for (int i = 0; t->xvars && i < t->xpath_count; i++) free(t->xvars[i]);
    free(t->xvars);
    for (int i = 0; t->prefixes && i < t->prefix_count; i++) {
        free(t->prefixes[i]);
        free(t->uris[i]);
    }
    free(t->prefixes);
    free(t->uris);
    free(t->selected);
    for (int i = 0; t->global_names && i < t->global_count; i++) free(t->global_names[i]);
    free(t->global_names);
    free(t->global_xpaths);
    for (int i = 0; t->named_vars && i < t->named_count; i++) {
        free(t->named_vars[i]);
        free(t->named_ns[i]);
        free(t->named_local[i]);
    }
    free(t->named_vars);
    free(t->named_ns);
    free(t->named_local);
    free(t->named_sym);
    free(t->named_nsid);
    free(t->named_at);
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

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, distinct strings of words (count of them; NULLs skipped) into *out. */
static int intern_table(char **words, int count, char ***out, int *out_count) {
    char **w = calloc((size_t)count + 1, sizeof(char *));
    if (w == NULL) return 0;
    int n = 0;
    for (int i = 0; i < count; i++)
        if (words[i] != NULL) w[n++] = words[i];
    qsort(w, (size_t)n, sizeof(char *), cmp_str);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || strcmp(w[m - 1], w[i]) != 0) w[m++] = w[i];
    for (int i = 0; i < m; i++) {
        if ((w[i] = strdup(w[i])) == NULL) {
            for (int j = 0; j < i; j++) free(w[j]);
            free(w);
            return 0;
        }
    }
    *out = w;
    *out_count = m;
    return 1;
}

/* A string's place in a sorted table, or missing. */
static int find_in(char **table, int count, const char *s, int missing) {
    if (s == NULL) return missing;
    int lo = 0, hi = count;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(table[mid], s);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return missing;
}

/* The symbol tables of a prepared pass, and each name's symbol. */
static int intern_all(Pass *t) {
    int cap = 2 * t->edge_count + 3 * t->context_count + t->pred_count + t->named_count + 1;
    int n = 0, m = 0;
    char **locals = calloc((size_t)cap, sizeof(char *));
    char **spaces = calloc((size_t)cap, sizeof(char *));
    int ok = locals != NULL && spaces != NULL;
    for (int i = 0; ok && i < t->edge_count; i++) {
        locals[n++] = t->edges[i].local;
        spaces[m++] = t->edges[i].ns;
    }
    for (int i = 0; ok && i < t->context_count; i++) {
        locals[n++] = t->contexts[i].local;
        locals[n++] = t->contexts[i].parent_local;
        locals[n++] = t->contexts[i].gp_local;
        spaces[m++] = t->contexts[i].ns;
        spaces[m++] = t->contexts[i].parent_ns;
        spaces[m++] = t->contexts[i].gp_ns;
    }
    for (int i = 0; ok && i < t->pred_count; i++) {
        locals[n++] = t->preds[i].local;
        spaces[m++] = t->preds[i].ns;
    }
    for (int i = 0; ok && i < t->named_count; i++) {
        locals[n++] = t->named_local[i];
        spaces[m++] = t->named_ns[i];
    }
    ok = ok && intern_table(locals, n, &t->syms, &t->sym_count) &&
         intern_table(spaces, m, &t->nss, &t->ns_count);
    free(locals);
    free(spaces);
    t->names = calloc(NAME_SLOTS, sizeof(struct NameSlot));
    t->spaces = calloc(NS_SLOTS, sizeof(struct NsSlot));
    if (!ok || t->names == NULL || t->spaces == NULL) return 0;
    for (int i = 0; i < t->edge_count; i++) {
        Edge *e = &t->edges[i];
        e->sym = find_in(t->syms, t->sym_count, e->local, -1);
        e->nsid = find_in(t->nss, t->ns_count, e->ns, -1);
    }
    for (int i = 0; i < t->context_count; i++) {
        Context *c = &t->contexts[i];
        c->sym = find_in(t->syms, t->sym_count, c->local, -1);
        c->nsid = find_in(t->nss, t->ns_count, c->ns, -1);
        c->parent_sym = find_in(t->syms, t->sym_count, c->parent_local, -1);
        c->parent_nsid = find_in(t->nss, t->ns_count, c->parent_ns, -1);
        c->gp_sym = find_in(t->syms, t->sym_count, c->gp_local, -1);
        c->gp_nsid = find_in(t->nss, t->ns_count, c->gp_ns, -1);
    }
    for (int i = 0; i < t->pred_count; i++) {
        Pred *p = &t->preds[i];
        p->sym = find_in(t->syms, t->sym_count, p->local, -1);
        p->nsid = find_in(t->nss, t->ns_count, p->ns, -1);
    }
    t->named_sym = calloc((size_t)t->named_count + 1, sizeof(int));
    t->named_nsid = calloc((size_t)t->named_count + 1, sizeof(int));
    t->named_at = malloc(((size_t)t->sym_count + 1) * sizeof(int));
    if (t->named_sym == NULL || t->named_nsid == NULL || t->named_at == NULL) return 0;
    for (int i = 0; i <= t->sym_count; i++) t->named_at[i] = -1;
    for (int i = t->named_count - 1; i >= 0; i--) { /* sorted by local name: by symbol */
        t->named_sym[i] = find_in(t->syms, t->sym_count, t->named_local[i], -1);
        t->named_nsid[i] = find_in(t->nss, t->ns_count, t->named_ns[i], -1);
        if (t->named_sym[i] >= 0) t->named_at[t->named_sym[i]] = i;
    }
    return 1;
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
/* The tests of kind 21 (compiled by libxml2, an error if one does not compile), the
 * namespaces (prefix, URI) they are evaluated with, and the addresses of libxml2's XPath
 * functions in lxml's module (a tuple of six). */
static int prepare_xpaths(Pass *t, PyObject *xpaths, PyObject *spaces, PyObject *fns) {
    if (spaces == NULL || fns == NULL || PyTuple_GET_SIZE(fns) != XPATH_FNS) {
        PyErr_SetString(PyExc_ValueError, "tests need their namespaces and libxml2's XPath");
        return 0;
    }
    void *f[XPATH_FNS];
    for (int i = 0; i < XPATH_FNS; i++) {
        f[i] = PyLong_AsVoidPtr(PyTuple_GET_ITEM(fns, i));
        if (f[i] == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "no XPath function");
            return 0;
        }
    }
    t->x.new_context = (xmlXPathContextPtr(*)(xmlDocPtr))f[0];
    t->x.free_context = (void (*)(xmlXPathContextPtr))f[1];
    t->x.register_ns = (int (*)(xmlXPathContextPtr, const xmlChar *, const xmlChar *))f[2];
    t->x.compile = (xmlXPathCompExprPtr(*)(const xmlChar *))f[3];
    t->x.free_comp = (void (*)(xmlXPathCompExprPtr))f[4];
    t->x.eval_bool = (int (*)(xmlXPathCompExprPtr, xmlXPathContextPtr))f[5];
    t->x.eval = (xmlXPathObjectPtr(*)(xmlXPathCompExprPtr, xmlXPathContextPtr))f[6];
    t->x.free_object = (void (*)(xmlXPathObjectPtr))f[7];
    t->x.register_variable =
        (int (*)(xmlXPathContextPtr, const xmlChar *, xmlXPathObjectPtr))f[8];
    t->x.new_node_set = (xmlXPathObjectPtr(*)(xmlNodePtr))f[9];
    t->x.set_cache = (int (*)(xmlXPathContextPtr, int, int, int))f[10];
    t->x.node_set_create = (xmlNodeSetPtr(*)(xmlNodePtr))f[11];
    t->x.node_set_add = (int (*)(xmlNodeSetPtr, xmlNodePtr))f[12];
    t->x.wrap_node_set = (xmlXPathObjectPtr(*)(xmlNodeSetPtr))f[13];
    t->x.register_func_ns = (int (*)(xmlXPathContextPtr, const xmlChar *, const xmlChar *,
                                     xmlXPathFunction))f[14];
    t->x.value_pop = (xmlXPathObjectPtr(*)(xmlXPathParserContextPtr))f[15];
    t->x.value_push = (int (*)(xmlXPathParserContextPtr, xmlXPathObjectPtr))f[16];
    t->x.cast_to_string = (xmlChar * (*)(xmlXPathObjectPtr)) f[17];
    t->x.cast_node_to_string = (xmlChar * (*)(xmlNodePtr)) f[18];
    t->x.new_boolean = (xmlXPathObjectPtr(*)(int))f[19];
    t->x.err = (void (*)(xmlXPathParserContextPtr, int))f[20];
    t->x.exslt_sets = (int (*)(xmlXPathContextPtr, const xmlChar *))f[21];
    t->x.xml_free = (void (*)(void *))f[22];
    t->x.variables_cleanup = (void (*)(xmlXPathContextPtr))f[23];
    ext_fns = t->x;
    t->prefix_count = (int)PyList_GET_SIZE(spaces);
    t->prefixes = calloc(t->prefix_count + 1, sizeof(char *));
    t->uris = calloc(t->prefix_count + 1, sizeof(char *));
    t->xpaths = calloc(PyList_GET_SIZE(xpaths) + 1, sizeof(xmlXPathCompExprPtr));
    t->xvars = calloc(PyList_GET_SIZE(xpaths) + 1, sizeof(char *));
    if (t->prefixes == NULL || t->uris == NULL || t->xpaths == NULL || t->xvars == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    for (int i = 0; i < t->prefix_count; i++) {
        PyObject *prefix, *uri;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(spaces, i), "UU", &prefix, &uri)) return 0;
        if ((t->prefixes[i] = copy_str(prefix)) == NULL || (t->uris[i] = copy_str(uri)) == NULL)
            return 0;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xpaths); i++) {
        PyObject *test, *var;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(xpaths, i), "UU", &test, &var)) return 0;
        const char *text = PyUnicode_AsUTF8(test);
        if (text == NULL) return 0;
        t->xpaths[i] = t->x.compile((const xmlChar *)text);
        t->xpath_count = (int)i + 1;
        if ((t->xvars[i] = copy_str(var)) == NULL) return 0;
        if (t->xpaths[i] == NULL) {
            PyErr_Format(PyExc_ValueError, "libxml2 cannot compile the test %s", text);
            return 0;
        }
    }
    return 1;
}

static inline int sym_of(const Pass *t, const xmlNode *n);
static int nsid_of(const Pass *t, const xmlNode *n);

/* The named sets (Pass.named_*) of node's document as variables of ctx: every element
 * of each name, in document order, gathered in one walk of the document. */
static int bind_named(const Pass *t, xmlXPathContextPtr ctx, const xmlNode *node) {
    xmlNodeSetPtr *sets = calloc(t->named_count + 1, sizeof(xmlNodeSetPtr));
    if (sets == NULL) return 0;
    int ok = 1;
    for (int i = 0; ok && i < t->named_count; i++)
        ok = (sets[i] = t->x.node_set_create(NULL)) != NULL;
    /* document order, without recursion: down to the first child, else the next sibling,
     * else up to the first ancestor with one */
    const xmlNode *n = node->doc != NULL ? node->doc->children : NULL;
    while (ok && n != NULL) {
        if (n->type == XML_ELEMENT_NODE && n->name != NULL) {
            /* the name's symbol (the run's cache), its sets (contiguous: sorted by name) */
            int sym = sym_of(t, n), at = sym >= 0 ? t->named_at[sym] : -1;
            int nsid = at >= 0 ? nsid_of(t, n) : -2;
            for (int i = at; ok && i >= 0 && i < t->named_count && t->named_sym[i] == sym; i++)
                if (t->named_nsid[i] == nsid)
                    ok = t->x.node_set_add(sets[i], (xmlNodePtr)n) == 0;
            if (n->children != NULL) {
                n = n->children;
                continue;
            }
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
            if (n != NULL && n->type == XML_DOCUMENT_NODE) n = NULL;
        }
        if (n != NULL) n = n->next;
    }
    for (int i = 0; i < t->named_count; i++) {
        if (sets[i] == NULL) continue;
        xmlXPathObjectPtr value = t->x.wrap_node_set(sets[i]);
        if (value == NULL) {
            ok = 0;
            continue; /* (the set is lost: only when out of memory) */
        }
        if (!ok || t->x.register_variable(ctx, (const xmlChar *)t->named_vars[i], value) != 0) {
            ok = 0;
            t->x.free_object(value);
        }
    }
    free(sets);
    return ok;
}

static void ff_compare_strings(xmlXPathParserContextPtr ctxt, int nargs);
static void regexp_test(xmlXPathParserContextPtr ctxt, int nargs);
#define FF_NS "urn:fourflow:rules"
#define EXSLT_REGEXP_NS "http://exslt.org/regular-expressions"

static xmlXPathContextPtr xpath_at(const Pass *t, const xmlNode *node, Run *r) {
    if (r->xctx == NULL) {
        /* the context the last run left (its variables are rebound below, and the
         * quantifiers' before each use), else a new one */
        xmlXPathContextPtr ctx = t->kept;
        ((Pass *)t)->kept = NULL;
        int ok = 1;
        if (ctx == NULL) {
            ctx = t->x.new_context(node->doc);
            if (ctx == NULL) return NULL;
            ok = t->x.set_cache(ctx, 1, -1, 0) == 0; /* reuse objects, as libxslt does */
            for (int i = 0; ok && i < t->prefix_count; i++)
                ok = t->x.register_ns(ctx, (const xmlChar *)t->prefixes[i],
                                      (const xmlChar *)t->uris[i]) == 0;
            /* the stylesheet's extension functions the tests may call: libexslt's sets (as
             * libxslt has them), ff:compare-strings and regexp:test as above */
            ok = ok && t->x.exslt_sets(ctx, (const xmlChar *)"set") == 0 &&
                 t->x.register_func_ns(ctx, (const xmlChar *)"compare-strings",
                                       (const xmlChar *)FF_NS, ff_compare_strings) == 0 &&
                 t->x.register_func_ns(ctx, (const xmlChar *)"test",
                                       (const xmlChar *)EXSLT_REGEXP_NS, regexp_test) == 0;
        }
        {
        PROF_START;
        if (ok && t->named_count > 0) ok = bind_named(t, ctx, node);
        PROF_END(PROF_NAMED);
        }
        /* the stylesheet's globals the tests read, once a document at its root (each
         * after those it reads), as variables of the context */
        for (int i = 0; ok && i < t->global_count; i++) {
            ctx->doc = node->doc;
            ctx->node = (xmlNodePtr)node->doc;
            ctx->contextSize = 1;
            ctx->proximityPosition = 1;
            PROF_START;
            xmlXPathObjectPtr value = t->x.eval(t->xpaths[t->global_xpaths[i]], ctx);
            PROF_END(t->global_xpaths[i]);
            ok = value != NULL &&
                 t->x.register_variable(ctx, (const xmlChar *)t->global_names[i], value) == 0;
        }
        if (!ok) {
            t->x.free_context(ctx);
            return NULL;
        }
        r->xctx = ctx;
    }
    r->xctx->doc = node->doc;
    r->xctx->node = (xmlNodePtr)node;
    r->xctx->contextSize = 1;
    r->xctx->proximityPosition = 1;
    return r->xctx;
}

/* Kind 22: some node of the path aux (from the context element) makes the test aux2 true,
 * evaluated at that node with $ctx bound to the context element and, before it, the
 * for-each's variables (the tests between aux and aux2, each evaluated at the node in
 * order and bound to its name: '.' for the node itself, number(.), a sum reading them)
 * (the stylesheet's for-each inside a variable writing 'x' where the test holds, tested
 * against ''). 1 or 0; -1 when an evaluation failed (r->xerr). */
static int quantified_atom_(const Pass *t, const Atom *k, const xmlNode *node, Run *r);
static int quantified_atom(const Pass *t, const Atom *k, const xmlNode *node, Run *r) {
    xmlXPathContextPtr ctx = xpath_at(t, node, r);
    if (ctx == NULL) return quantified_atom_(t, k, node, r);
    PROF_START;
    int v = quantified_atom_(t, k, node, r);
    PROF_END(k->aux);
    return v;
}
static int quantified_atom_(const Pass *t, const Atom *k, const xmlNode *node, Run *r) {
    xmlXPathContextPtr ctx = xpath_at(t, node, r);
    xmlXPathObjectPtr set = ctx == NULL ? NULL : t->x.eval(t->xpaths[k->aux], ctx);
    if (set == NULL || set->type != XPATH_NODESET) {
        if (set != NULL) t->x.free_object(set);
        r->xerr = 1;
        return -1;
    }
    int found = 0;
    for (int i = 0; set->nodesetval != NULL && i < set->nodesetval->nodeNr && !found; i++) {
        xmlNodePtr n = set->nodesetval->nodeTab[i];
        if (t->x.register_variable(ctx, (const xmlChar *)"ctx",
                                   t->x.new_node_set((xmlNodePtr)node)) != 0) {
            found = -1;
            break;
        }
        for (int v = k->aux + 1; v < k->aux2 && found == 0; v++) {
            ctx->node = n;
            ctx->contextSize = 1;
            ctx->proximityPosition = 1;
            xmlXPathObjectPtr value = t->x.eval(t->xpaths[v], ctx);
            if (value == NULL ||
                t->x.register_variable(ctx, (const xmlChar *)t->xvars[v], value) != 0)
                found = -1;
        }
        if (found < 0) break;
        ctx->node = n;
        ctx->contextSize = 1;
        ctx->proximityPosition = 1;
        int v = t->x.eval_bool(t->xpaths[k->aux2], ctx);
        found = v < 0 ? -1 : v != 0;
    }
    t->x.free_object(set);
    if (found < 0) r->xerr = 1;
    return found;
}

/* The extension functions of the stylesheet the tests call, as it defines them. */

/* One argument's items as strings (ff:compare-strings' _items: a node set's nodes, each
 * its string value; a string or a boolean itself), appended to out; 0 for a number (the
 * Python function would write it in XPath 2.0's form) or when out of memory. */
static int string_items(xmlXPathObjectPtr o, xmlChar ***out, int *count) {
    if (o->type == XPATH_NODESET) {
        int n = o->nodesetval != NULL ? o->nodesetval->nodeNr : 0;
        *out = calloc((size_t)n + 1, sizeof(xmlChar *));
        if (*out == NULL) return 0;
        *count = n;
        for (int i = 0; i < n; i++)
            if (((*out)[i] = ext_fns.cast_node_to_string(o->nodesetval->nodeTab[i])) == NULL)
                return 0;
        return 1;
    }
    if (o->type != XPATH_STRING && o->type != XPATH_BOOLEAN) return 0;
    *out = calloc(2, sizeof(xmlChar *));
    if (*out == NULL) return 0;
    *count = 1;
    return ((*out)[0] = ext_fns.cast_to_string(o)) != NULL;
}

static void free_items(xmlChar **items, int count) {
    for (int i = 0; items != NULL && i < count; i++)
        if (items[i] != NULL) ext_fns.xml_free(items[i]);
    free(items);
}

/* ff:compare-strings(left, op, right): some item of left and some of right compare by op
 * (<, <=, >, >=) as strings, by code point (peppol_functions.compare_strings; UTF-8's byte
 * order is the code points' order). */
static void ff_compare_strings(xmlXPathParserContextPtr ctxt, int nargs) {
    if (nargs != 3) {
        ext_fns.err(ctxt, XPATH_INVALID_ARITY);
        return;
    }
    xmlXPathObjectPtr right = ext_fns.value_pop(ctxt), op = ext_fns.value_pop(ctxt);
    xmlXPathObjectPtr left = ext_fns.value_pop(ctxt);
    xmlChar **a = NULL, **b = NULL;
    int na = 0, nb = 0, which = -1, ok = left != NULL && op != NULL && right != NULL;
    if (ok && op->type == XPATH_STRING && op->stringval != NULL) {
        const char *o = (const char *)op->stringval;
        which = strcmp(o, "<") == 0    ? 0
                : strcmp(o, "<=") == 0 ? 1
                : strcmp(o, ">") == 0  ? 2
                : strcmp(o, ">=") == 0 ? 3
                                       : -1;
    }
    ok = ok && which >= 0 && string_items(left, &a, &na) && string_items(right, &b, &nb);
    int found = 0;
    for (int i = 0; ok && i < na && !found; i++)
        for (int j = 0; j < nb && !found; j++) {
            int c = strcmp((const char *)a[i], (const char *)b[j]);
            found = which == 0 ? c < 0 : which == 1 ? c <= 0 : which == 2 ? c > 0 : c >= 0;
        }
    free_items(a, na);
    free_items(b, nb);
    if (left != NULL) ext_fns.free_object(left);
    if (op != NULL) ext_fns.free_object(op);
    if (right != NULL) ext_fns.free_object(right);
    if (!ok) {
        ext_fns.err(ctxt, XPATH_INVALID_TYPE);
        return;
    }
    ext_fns.value_push(ctxt, ext_fns.new_boolean(found));
}

/* The next code point of UTF-8 text at *p (libxml2's strings are valid UTF-8). */
static Py_UCS4 next_code(const unsigned char **p) {
    const unsigned char *s = *p;
    Py_UCS4 c = s[0];
    int more = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (more) c &= 0x3F >> more;
    for (int i = 1; i <= more && s[i]; i++) c = (c << 6) | (s[i] & 0x3F);
    *p = s + 1 + more;
    return c;
}

/* The one pattern of regexp:test the pass decides (CII-DT-097's date, format 102), as
 * lxml's regexp:test runs it (Python's re, search, Unicode: \s is str.isspace, \d a
 * decimal digit of any script; the month and day digits are ASCII ranges). */
static const char DATE_102[] =
    "^\\s*(\\d{4})(1[0-2]|0[1-9]){1}(3[01]|[12][0-9]|0[1-9]){1}\\s*$";

static int date_102(const unsigned char *s) {
    const unsigned char *p = s;
    Py_UCS4 c;
    while (*p) { /* \s* (whitespace and digits are apart: no backtracking) */
        const unsigned char *q = p;
        c = next_code(&q);
        if (!Py_UNICODE_ISSPACE(c)) break;
        p = q;
    }
    for (int i = 0; i < 4; i++) {
        if (!*p) return 0;
        c = next_code(&p);
        if (!Py_UNICODE_ISDECIMAL(c)) return 0;
    }
    if (!p[0] || !p[1]) return 0;
    int month = (p[0] == '1' && p[1] >= '0' && p[1] <= '2') ||
                (p[0] == '0' && p[1] >= '1' && p[1] <= '9');
    if (!month) return 0;
    p += 2;
    if (!p[0] || !p[1]) return 0;
    int day = (p[0] == '3' && (p[1] == '0' || p[1] == '1')) ||
              ((p[0] == '1' || p[0] == '2') && p[1] >= '0' && p[1] <= '9') ||
              (p[0] == '0' && p[1] >= '1' && p[1] <= '9');
    if (!day) return 0;
    p += 2;
    while (*p) { /* \s*$ ($ also before a last newline, which \s* takes anyway) */
        c = next_code(&p);
        if (!Py_UNICODE_ISSPACE(c)) return 0;
    }
    return 1;
}

/* regexp:test(string, pattern) for the patterns above (another is an error: the pass
 * is not given a test calling it with another). */
static void regexp_test(xmlXPathParserContextPtr ctxt, int nargs) {
    if (nargs != 2) {
        ext_fns.err(ctxt, XPATH_INVALID_ARITY);
        return;
    }
    xmlXPathObjectPtr pattern = ext_fns.value_pop(ctxt), text = ext_fns.value_pop(ctxt);
    int ok = pattern != NULL && text != NULL && pattern->type == XPATH_STRING &&
             pattern->stringval != NULL && strcmp((const char *)pattern->stringval, DATE_102) == 0 &&
             (text->type == XPATH_STRING || text->type == XPATH_NODESET);
    xmlChar *s = ok ? ext_fns.cast_to_string(text) : NULL;
    int found = s != NULL && date_102(s);
    if (s != NULL) ext_fns.xml_free(s);
    else ok = 0;
    if (pattern != NULL) ext_fns.free_object(pattern);
    if (text != NULL) ext_fns.free_object(text);
    if (!ok) {
        ext_fns.err(ctxt, XPATH_INVALID_TYPE);
        return;
    }
    ext_fns.value_push(ctxt, ext_fns.new_boolean(found));
}

/* The whole test of a kind 21 atom at its context element, as libxml2's XPath decides it
 * (1 or 0; -1 when the evaluation failed: r->xerr). */
static int xpath_atom(const Pass *t, const Atom *k, const xmlNode *node, Run *r) {
    if (xpath_at(t, node, r) == NULL) {
        r->xerr = 1;
        return -1;
    }
    PROF_START;
    int v = t->x.eval_bool(t->xpaths[k->aux], r->xctx);
    PROF_END(k->aux);
    if (v < 0) r->xerr = 1;
    return v < 0 ? -1 : v != 0;
}

static int cmp_attr_flag(const void *a, const void *b) {
    const struct AttrFlag *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->flag > y->flag) - (x->flag < y->flag);
}

/* The attribute names whose every program run only says "this element has it" (a flag),
 * of a suffixed context matching every element ('' suffix, nothing excluded); a non-deferred
 * program whose trie root has attribute ends only and whose every check sets a flag when one
 * of them selects a node. Those contexts go after suffixed_count (kept for pass_free) in
 * attr_flags' stead; the others keep their order. 0 when out of memory. */
static int attr_flags_of(Pass *t) {
    int cap = t->check_count;
    t->attr_flags = calloc((size_t)cap + 1, sizeof(struct AttrFlag));
    if (t->attr_flags == NULL) return 0;
    Context *kept = calloc((size_t)t->suffixed_all + 1, sizeof(Context));
    Context *moved = calloc((size_t)t->suffixed_all + 1, sizeof(Context));
    if (kept == NULL || moved == NULL) {
        free(kept);
        free(moved);
        return 0;
    }
    int n_kept = 0, n_moved = 0;
    for (int i = 0; i < t->suffixed_count; i++) {
        const Context *c = &t->suffixed[i];
        const Program *p = &t->programs[c->program];
        const TrieNode *root = &t->nodes[p->root];
        int flags_only = c->suffix != NULL && c->suffix[0] == 0 && c->not_suffix == NULL &&
                         c->anc_local == NULL && !p->deferred && root->edge_count == 0 &&
                         root->end_count == 0 && root->attr_count > 0 &&
                         p->check_end > p->check_start;
        for (int j = p->check_start; flags_only && j < p->check_end; j++) {
            const Check *k = &t->checks[j];
            int found = 0;
            for (int a = 0; a < root->attr_count && !found; a++)
                found = t->attrs[root->attr_start + a].path == k->simple_path;
            flags_only = k->number < 0 && k->simple_path >= 0 && !k->simple_not && found;
        }
        if (!flags_only) {
            kept[n_kept++] = *c;
            continue;
        }
        for (int j = p->check_start; j < p->check_end; j++) {
            const Check *k = &t->checks[j];
            for (int a = 0; a < root->attr_count; a++) {
                const AttrEnd *x = &t->attrs[root->attr_start + a];
                if (x->path != k->simple_path) continue;
                int dup = 0;
                for (int m = 0; m < t->attr_flag_count && !dup; m++)
                    dup = t->attr_flags[m].flag == -k->number - 1 &&
                          strcmp(t->attr_flags[m].name, x->name) == 0;
                if (!dup && t->attr_flag_count < cap) {
                    t->attr_flags[t->attr_flag_count].name = x->name;
                    t->attr_flags[t->attr_flag_count++].flag = -k->number - 1;
                }
            }
        }
        moved[n_moved++] = *c;
    }
    memcpy(t->suffixed, kept, (size_t)n_kept * sizeof(Context));
    memcpy(t->suffixed + n_kept, moved, (size_t)n_moved * sizeof(Context));
    t->suffixed_count = n_kept;
    free(kept);
    free(moved);
    qsort(t->attr_flags, (size_t)t->attr_flag_count, sizeof(struct AttrFlag), cmp_attr_flag);
    return 1;
}

static PyObject *prepare(PyObject *self, PyObject *args) {
    PyObject *nodes, *programs, *contexts, *suffixed, *checks, *atoms, *lists, *element_type;
    PyObject *preds, *steps, *cats;
    PyObject *xpaths = NULL, *spaces = NULL, *fns = NULL, *selected = NULL, *globals = NULL;
    PyObject *named = NULL;
    unsigned long long to_number;
    double eps;
    int paths, flags;
    if (!PyArg_ParseTuple(args, "O!iO!O!O!O!O!O!iO!O!O!O!Kd|O!O!O!O!O!O!", &PyList_Type, &nodes, &paths,
                          &PyList_Type, &programs, &PyList_Type, &contexts, &PyList_Type,
                          &suffixed, &PyList_Type, &checks, &PyList_Type, &atoms, &PyList_Type,
                          &lists, &flags, &PyType_Type, &element_type, &PyList_Type, &preds,
                          &PyList_Type, &steps, &PyList_Type, &cats, &to_number, &eps,
                          &PyList_Type, &xpaths, &PyList_Type, &spaces, &PyTuple_Type, &fns,
                          &PyList_Type, &selected, &PyList_Type, &globals, &PyList_Type,
                          &named))
        return NULL;
    if (to_number == 0) {
        PyErr_SetString(PyExc_ValueError, "no number conversion");
        return NULL;
    }
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
    t->to_number = (ToNumber)(uintptr_t)to_number;
    t->eps = eps;
    t->step_count = (int)PyList_GET_SIZE(steps);
    t->steps = calloc(t->step_count + 1, sizeof(Step));
    t->cat_count = (int)PyList_GET_SIZE(cats);
    t->cats = calloc(t->cat_count + 1, sizeof(char *));
    if (t->steps == NULL || t->cats == NULL) {
        pass_free(t);
        return PyErr_NoMemory();
    }
    for (int i = 0; i < t->step_count; i++) {
        Step *x = &t->steps[i];
        PyObject *names;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(steps, i), "iO!", &x->up, &PyList_Type, &names))
            goto fail;
        if (!in_range((long)PyList_GET_SIZE(names), 1, MAX_STEPS + 1, "numeric path")) goto fail;
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(names); j++) {
            PyObject *ns, *local;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(names, j), "UU", &ns, &local)) goto fail;
            x->count++;
            if ((x->ns[j] = copy_str(ns)) == NULL || (x->local[j] = copy_str(local)) == NULL)
                goto fail;
        }
    }
    for (int i = 0; i < t->cat_count; i++)
        if ((t->cats[i] = copy_str(PyList_GET_ITEM(cats, i))) == NULL) goto fail;
    if (xpaths != NULL && PyList_GET_SIZE(xpaths) > 0 && !prepare_xpaths(t, xpaths, spaces, fns))
        goto fail;
    t->node_count = (int)count;
    t->paths = paths;
    t->flag_count = flags;
    t->program_count = (int)PyList_GET_SIZE(programs);
    t->context_count = (int)PyList_GET_SIZE(contexts);
    t->suffixed_all = t->suffixed_count = (int)PyList_GET_SIZE(suffixed);
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
        PyObject *ns, *local, *attr, *pns, *plocal, *gns, *glocal;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(contexts, i), "UUOOOiiiiOOi", &ns, &local, &attr,
                              &pns, &plocal, &c->at_root, &c->program, &c->pred,
                              &c->parent_pred, &gns, &glocal, &c->gp_root))
            goto fail;
        if ((glocal != Py_None || c->gp_root) && plocal == Py_None) {
            PyErr_SetString(PyExc_ValueError, "a grandparent needs a parent");
            goto fail;
        }
        if (glocal != Py_None &&
            ((c->gp_ns = copy_str(gns)) == NULL || (c->gp_local = copy_str(glocal)) == NULL))
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
        if (!PyArg_ParseTuple(PyList_GET_ITEM(atoms, i), "iii|i", &x->path, &x->kind, &x->aux,
                              &x->aux2))
            goto fail;
        if (!in_range(x->path, 0, paths, "atom path") || !in_range(x->kind, 0, 27, "atom kind"))
            goto fail;
        if (x->kind >= 10 && x->kind <= 12 && !in_range(x->aux2, 0, t->step_count, "atom step"))
            goto fail;
        if (((x->kind >= 13 && x->kind <= 15) || x->kind == 17 || x->kind == 26) &&
            !in_range(x->aux, 0, t->cat_count, "atom category"))
            goto fail;
        if (x->kind == 17 && !in_range(x->aux2, 0, t->step_count, "atom step")) goto fail;
        if (x->kind == 18 && !in_range(x->aux2, -1, t->step_count, "atom step")) goto fail;
        if ((x->kind == 18 || x->kind == 20) && !in_range(x->aux, 0, t->step_count, "atom step"))
            goto fail;
        if (x->kind == 20 && !in_range(x->aux2, 0, t->step_count, "atom step")) goto fail;
        if (x->kind == 4 && !in_range(x->aux, 0, t->list_count, "code list")) goto fail;
        if (x->kind == 9 && !in_range(x->aux, 0, t->flag_count, "flag")) goto fail;
        if ((x->kind == 21 || x->kind == 22) && !in_range(x->aux, 0, t->xpath_count, "atom test"))
            goto fail;
        if (x->kind == 22 && !in_range(x->aux2, 0, t->xpath_count, "atom test")) goto fail;
        if ((x->kind == 23 || x->kind == 24) && !in_range(x->aux, 0, 2, "atom test")) goto fail;
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
        k->simple_path = -1;
        int first = t->code[k->code_start];
        if (first >= 0 && t->atoms[first].kind == 0 &&
            (k->code_len == 1 || (k->code_len == 2 && t->code[k->code_start + 1] == -3))) {
            k->simple_path = t->atoms[first].path;
            k->simple_not = k->code_len == 2;
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
    if (selected != NULL && PyList_GET_SIZE(selected) > 0) {
        t->selected_count = (int)PyList_GET_SIZE(selected);
        if ((t->selected = calloc(t->selected_count, sizeof(Selected))) == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int i = 0; i < t->selected_count; i++) {
            Selected *x = &t->selected[i];
            if (!PyArg_ParseTuple(PyList_GET_ITEM(selected, i), "ii", &x->program, &x->xpath))
                goto fail;
            if (!in_range(x->program, 0, t->program_count, "selected program") ||
                !in_range(x->xpath, 0, t->xpath_count, "selected path"))
                goto fail;
        }
    }
    if (globals != NULL && PyList_GET_SIZE(globals) > 0) {
        t->global_count = (int)PyList_GET_SIZE(globals);
        t->global_names = calloc(t->global_count, sizeof(char *));
        t->global_xpaths = calloc(t->global_count, sizeof(int));
        if (t->global_names == NULL || t->global_xpaths == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int i = 0; i < t->global_count; i++) {
            PyObject *name;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(globals, i), "Ui", &name, &t->global_xpaths[i]))
                goto fail;
            if ((t->global_names[i] = copy_str(name)) == NULL) goto fail;
            if (!in_range(t->global_xpaths[i], 0, t->xpath_count, "global path")) goto fail;
        }
    }
    if (named != NULL && PyList_GET_SIZE(named) > 0) {
        t->named_count = (int)PyList_GET_SIZE(named);
        t->named_vars = calloc(t->named_count, sizeof(char *));
        t->named_ns = calloc(t->named_count, sizeof(char *));
        t->named_local = calloc(t->named_count, sizeof(char *));
        if (t->named_vars == NULL || t->named_ns == NULL || t->named_local == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int i = 0; i < t->named_count; i++) {
            PyObject *var, *ns, *local;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(named, i), "UUU", &var, &ns, &local)) goto fail;
            if ((t->named_vars[i] = copy_str(var)) == NULL || (t->named_ns[i] = copy_str(ns)) == NULL ||
                (t->named_local[i] = copy_str(local)) == NULL)
                goto fail;
            if (i > 0 && strcmp(t->named_local[i - 1], t->named_local[i]) > 0) {
                PyErr_SetString(PyExc_ValueError, "named sets are not sorted by local name");
                goto fail;
            }
        }
    }
    if (!intern_all(t) || !attr_flags_of(t)) {
        PyErr_NoMemory();
        goto fail;
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

static inline unsigned slot_of(const void *p, unsigned mask) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (unsigned)(x >> 40) & mask;
}

/* The cache slot of an element's name for this run (NULL: the table is crowded). A slot
 * keeps its name's symbol (and suffix mask) from run to run: a name pointer of the document
 * dictionary is the same from one document to the next, so only its text is checked, once a
 * run (a pointer may be a freed name's, reused for another). */
static struct NameSlot *name_slot(const Pass *t, const xmlNode *n) {
    const void *key = n->name;
    unsigned h = slot_of(key, NAME_SLOTS - 1);
    struct NameSlot *spare = NULL; /* the first slot free or not used in this run */
    for (int probe = 0; probe < 16; probe++, h = (h + 1) & (NAME_SLOTS - 1)) {
        struct NameSlot *s = &t->names[h];
        if (s->key == key) {
            if (s->gen == t->gen) return s;
            if (strcmp(s->text, (const char *)key) == 0) {
                s->gen = t->gen;
                return s;
            }
            spare = s; /* another name at that address now */
            break;
        }
        if (s->key == NULL) { /* (slots are never emptied: the key is not further on) */
            if (spare == NULL) spare = s;
            break;
        }
        if (spare == NULL && s->gen != t->gen) spare = s;
    }
    if (spare == NULL) return NULL;
    int sym = find_in(t->syms, t->sym_count, (const char *)key, -1);
    const char *text = sym >= 0 ? t->syms[sym] : strdup((const char *)key);
    if (text == NULL) return NULL;
    if (spare->owned) free((char *)spare->text);
    spare->key = key;
    spare->text = text;
    spare->owned = sym < 0;
    spare->gen = t->gen;
    spare->sym = sym;
    spare->suffixes = -1;
    return spare;
}

/* An element's local name as a symbol, -1 outside the table. */
static inline int sym_of(const Pass *t, const xmlNode *n) {
    struct NameSlot *s = name_slot(t, n);
    return s != NULL ? s->sym : find_in(t->syms, t->sym_count, (const char *)n->name, -1);
}

/* An element's namespace as a symbol, -2 outside the table. */
static int nsid_of(const Pass *t, const xmlNode *n) {
    const xmlNs *ns = n->ns;
    const char *href = (ns != NULL && ns->href != NULL) ? (const char *)ns->href : "";
    const void *key = ns;
    unsigned h = slot_of(key, NS_SLOTS - 1);
    for (int probe = 0; probe < 8; probe++, h = (h + 1) & (NS_SLOTS - 1)) {
        struct NsSlot *s = &t->spaces[h];
        if (s->gen != t->gen) {
            s->gen = t->gen;
            s->key = key;
            s->id = find_in(t->nss, t->ns_count, href, -2);
            return s->id;
        }
        if (s->key == key) return s->id;
    }
    return find_in(t->nss, t->ns_count, href, -2);
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
        int sym = sym_of(t, c);
        if (sym < 0) continue;
        int lo = 0, hi = n->edge_count;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (edges[mid].sym < sym)
                lo = mid + 1;
            else
                hi = mid;
        }
        int nsid = lo < n->edge_count && edges[lo].sym == sym ? nsid_of(t, c) : -2;
        for (int i = lo; i < n->edge_count && edges[i].sym == sym; i++) {
            if (edges[i].nsid != nsid) continue;
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
            if (c->type != XML_ELEMENT_NODE || c->name == NULL || sym_of(t, c) != x->sym ||
                nsid_of(t, c) != x->nsid)
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

static int numeric_atom(const Pass *t, const Atom *k, const xmlNode *node, Run *r, Buf *b);

static int atom(const Pass *t, const Atom *k, const xmlNode *node, Run *r, Buf *b) {
    int c = r->counts[k->path];
    if (k->kind == 19) return 1; /* true() */
    if (k->kind >= 10) return node == NULL ? -1 : numeric_atom(t, k, node, r, b);
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

/* ---- Numbers, as libxml2's XPath computes them ----------------------------------------- */

static const char CAC[] = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
static const char CBC[] = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

static inline int named(const xmlNode *n, const char *ns, const char *local) {
    return n->type == XML_ELEMENT_NODE && n->name != NULL &&
           strcmp((const char *)n->name, local) == 0 && ns_is(n, ns);
}

static const xmlNode *first_named(const xmlNode *n, const char *ns, const char *local) {
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
        if (named(c, ns, local)) return c;
    return NULL;
}

/* number(string(node)) (node NULL: number('') = NaN); drop_plus: of translate(., '+', '') */
static double number_of(const Pass *t, const xmlNode *node, int drop_plus, Buf *b, Run *r) {
    string_value(node, b);
    if (b->oom) {
        r->oom = 1;
        return NAN;
    }
    if (b->text == NULL || b->len == 0) return t->to_number((const unsigned char *)"");
    if (drop_plus) {
        size_t j = 0;
        for (size_t i = 0; i < b->len; i++)
            if (b->text[i] != '+') b->text[j++] = b->text[i];
        b->text[j] = 0;
        b->len = j;
    }
    return t->to_number((const unsigned char *)b->text);
}

/* XPath round() (libxml2: halves up, -0.5 <= f < 0.5 to a zero of f's sign) */
static double xpath_round(double f) {
    if (f >= -0.5 && f < 0.5) return f * 0.0;
    double rounded = floor(f);
    if (f - rounded >= 0.5) rounded += 1.0;
    return rounded;
}

/* (x >= 0) - (x < 0) as XPath computes it */
static inline double sign_of(double x) { return (double)(x >= 0) - (double)(x < 0); }

/* some child (ns, local) of node whose normalized string is one of two literals */
static int child_is(const xmlNode *node, const char *ns, const char *local, const char *one,
                    const char *two, Buf *b) {
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (!named(c, ns, local)) continue;
        int v = string_is(c, 1, one, b);
        if (v == 0 && two != NULL) v = string_is(c, 1, two, b);
        if (v != 0) return v;
    }
    return 0;
}

/* boolean((cbc:ChargeIndicator)[normalize-space(.) = 'true' or normalize-space(.) = '1']),
 * or 'false' / '0' */
static int charge_is(const xmlNode *ac, int charge, Buf *b) {
    return charge ? child_is(ac, CBC, "ChargeIndicator", "true", "1", b)
                  : child_is(ac, CBC, "ChargeIndicator", "false", "0", b);
}

/* some category child (ns, local) of node whose first cbc:ID normalizes to cat */
static int category_is(const xmlNode *node, const char *local, const char *cat, Buf *b) {
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (!named(c, CAC, local)) continue;
        int v = string_is(first_named(c, CBC, "ID"), 1, cat, b);
        if (v != 0) return v;
    }
    return 0;
}

/* boolean((cac:TaxCategory)[normalize-space(cbc:ID) = cat]) of an allowance or charge */
static int ac_category(const xmlNode *ac, const char *cat, Buf *b) {
    return category_is(ac, "TaxCategory", cat, b);
}

/* boolean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:ID) = cat]) of a line */
static int line_category(const xmlNode *line, const char *cat, Buf *b) {
    for (const xmlNode *item = line->children; item != NULL; item = item->next) {
        if (!named(item, CAC, "Item")) continue;
        int v = category_is(item, "ClassifiedTaxCategory", cat, b);
        if (v != 0) return v;
    }
    return 0;
}

/* some Percent child of a category child (local) of node whose number is rate
 * (cac:TaxCategory/cbc:Percent = $rate) */
static int rate_is(const Pass *t, const xmlNode *node, const char *local, double rate, Buf *b,
                   Run *r) {
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (!named(c, CAC, local)) continue;
        for (const xmlNode *p = c->children; p != NULL; p = p->next)
            if (named(p, CBC, "Percent") && number_of(t, p, 0, b, r) == rate) return 1;
    }
    return 0;
}

static int line_rate(const Pass *t, const xmlNode *line, double rate, Buf *b, Run *r) {
    for (const xmlNode *item = line->children; item != NULL; item = item->next)
        if (named(item, CAC, "Item") && rate_is(t, item, "ClassifiedTaxCategory", rate, b, r))
            return 1;
    return 0;
}

/* sum() of the children (ns, local) of the nodes, in document order */
static double add_children(const Pass *t, double sum, const xmlNode *node, const char *local,
                           Buf *b, Run *r) {
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (named(c, CBC, local)) sum += number_of(t, c, 0, b, r);
    return sum;
}

static void gather_in(Run *r, const xmlNode *node, int depth) {
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        int which = named(c, CAC, "InvoiceLine") ? 0 : named(c, CAC, "CreditNoteLine") ? 1
                  : named(c, CAC, "AllowanceCharge") ? 2 : -1;
        if (which >= 0) {
            if (r->line_count[which] == r->line_cap[which]) {
                int cap = r->line_cap[which] ? 2 * r->line_cap[which] : 32;
                const xmlNode **grown = realloc(r->lines[which], (size_t)cap * sizeof(void *));
                if (grown == NULL) {
                    r->oom = 1;
                    return;
                }
                r->lines[which] = grown;
                r->line_cap[which] = cap;
            }
            r->lines[which][r->line_count[which]++] = c;
        }
        if (depth < 256) gather_in(r, c, depth + 1);
    }
}

/* the document's lines and allowances or charges (key('ff-names', ...) of the stylesheet) */
static void gather(Run *r, const xmlNode *node) {
    if (r->gathered) return;
    r->gathered = 1;
    while (node->parent != NULL && node->parent->type == XML_ELEMENT_NODE) node = node->parent;
    const xmlNode *top = node->parent != NULL ? node->parent : node;
    gather_in(r, top, 0);
}

/* BR-<cat>-08 without a rate (E, AE, G, K, O, Z): fails (1) unless, for an invoice (some
 * cac:InvoiceLine in the document) or a credit note, the subtotal's taxable amount is the
 * category's line amounts plus charges minus allowances of the document element, within
 * 0.000001. node: a TaxCategory of a TaxSubtotal of a TaxTotal of the document element. */
static int vat_sum_plain(const Pass *t, const xmlNode *node, const char *cat, Run *r, Buf *b) {
    const xmlNode *top = node->parent->parent->parent;
    gather(r, node);
    double taxable = number_of(t, first_named(node->parent, CBC, "TaxableAmount"), 1, b, r);
    double charges = 0, allowances = 0, lines[2] = {0, 0};
    for (const xmlNode *c = top->children; c != NULL; c = c->next) {
        if (named(c, CAC, "AllowanceCharge")) {
            /* the charges' sum, the allowances' sum: each over its own node set */
            if (charge_is(c, 1, b) == 1 && ac_category(c, cat, b) == 1)
                charges = add_children(t, charges, c, "Amount", b, r);
            if (charge_is(c, 0, b) == 1 && ac_category(c, cat, b) == 1)
                allowances = add_children(t, allowances, c, "Amount", b, r);
        } else if (named(c, CAC, "InvoiceLine") || named(c, CAC, "CreditNoteLine")) {
            int which = named(c, CAC, "CreditNoteLine");
            if (line_category(c, cat, b) == 1)
                lines[which] = add_children(t, lines[which], c, "LineExtensionAmount", b, r);
        }
    }
    for (int which = 0; which < 2; which++) {
        if (r->line_count[which] == 0) continue;
        double expected = (lines[which] + charges) - allowances;
        if (taxable - expected <= t->eps && expected - taxable <= t->eps) return 0;
    }
    return 1;
}

/* BR-<cat>-08 by rate (S with its lines' or allowances' rate test, strict; L, M plain):
 * fails (1) when, for some cbc:Percent of the category, neither the invoice nor the credit
 * note reading has the taxable amount within 1 of the lines plus charges minus allowances
 * of that category and rate. */
static int vat_sum_rate(const Pass *t, const xmlNode *node, const char *cat, int strict, Run *r,
                        Buf *b) {
    const xmlNode *top = node->parent->parent->parent;
    gather(r, node);
    double taxable = number_of(t, first_named(node->parent, CBC, "TaxableAmount"), 0, b, r);
    for (const xmlNode *p = node->children; p != NULL; p = p->next) {
        if (!named(p, CBC, "Percent")) continue;
        double rate = number_of(t, p, 0, b, r);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (const xmlNode *c = top->children; c != NULL; c = c->next) {
            if (named(c, CAC, "AllowanceCharge")) {
                if (ac_category(c, cat, b) != 1 || !rate_is(t, c, "TaxCategory", rate, b, r))
                    continue;
                if (charge_is(c, 0, b) == 1) s0 = add_children(t, s0, c, "Amount", b, r);
                if (charge_is(c, 1, b) == 1) s1 = add_children(t, s1, c, "Amount", b, r);
            } else if (named(c, CAC, "CreditNoteLine")) {
                if (line_category(c, cat, b) == 1 && line_rate(t, c, rate, b, r))
                    s2 = add_children(t, s2, c, "LineExtensionAmount", b, r);
            } else if (named(c, CAC, "InvoiceLine")) {
                if (line_category(c, cat, b) == 1 && line_rate(t, c, rate, b, r))
                    s3 = add_children(t, s3, c, "LineExtensionAmount", b, r);
            }
        }
        int allowed = 0; /* some allowance or charge of the document of this category and rate */
        if (strict)
            for (int i = 0; i < r->line_count[2] && !allowed; i++)
                allowed = ac_category(r->lines[2][i], cat, b) == 1 &&
                          rate_is(t, r->lines[2][i], "TaxCategory", rate, b, r);
        int ok = 0;
        for (int which = 0; which < 2 && !ok; which++) {
            int any = 0;
            for (int i = 0; i < r->line_count[which] && !any; i++)
                any = !strict || (line_category(r->lines[which][i], cat, b) == 1 &&
                                  line_rate(t, r->lines[which][i], rate, b, r));
            if (!(any || allowed)) continue;
            double sum = ((which == 0 ? s3 : s2) + s1) - s0;
            ok = taxable - 1 < sum - t->eps && taxable + 1 > sum + t->eps;
        }
        if (!ok) return 1;
    }
    return 0;
}

/* BR-S-09 (and -AF-, -AG-): fails (1) unless |TaxAmount| is within 1 (exclusive, less
 * 0.000001) of round(|TaxableAmount| * Percent div 100, 2 places), as the stylesheet
 * computes it. */
static int vat_amount(const Pass *t, const xmlNode *node, Run *r, Buf *b) {
    double amount = number_of(t, first_named(node->parent, CBC, "TaxAmount"), 1, b, r);
    double taxable = number_of(t, first_named(node->parent, CBC, "TaxableAmount"), 1, b, r);
    double percent = number_of(t, first_named(node, CBC, "Percent"), 1, b, r);
    double magnitude = amount * sign_of(amount);
    double expected = xpath_round(((taxable * sign_of(taxable)) * (percent / 100)) * 10 * 10) / 100;
    return !(magnitude - 1 < expected - t->eps && magnitude + 1 > expected + t->eps);
}

/* The VAT-scheme test of a category, [boolean((cac:TaxScheme)[normalize-space(translate(
 * cbc:ID, 'a..z', 'A..Z')) = 'VAT'])]: some cac:TaxScheme child whose first cbc:ID's string,
 * ASCII letters upper-cased, trimmed, is VAT (1, 0; -1 out of memory). */
static int vat_scheme(const xmlNode *category, Buf *b) {
    for (const xmlNode *c = category->children; c != NULL; c = c->next) {
        if (!named(c, CAC, "TaxScheme")) continue;
        int v = string_is(first_named(c, CBC, "ID"), 2, "VAT", b);
        if (v != 0) return v;
    }
    return 0;
}

/* Kind 23 at a cac:TaxSubtotal (BR-CO-17, aux 0; BR-48, aux 1), exactly as the stylesheet's
 * tests (native_rules._SUBTOTAL_TAX, _SUBTOTAL_RATE) compute them in libxml2's XPath:
 * 1 when the assert fails. P is the first node, in document order, of
 * cac:TaxCategory[VAT scheme]/cbc:Percent (the first such category with a cbc:Percent, its
 * first one), its number() (NaN without one, no '+' dropped);
 * BR-CO-17 holds when (round(P) is within 0.000001 of 0 and so is round(T)), or (round(P)
 * is not, and |T| - 1 < round(|B| * (P div 100) * 10 * 10) div 100 - 0.000001 and |T| + 1 >
 * the same + 0.000001), or (there is no P and round(T) is within 0.000001 of 0); T, B:
 * number(translate(cbc:TaxAmount / cbc:TaxableAmount, '+', '')) of the first child;
 * |x| is x * ((x >= 0) - (x < 0)).
 * BR-48 holds when there is a P, or some VAT-scheme category's first cbc:ID is 'O' once
 * trimmed. */
static int subtotal_atom(const Pass *t, int which, const xmlNode *node, Run *r, Buf *b) {
    const xmlNode *percent = NULL;
    int other = 0; /* a VAT-scheme category whose cbc:ID is O */
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (!named(c, CAC, "TaxCategory")) continue;
        int vat = vat_scheme(c, b);
        if (vat < 0) return -1;
        if (!vat) continue;
        if (percent == NULL) percent = first_named(c, CBC, "Percent");
        if (which == 1 && !other) {
            int o = string_is(first_named(c, CBC, "ID"), 1, "O", b);
            if (o < 0) return -1;
            other = o;
        }
        if (percent != NULL || other) break; /* (other is only looked for by BR-48) */
    }
    if (which == 1) return !(percent != NULL || other);
    double eps = t->eps;
    double p = number_of(t, percent, 0, b, r);
    double rp = xpath_round(p);
    double amount = number_of(t, first_named(node, CBC, "TaxAmount"), 1, b, r);
    double taxable = number_of(t, first_named(node, CBC, "TaxableAmount"), 1, b, r);
    if (r->oom) return -1;
    double ra = xpath_round(amount);
    int zero_amount = ra - 0 <= eps && 0 - ra <= eps;
    int zero_rate = rp - 0 <= eps && 0 - rp <= eps;
    int rated = rp - 0 > eps || 0 - rp > eps;
    double magnitude = amount * sign_of(amount);
    double expected = xpath_round(((taxable * sign_of(taxable)) * (p / 100)) * 10 * 10) / 100;
    int holds = (zero_rate && zero_amount) ||
                (rated && magnitude - 1 < expected - eps && magnitude + 1 > expected + eps) ||
                (percent == NULL && zero_amount);
    return !holds;
}

/* The first element, in document order, of the child path local[0]/.../local[count - 1]
 * (namespaces ns[i]) below node, or NULL: a depth-first search in child order. */
static const xmlNode *first_on(const xmlNode *node, const char *const *ns,
                               const char *const *local, int count) {
    if (count == 0) return node;
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (!named(c, ns[0], local[0])) continue;
        const xmlNode *found = first_on(c, ns + 1, local + 1, count - 1);
        if (found != NULL) return found;
    }
    return NULL;
}

/* string-length(string(node)) > (1) + 0.000001: more than one character (UTF-8 bytes that
 * do not continue one); NULL is '' (0). -1 out of memory. */
static int longer_than_one(const xmlNode *node, Buf *b) {
    if (node == NULL) return 0;
    string_value(node, b);
    if (b->oom) return -1;
    size_t chars = 0;
    for (size_t i = 0; i < b->len && chars < 2; i++)
        chars += ((unsigned char)b->text[i] & 0xC0) != 0x80;
    return chars > 1;
}

/* Kind 24 at the document element (BR-IC-11, aux 0; BR-IC-12, aux 1), exactly as the
 * stylesheet's tests (native_rules._IC_DELIVERY) compute them: 1 when the assert fails.
 * Both hold when no cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[VAT scheme] has a cbc:ID
 * whose string trims to K; else BR-IC-11 when the first
 * cac:Delivery/cbc:ActualDeliveryDate has more than one character or some
 * cac:InvoicePeriod has an element child, BR-IC-12 when the first
 * cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode has more
 * than one character. */
static int intra_community_atom(int which, const xmlNode *node, Buf *b) {
    int k = 0;
    for (const xmlNode *tt = node->children; tt != NULL && !k; tt = tt->next) {
        if (!named(tt, CAC, "TaxTotal")) continue;
        for (const xmlNode *st = tt->children; st != NULL && !k; st = st->next) {
            if (!named(st, CAC, "TaxSubtotal")) continue;
            for (const xmlNode *cat = st->children; cat != NULL && !k; cat = cat->next) {
                if (!named(cat, CAC, "TaxCategory")) continue;
                int vat = vat_scheme(cat, b);
                if (vat < 0) return -1;
                for (const xmlNode *id = cat->children; vat && id != NULL && !k; id = id->next) {
                    if (!named(id, CBC, "ID")) continue;
                    k = string_is(id, 1, "K", b);
                    if (k < 0) return -1;
                }
            }
        }
    }
    if (!k) return 0;
    static const char *const ns[] = {CAC, CAC, CAC, CAC, CBC};
    static const char *const date[] = {"Delivery", "ActualDeliveryDate"};
    static const char *const dns[] = {CAC, CBC};
    static const char *const country[] = {"Delivery", "DeliveryLocation", "Address", "Country",
                                          "IdentificationCode"};
    if (which == 1) {
        int v = longer_than_one(first_on(node, ns, country, 5), b);
        return v < 0 ? -1 : !v;
    }
    int v = longer_than_one(first_on(node, dns, date, 2), b);
    if (v != 0) return v < 0 ? -1 : 0;
    for (const xmlNode *p = node->children; p != NULL; p = p->next) {
        if (!named(p, CAC, "InvoicePeriod")) continue;
        for (const xmlNode *c = p->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE) return 0;
    }
    return 1;
}

/* Kind 25 at the document element (BR-CO-15), exactly as the stylesheet's quantifier
 * (native_rules._CURRENCY_TOTAL) computes it: 1 (the assert fails) when for some
 * cbc:DocumentCurrencyCode child C, in order, not both: exactly one
 * cac:TaxTotal/cbc:TaxAmount whose no-namespace @currencyID is C's string, and
 * number(TaxInclusiveAmount) within 0.000001 of round((number(TaxExclusiveAmount) +
 * number(that tax amount)) * 10 * 10) div 100 (the first cac:LegalMonetaryTotal/... in
 * document order; the first matching tax amount; libxml2's number() and round()). */
static int currency_total_atom(const Pass *t, const xmlNode *node, Run *r, Buf *b) {
    static const char *const ns[] = {CAC, CBC};
    static const char *const inclusive_path[] = {"LegalMonetaryTotal", "TaxInclusiveAmount"};
    static const char *const exclusive_path[] = {"LegalMonetaryTotal", "TaxExclusiveAmount"};
    double eps = t->eps;
    for (const xmlNode *code = node->children; code != NULL; code = code->next) {
        if (!named(code, CBC, "DocumentCurrencyCode")) continue;
        string_value(code, b);
        if (b->oom) return -1;
        char *currency = strdup(b->text != NULL ? b->text : "");
        if (currency == NULL) return -1;
        int count = 0;
        const xmlNode *first = NULL;
        for (const xmlNode *total = node->children; total != NULL; total = total->next) {
            if (!named(total, CAC, "TaxTotal")) continue;
            for (const xmlNode *amount = total->children; amount != NULL; amount = amount->next) {
                if (!named(amount, CBC, "TaxAmount")) continue;
                for (const xmlAttr *a = amount->properties; a != NULL; a = a->next) {
                    if (a->type != XML_ATTRIBUTE_NODE || a->ns != NULL || a->name == NULL ||
                        strcmp((const char *)a->name, "currencyID") != 0)
                        continue;
                    string_value(a, b);
                    if (b->oom) {
                        free(currency);
                        return -1;
                    }
                    if (strcmp(b->text != NULL ? b->text : "", currency) == 0) {
                        if (first == NULL) first = amount;
                        count++;
                    }
                }
            }
        }
        free(currency);
        double inclusive = number_of(t, first_on(node, ns, inclusive_path, 2), 0, b, r);
        double exclusive = number_of(t, first_on(node, ns, exclusive_path, 2), 0, b, r);
        double tax = number_of(t, first, 0, b, r);
        if (r->oom || b->oom) return -1;
        double n = (double)count;
        double expected = xpath_round(((exclusive + tax) * 10) * 10) / 100;
        int holds = (n - 1 <= eps && 1 - n <= eps) &&
                    (inclusive - expected <= eps && expected - inclusive <= eps);
        if (!holds) return 1;
    }
    return 0;
}

/* The nodes of steps [at, count) below node, in document order: kind 10: the first one's
 * number(translate(., '+', '')) is within 0.000001 of limit (1), not (0); 11: some node's
 * number > limit; 12: >= limit. -1: no node (kind 10 decides on ''). */
static int numeric_nodes(const Pass *t, const Step *s, int at, const xmlNode *node, int kind,
                         double limit, Run *r, Buf *b) {
    for (const xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next) {
        if (!named(c, s->ns[at], s->local[at])) continue;
        if (at + 1 < s->count) {
            int v = numeric_nodes(t, s, at + 1, c, kind, limit, r, b);
            if (v >= 0 && (kind == 10 || v == 1)) return v;
            continue;
        }
        double x = number_of(t, c, kind == 10, b, r);
        if (kind == 10) return x - limit <= t->eps && limit - x <= t->eps;
        if (kind == 11 ? x > limit : x >= limit) return 1;
    }
    return kind == 10 ? -1 : 0;
}

/* The first node of steps [at, count) below node, in document order, or NULL. */
static const xmlNode *first_of(const Step *s, int at, const xmlNode *node) {
    for (const xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next) {
        if (!named(c, s->ns[at], s->local[at])) continue;
        if (at + 1 == s->count) return c;
        const xmlNode *found = first_of(s, at + 1, c);
        if (found != NULL) return found;
    }
    return NULL;
}

/* sum() of the nodes of steps [at, count) below node: each one's number() added to sum in
 * document order (libxml2's xmlXPathSumFunction, from 0) */
static double sum_of(const Pass *t, const Step *s, int at, const xmlNode *node, double sum,
                     Run *r, Buf *b) {
    for (const xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next) {
        if (!named(c, s->ns[at], s->local[at])) continue;
        if (at + 1 < s->count)
            sum = sum_of(t, s, at + 1, c, sum, r, b);
        else
            sum += number_of(t, c, 0, b, r);
    }
    return sum;
}

/* sum() of every cbc:LineExtensionAmount child of a cac:InvoiceLine or cac:CreditNoteLine in
 * node's document ((key('ff-names', 'InvoiceLine')[..] | key(.., 'CreditNoteLine')[..])/
 * cbc:LineExtensionAmount), in document order: a walk of the document element's subtree in
 * preorder, without recursion */
static double line_amounts(const Pass *t, const xmlNode *node, Run *r, Buf *b) {
    while (node->parent != NULL && node->parent->type == XML_ELEMENT_NODE) node = node->parent;
    const xmlNode *top = node, *c = node;
    double sum = 0.0;
    for (;;) {
        if (c->type == XML_ELEMENT_NODE) {
            if (c != top && named(c, CBC, "LineExtensionAmount") &&
                (named(c->parent, CAC, "InvoiceLine") || named(c->parent, CAC, "CreditNoteLine")))
                sum += number_of(t, c, 0, b, r);
            if (c->children != NULL) {
                c = c->children;
                continue;
            }
        }
        while (c != top && c->next == NULL) c = c->parent;
        if (c == top) break;
        c = c->next;
    }
    return sum;
}

/* kind 18: number(translate(A, '+', '')) is within 0.000001 of round(sum(B) * 10 * 10) div
 * 100 (both ways), A's first node and B's nodes from node (or its parent: up); B NULL: the
 * document's line amounts (line_amounts) */
static int total_is(const Pass *t, const Step *a, const Step *s, const xmlNode *node, Run *r,
                    Buf *b) {
    double x = number_of(t, first_of(a, 0, a->up ? node->parent : node), 1, b, r);
    double sum = s == NULL ? line_amounts(t, node, r, b)
                           : sum_of(t, s, 0, s->up ? node->parent : node, 0.0, r, b);
    double expected = xpath_round((sum * 10) * 10) / 100;
    return x - expected <= t->eps && expected - x <= t->eps;
}

/* kind 20: number(translate(normalize-space(A), '-', '')) >= the same of B (dates as
 * numbers: BR-29, BR-30), A's and B's first nodes from node (or its parent: up) */
static double date_number(const Pass *t, const Step *s, const xmlNode *node, Run *r, Buf *b) {
    string_value(first_of(s, 0, s->up ? node->parent : node), b);
    if (b->oom) {
        r->oom = 1;
        return NAN;
    }
    if (b->text == NULL || b->len == 0) return t->to_number((const unsigned char *)"");
    /* normalize-space (XML whitespace runs between other characters to one space, none at
     * the ends), then every '-' dropped */
    size_t j = 0;
    int seen = 0, gap = 0;
    for (size_t i = 0; i < b->len; i++) {
        char ch = b->text[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            gap = seen;
            continue;
        }
        if (gap) b->text[j++] = ' ';
        gap = 0;
        seen = 1;
        if (ch != '-') b->text[j++] = ch;
    }
    b->text[j] = 0;
    b->len = j;
    return t->to_number((const unsigned char *)b->text);
}

static int date_not_before(const Pass *t, const Step *a, const Step *s, const xmlNode *node,
                           Run *r, Buf *b) {
    double x = date_number(t, a, node, r, b);
    return x >= date_number(t, s, node, r, b);
}

/* some element of node's subtree, other than the element (ns, local), has a no-namespace
 * attribute named name */
static int attribute_elsewhere(const xmlNode *node, const char *ns, const char *local,
                               const char *name, int depth) {
    if (node->type == XML_ELEMENT_NODE && !named(node, ns, local)) {
        for (const xmlAttr *a = node->properties; a != NULL; a = a->next)
            if (a->type == XML_ATTRIBUTE_NODE && a->ns == NULL && a->name != NULL &&
                strcmp((const char *)a->name, name) == 0)
                return 1;
    }
    if (depth > 256) return 0;
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && attribute_elsewhere(c, ns, local, name, depth + 1))
            return 1;
    return 0;
}

/* kinds 10-12: the nodes of a path (aux2) from node; 10: number(translate(first, '+', ''))
 * is within 0.000001 of aux; 11: some node's number > aux; 12: >= aux. 13: vat_sum_plain,
 * 14: vat_sum_rate plain, 15: strict (category aux); 16: vat_amount; 18: total_is (steps
 * aux and aux2, -1: the document's line amounts); 20: date_not_before (steps aux, aux2). */
/* Kind 26, BR-CL-08's test (negated: 1 when the assert fails) at a note, as XPath 1.0 reads
 * it over the element's string s: m = substring-before(substring-after(s, '#'), '#') (''
 * without a second '#'); it fails when s holds a '#', m has three characters (string-length:
 * code points) and the list does not contain m as a substring (contains(), not a token). */
static int subject_code_atom(const xmlNode *node, const char *list, Buf *b) {
    string_value(node, b);
    if (b->oom) return -1;
    const char *s = b->text ? b->text : "";
    const char *first = strchr(s, '#');
    if (first == NULL) return 0;
    const char *after = first + 1, *second = strchr(after, '#');
    if (second == NULL) return 0; /* m is '': length 0 */
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)after; p < (const unsigned char *)second;
         p++)
        if ((*p & 0xC0) != 0x80) chars++;
    if (chars != 3) return 0;
    size_t n = (size_t)(second - after);
    char m[32];
    if (n >= sizeof m) return 0; /* (three code points are at most 12 bytes) */
    memcpy(m, after, n);
    m[n] = 0;
    return strstr(list, m) == NULL;
}

static int numeric_atom(const Pass *t, const Atom *k, const xmlNode *node, Run *r, Buf *b) {
    switch (k->kind) {
    case 10:
    case 11:
    case 12: {
        const Step *s = &t->steps[k->aux2];
        const xmlNode *from = s->up ? node->parent : node;
        double limit = (double)k->aux;
        int v = numeric_nodes(t, s, 0, from, k->kind, limit, r, b);
        if (v >= 0) return v;
        double x = t->to_number((const unsigned char *)"");
        return x - limit <= t->eps && limit - x <= t->eps;
    }
    case 13: return vat_sum_plain(t, node, t->cats[k->aux], r, b);
    case 14:
    case 15: return vat_sum_rate(t, node, t->cats[k->aux], k->kind == 15, r, b);
    case 16: return vat_amount(t, node, r, b);
    case 21: return xpath_atom(t, k, node, r);
    case 22: return quantified_atom(t, k, node, r);
    case 23: return subtotal_atom(t, k->aux, node, r, b);
    case 24: return intra_community_atom(k->aux, node, b);
    case 25: return currency_total_atom(t, node, r, b);
    case 26: return subject_code_atom(node, t->cats[k->aux], b);
    case 20: return date_not_before(t, &t->steps[k->aux], &t->steps[k->aux2], node, r, b);
    case 18:
        return total_is(t, &t->steps[k->aux], k->aux2 < 0 ? NULL : &t->steps[k->aux2], node, r,
                        b);
    case 17: { /* count(every @name) - count(every q:N/@name) > 0 at the document element */
        const Step *s = &t->steps[k->aux2];
        return attribute_elsewhere(node, s->ns[0], s->local[0], t->cats[k->aux], 0);
    }
    }
    return -1;
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

static void decide_checks(const Pass *t, const Program *p, int index, const xmlNode *node, Run *r,
                          Buf *b) {
    for (int i = p->check_start; i < p->check_end; i++) {
        const Check *k = &t->checks[i];
        if (k->simple_path >= 0) {
            if ((r->counts[k->simple_path] >= 1) == k->simple_not) continue;
            if (k->number < 0)
                r->flags[-k->number - 1] = 1;
            else
                fail_at(r, k->number, index);
            continue;
        }
        int stack[64], top = 0;
        for (int j = 0; j < k->code_len; j++) {
            int op = t->code[k->code_start + j];
            if (op >= 0) {
                int v = atom(t, &t->atoms[op], node, r, b);
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
    /* first[path] is read only where counts[path] > 0, and set when it becomes 1 */
    walk(t, p->root, node, r, b, 0);
    if (!p->deferred) decide_checks(t, p, index, node, r, b);
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

/* The attr_flags of node's no-namespace attributes (what their programs' runs would set). */
static void attr_flags_at(const Pass *t, const xmlNode *node, Run *r) {
    for (const xmlAttr *p = node->properties; p != NULL; p = p->next) {
        if (p->type != XML_ATTRIBUTE_NODE || p->ns != NULL || p->name == NULL) continue;
        int lo = 0, hi = t->attr_flag_count;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (strcmp(t->attr_flags[mid].name, (const char *)p->name) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < t->attr_flag_count &&
                         strcmp(t->attr_flags[i].name, (const char *)p->name) == 0;
             i++)
            r->flags[t->attr_flags[i].flag] = 1;
    }
}

static int visit(Pass *t, const xmlNode *node, int *index, Run *r, Buf *b, int depth) {
    int here = (*index)++;
    if (t->attr_flag_count > 0 && node->properties != NULL) attr_flags_at(t, node, r);
    const char *local = (const char *)node->name;
    struct NameSlot *slot = name_slot(t, node);
    int sym = slot != NULL ? slot->sym : find_in(t->syms, t->sym_count, local, -1);
    int lo = 0, hi = sym < 0 ? 0 : t->context_count;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (t->contexts[mid].sym < sym)
            lo = mid + 1;
        else
            hi = mid;
    }
    int nsid = sym >= 0 && lo < t->context_count && t->contexts[lo].sym == sym ? nsid_of(t, node)
                                                                               : -2;
    /* the parent's and the grandparent's names as symbols, computed at their first use
     * (-3: not yet; an element with many contexts tests them for each) */
    int parent_sym = -3, parent_nsid = -3, gp_sym = -3, gp_nsid = -3;
    for (int i = lo; sym >= 0 && i < t->context_count && t->contexts[i].sym == sym; i++) {
        const Context *c = &t->contexts[i];
        if (c->nsid != nsid) continue;
        const xmlNode *parent = node->parent;
        if (c->at_root && (parent == NULL || parent->type != XML_DOCUMENT_NODE)) continue;
        if (c->parent_local != NULL) {
            if (parent == NULL || parent->type != XML_ELEMENT_NODE || parent->name == NULL)
                continue;
            if (parent_sym == -3) parent_sym = sym_of(t, parent);
            if (parent_sym != c->parent_sym) continue;
            if (parent_nsid == -3) parent_nsid = nsid_of(t, parent);
            if (parent_nsid != c->parent_nsid) continue;
            if (c->gp_local == NULL && c->gp_root &&
                (parent->parent == NULL || parent->parent->type != XML_DOCUMENT_NODE))
                continue;
            if (c->gp_local != NULL) {
                const xmlNode *gp = parent->parent;
                if (gp == NULL || gp->type != XML_ELEMENT_NODE || gp->name == NULL) continue;
                if (gp_sym == -3) gp_sym = sym_of(t, gp);
                if (gp_sym != c->gp_sym) continue;
                if (gp_nsid == -3) gp_nsid = nsid_of(t, gp);
                if (gp_nsid != c->gp_nsid) continue;
                if (c->gp_root && (gp->parent == NULL || gp->parent->type != XML_ELEMENT_NODE ||
                                   gp->parent->parent == NULL ||
                                   gp->parent->parent->type != XML_DOCUMENT_NODE))
                    continue;
            }
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
    int suffixes = -1;
    if (slot != NULL && t->suffixed_count <= 30) {
        if (slot->suffixes < 0) {
            int mask = 0;
            for (int i = 0; i < t->suffixed_count; i++) {
                const Context *c = &t->suffixed[i];
                if (ends_with(local, c->suffix) &&
                    !(c->not_suffix && ends_with(local, c->not_suffix)))
                    mask |= 1 << i;
            }
            slot->suffixes = mask;
        }
        suffixes = slot->suffixes;
    }
    for (int i = 0; i < t->suffixed_count && suffixes != 0; i++) {
        const Context *c = &t->suffixed[i];
        if (suffixes > 0 ? !(suffixes & (1 << i))
                         : (!ends_with(local, c->suffix) ||
                            (c->not_suffix && ends_with(local, c->not_suffix))))
            continue;
        if (c->anc_local != NULL && has_ancestor_with_child(node, c)) continue;
        run_program(t, &t->programs[c->program], node, here, r, b);
    }
    if (depth > 256) return 0;
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->name != NULL) visit(t, c, index, r, b, depth + 1);
    return 0;
}

/* The elements as visit() numbers them (document order, the same depth limit). */
static int collect(const xmlNode *node, const xmlNode ***all, int *count, int *cap, int depth) {
    if (*count == *cap) {
        int more = *cap ? 2 * *cap : 256;
        const xmlNode **grown = realloc(*all, (size_t)more * sizeof(xmlNode *));
        if (grown == NULL) return 0;
        *all = grown;
        *cap = more;
    }
    (*all)[(*count)++] = node;
    if (depth > 256) return 1;
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->name != NULL &&
            !collect(c, all, count, cap, depth + 1))
            return 0;
    return 1;
}

/* The rules of selected contexts: each select evaluated (from the document element; the
 * selects start at the root), each element it selects running the rule's program at its
 * place in document order. A select giving anything but elements of this walk is an error
 * (r->xerr): the engine must not answer for it. */
static void run_selected(Pass *t, const xmlNode *root, Run *r, Buf *b) {
    const xmlNode **all = NULL;
    int count = 0, cap = 0;
    if (!collect(root, &all, &count, &cap, 0)) {
        free(all);
        r->oom = 1;
        return;
    }
    for (int i = 0; i < t->selected_count && !r->xerr; i++) {
        const Selected *sel = &t->selected[i];
        xmlXPathContextPtr ctx = xpath_at(t, root, r);
        xmlXPathObjectPtr o = ctx == NULL ? NULL : t->x.eval(t->xpaths[sel->xpath], ctx);
        if (o == NULL || o->type != XPATH_NODESET) {
            r->xerr = 1;
            if (o != NULL) t->x.free_object(o);
            break;
        }
        int j = 0;
        for (int k = 0; o->nodesetval != NULL && k < o->nodesetval->nodeNr; k++) {
            const xmlNode *n = o->nodesetval->nodeTab[k];
            int at = -1;
            for (int m = j; m < count && at < 0; m++)
                if (all[m] == n) at = m;
            for (int m = 0; m < j && at < 0; m++) /* not in document order after all */
                if (all[m] == n) at = m;
            if (at < 0) {
                r->xerr = 1;
                break;
            }
            j = at;
            run_program(t, &t->programs[sel->program], n, at, r, b);
        }
        t->x.free_object(o);
    }
    free(all);
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

/* one native walk at a time in the process (the GIL is released during it) */
static PyThread_type_lock walk_lock;

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
    r.first = malloc(((size_t)t->paths + 1) * sizeof(void *));
    r.flags = calloc((size_t)t->flag_count + 1, 1);
    if (r.counts == NULL || r.first == NULL || r.flags == NULL) {
        free(r.counts);
        free(r.first);
        free(r.flags);
        return PyErr_NoMemory();
    }
    int index = 0;
    /* The walk reads the tree only (no other thread changes a document being read) and calls
     * no Python: it runs without the GIL, so the reading threads' Python and the storing
     * thread go on meanwhile. The programs' run marks and the name caches are the Pass's, so
     * one walk at a time (walk_lock), as when the GIL was held throughout. */
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(walk_lock, WAIT_LOCK);
    if (++t->gen == 0) { /* the caches' generations wrapped: forget every slot */
        for (int i = 0; i < NAME_SLOTS; i++)
            if (t->names[i].owned) free((char *)t->names[i].text);
        memset(t->names, 0, NAME_SLOTS * sizeof(struct NameSlot));
        memset(t->spaces, 0, NS_SLOTS * sizeof(struct NsSlot));
        t->gen = 1;
    }
    for (int i = 0; i < t->program_count; i++) t->programs[i].last = -1;
    visit(t, node, &index, &r, &b, 0);
    if (t->selected_count > 0) run_selected(t, node, &r, &b);
    /* deferred programs (at the document element, reading flags) decide now; their paths'
     * counts are their own, so still those of their run */
    for (int i = 0; i < t->program_count; i++) {
        Program *p = &t->programs[i];
        if (p->deferred && p->last >= 0) decide_checks(t, p, p->last, NULL, &r, &b);
    }
    for (int i = 0; i < t->program_count; i++) t->programs[i].last = -1;
    if (r.xctx != NULL) {
        /* kept for the next run without its variables (their node sets are this
         * document's, which may be freed before the next run: libxml2 reads a node's type
         * when it frees a set holding it), unless this run failed */
        if (r.xerr || r.oom || t->kept != NULL) {
            t->x.free_context(r.xctx);
        } else {
            t->x.variables_cleanup(r.xctx);
            t->kept = r.xctx;
        }
    }
    PyThread_release_lock(walk_lock);
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (r.xerr) {
        PyErr_SetString(PyExc_RuntimeError, "libxml2 could not evaluate a rule's test");
    } else if (!r.oom && !b.oom) {
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
    for (int i = 0; i < 3; i++) free(r.lines[i]);
    free(b.text);
    return out;
}

#ifdef FF_PROFILE
static PyObject *profile(PyObject *self, PyObject *args) {
    PyObject *d = PyDict_New();
    for (int i = 0; d != NULL && i < PROF_SLOTS; i++) {
        if (prof_calls[i] == 0) continue;
        PyObject *v = Py_BuildValue("(dl)", prof_ns[i], prof_calls[i]);
        PyObject *k = PyLong_FromLong(i == PROF_NAMED ? -1 : i);
        if (v == NULL || k == NULL || PyDict_SetItem(d, k, v) != 0) Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    memset(prof_ns, 0, sizeof prof_ns);
    memset(prof_calls, 0, sizeof prof_calls);
    return d;
}
#endif
static PyMethodDef methods[] = {
#ifdef FF_PROFILE
    {"profile", profile, METH_NOARGS, "CPU ns and calls of each XPath test since the last call"},
#endif
    {"prepare", prepare, METH_VARARGS, "Compile the contexts, tries and checks of a rule set."},
    {"failures", failures, METH_VARARGS, "The failed checks over a document element."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rulesnative", "The native pass of the business-rule engine.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__rulesnative(void) {
    if (walk_lock == NULL && (walk_lock = PyThread_allocate_lock()) == NULL)
        return PyErr_NoMemory();
    return PyModule_Create(&module);
}
