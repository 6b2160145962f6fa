/* W3C Canonical XML 1.0 (inclusive, comments removed) of a document element, in one walk of
 * libxml2's tree (fourflow.adapters.documents.c14n_native).
 *
 * The bytes are those of libxml2's own C14N (lxml's etree.tostring(root, method="c14n",
 * with_comments=False)) for the trees a safe parse gives: elements, text, CDATA sections,
 * comments (dropped) and processing instructions under the document element. libxml2 walks
 * every namespace in scope at every element (a search up the ancestors for each), which is
 * most of its time; here an element renders only the declarations it carries itself that its
 * parent does not already have in scope with the same URI (for a whole document that is what
 * the inclusive namespace axis comes to), attributes sorted as C14N sorts them.
 *
 * Anything else answers None and the caller canonicalises with libxml2: a node of another
 * type (an entity reference, an XInclude marker), an attribute value that is not plain text,
 * a namespace URI outside a plain absolute form (libxml2 refuses relative ones and writes URIs
 * unescaped), an element that is not the document element.
 *
 * Built by `make setup` (python -m fourflow.adapters.documents.c14n_native --build).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <libxml/tree.h>

/* The head of lxml's _Element (lxml/etree.h, struct LxmlElement); the type is checked
 * against lxml.etree._Element (given once to prepare()). */
typedef struct {
    PyObject_HEAD
    void *_doc;
    xmlNode *_c_node;
    PyObject *_tag;
} ElementHead;

static PyTypeObject *element_type = NULL;

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} Buf;

enum { OK = 0, UNSUPPORTED = 1 };

static void put(Buf *b, const char *s, size_t n) {
    if (b->oom || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 32768;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->oom = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_s(Buf *b, const char *s) { put(b, s, strlen(s)); }

/* libxml2's xmlC11NNormalizeString, by mode. */
enum { TEXT = 0, ATTR = 1, PI = 2 };

/* Which bytes each mode replaces (bit TEXT, ATTR, PI), for a fast scan of the rest. */
static unsigned char special[256];

static void init_special(void) {
    special['<'] = (1 << TEXT) | (1 << ATTR);
    special['>'] = 1 << TEXT;
    special['&'] = (1 << TEXT) | (1 << ATTR);
    special['"'] = 1 << ATTR;
    special['\t'] = 1 << ATTR;
    special['\n'] = 1 << ATTR;
    special['\r'] = (1 << TEXT) | (1 << ATTR) | (1 << PI);
    special['\0'] = 0xff;
}

static void put_escaped(Buf *b, const xmlChar *s, int mode) {
    const unsigned char bit = (unsigned char)(1 << mode);
    const unsigned char *run = s;
    const unsigned char *p = s;
    for (;;) {
        while (!(special[*p] & bit)) p++;
        put(b, (const char *)run, (size_t)(p - run));
        const char *with;
        switch (*p) {
        case '\0':
            return;
        case '<':
            with = "&lt;";
            break;
        case '>':
            with = "&gt;";
            break;
        case '&':
            with = "&amp;";
            break;
        case '"':
            with = "&quot;";
            break;
        case '\t':
            with = "&#x9;";
            break;
        case '\n':
            with = "&#xA;";
            break;
        default: /* '\r' */
            with = "&#xD;";
            break;
        }
        put_s(b, with);
        run = ++p;
    }
}

static int is_empty(const xmlChar *s) { return s == NULL || *s == '\0'; }

static int same(const xmlChar *a, const xmlChar *b) {
    if (a == NULL) a = (const xmlChar *)"";
    if (b == NULL) b = (const xmlChar *)"";
    return strcmp((const char *)a, (const char *)b) == 0;
}

/* A URI libxml2 accepts here and writes as it is: empty, or a scheme, ':' and characters
 * that need no escaping in an attribute (no quotes, '&', '<', '%' or spaces). */
static int plain_uri(const xmlChar *uri) {
    if (is_empty(uri)) return 1;
    const unsigned char *p = uri;
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) return 0;
    for (p++; *p != ':'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '+' || *p == '.' || *p == '-'))
            return 0;
    }
    for (p++; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr(":/._~-#?=;,+!$*()@", *p) != NULL))
            return 0;
    }
    return 1;
}

static int is_xml_prefix(const xmlChar *prefix) {
    return prefix != NULL && strcmp((const char *)prefix, "xml") == 0;
}

/* One namespace binding in scope: its prefix (NULL: the default namespace), its URI ("" for
 * xmlns=""), and its place among the document element's declarations (-1: declared below). */
typedef struct {
    const xmlChar *prefix, *href;
    int root_index;
} Binding;

typedef struct {
    Buf out;
    Binding *st; /* the walk's stack of bindings: each element's scope, then its rendered set */
    size_t len, cap;
    int oom;
    int copied_root; /* lxml canonicalises a copy of the document element (see canonical()) */
    const xmlNode *root;
} Walk;

static size_t push(Walk *w, const xmlChar *prefix, const xmlChar *href, int root_index) {
    if (w->len == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        Binding *grown = realloc(w->st, cap * sizeof(Binding));
        if (grown == NULL) {
            w->oom = 1;
            return w->len;
        }
        w->st = grown;
        w->cap = cap;
    }
    w->st[w->len].prefix = prefix;
    w->st[w->len].href = href != NULL ? href : (const xmlChar *)"";
    w->st[w->len].root_index = root_index;
    return w->len++;
}

static int same_prefix(const xmlChar *a, const xmlChar *b) {
    if (a == NULL || b == NULL) return a == b;
    return strcmp((const char *)a, (const char *)b) == 0;
}

/* C14N's order of namespace nodes: by prefix, the default namespace first. */
static int ns_before(const Binding *a, const Binding *b) {
    if (a->prefix == NULL) return b->prefix != NULL;
    if (b->prefix == NULL) return 0;
    return strcmp((const char *)a->prefix, (const char *)b->prefix) < 0;
}

/* C14N's order of attributes: no namespace first (by name), then by namespace URI, name. */
static int attr_before(const xmlAttr *a, const xmlAttr *b) {
    if (a->ns == b->ns) return strcmp((const char *)a->name, (const char *)b->name) < 0;
    if (a->ns == NULL) return 1;
    if (b->ns == NULL) return 0;
    if (a->ns->prefix == NULL) return 1;
    if (b->ns->prefix == NULL) return 0;
    int c = strcmp((const char *)(a->ns->href ? a->ns->href : (const xmlChar *)""),
                   (const char *)(b->ns->href ? b->ns->href : (const xmlChar *)""));
    if (c != 0) return c < 0;
    return strcmp((const char *)a->name, (const char *)b->name) < 0;
}

#define MAX_ON_STACK 64

typedef struct {
    size_t scope_at, scope_n;     /* the parent's bindings in scope */
    size_t window_at, window_n;   /* what the parent rendered-or-had (libxml2's ns_rendered) */
    const xmlChar *window_default; /* the parent's default binding in sight, or NULL */
    unsigned long long window_blocked; /* the root declarations out of its sight */
    const xmlChar *near_default;  /* the nearest ancestor's default binding in sight, or NULL */
    unsigned long long blocked;   /* root declarations hidden by an ancestor's own name */
} Context;

static int write_element(Walk *w, const xmlNode *node, const Context *up, int depth);

static int children(Walk *w, const xmlNode *node, const Context *here, int depth) {
    Buf *b = &w->out;
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            if (write_element(w, c, here, depth + 1) != OK) return UNSUPPORTED;
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (c->content != NULL) put_escaped(b, c->content, TEXT);
            break;
        case XML_COMMENT_NODE:
            break;
        case XML_PI_NODE:
            put_s(b, "<?");
            put_s(b, (const char *)c->name);
            if (!is_empty(c->content)) {
                put_s(b, " ");
                put_escaped(b, c->content, PI);
            }
            put_s(b, "?>");
            break;
        default:
            return UNSUPPORTED;
        }
    }
    return OK;
}

static void qname(Buf *b, const xmlNs *ns, const xmlChar *name) {
    if (ns != NULL && !is_empty(ns->prefix)) {
        put_s(b, (const char *)ns->prefix);
        put_s(b, ":");
    }
    put_s(b, (const char *)name);
}

static int root_index_of(const xmlNode *root, const xmlNs *ns) {
    int i = 0;
    for (const xmlNs *d = root->nsDef; d != NULL; d = d->next, i++) {
        if (d == ns) return i;
    }
    return -1;
}

/* One element, as libxml2's xmlC14NProcessElementNode writes it (inclusive C14N 1.0, every
 * node visible). Its namespace axis follows xmlC14NProcessNamespacesAxis: the bindings in
 * scope (xmlSearchNs finds them, so when lxml canonicalises a copy of the document element,
 * a root declaration is out of sight below an ancestor named with it: ``blocked``), each
 * rendered unless the parent had the same one; xmlns="" when the element has no default
 * binding in sight and the nearest ancestor's was not empty. */
static int write_element(Walk *w, const xmlNode *node, const Context *up, int depth) {
    Buf *b = &w->out;
    if (node->name == NULL || depth > 10000) return UNSUPPORTED;
    int is_root = node == w->root;
    size_t base = w->len;
    Context here;

    if (node->nsDef == NULL && !is_root && up->blocked == up->window_blocked) {
        /* no declaration of its own and the same root declarations in sight as its parent:
         * the parent's bindings, nothing to render but perhaps xmlns="" */
        here = *up;
        put_s(b, "<");
        qname(b, node->ns, node->name);
        if (up->window_default == NULL && up->near_default != NULL && !is_empty(up->near_default))
            put_s(b, " xmlns=\"\"");
        goto attributes;
    }

    /* the bindings in scope: the parent's, with this element's declarations over them */
    if (node->nsDef == NULL) {
        here.scope_at = up->scope_at;
        here.scope_n = up->scope_n;
    } else {
        for (size_t i = 0; i < up->scope_n; i++) {
            Binding p = w->st[up->scope_at + i];
            push(w, p.prefix, p.href, p.root_index);
        }
        int index = 0;
        for (const xmlNs *ns = node->nsDef; ns != NULL; ns = ns->next, index++) {
            if (!plain_uri(ns->href) || index >= MAX_ON_STACK) return UNSUPPORTED;
            size_t i;
            for (i = base; i < w->len; i++) {
                if (same_prefix(w->st[i].prefix, ns->prefix)) break;
            }
            if (i < w->len) {
                w->st[i].href = ns->href != NULL ? ns->href : (const xmlChar *)"";
                w->st[i].root_index = is_root ? index : -1;
            } else {
                push(w, ns->prefix, ns->href, is_root ? index : -1);
            }
        }
        if (w->oom) return UNSUPPORTED;
        here.scope_at = base;
        here.scope_n = w->len - base;
    }

    /* what this element has in sight (and pushes on libxml2's ns_rendered) */
    here.window_at = w->len;
    const xmlChar *own_default = NULL;
    for (size_t i = 0; i < here.scope_n; i++) {
        Binding s = w->st[here.scope_at + i];
        if (is_xml_prefix(s.prefix)) continue;
        if (w->copied_root && s.root_index >= 0 && ((up->blocked >> s.root_index) & 1)) continue;
        push(w, s.prefix, s.href, s.root_index);
        if (s.prefix == NULL || *s.prefix == '\0') own_default = s.href;
    }
    if (w->oom) return UNSUPPORTED;
    here.window_n = w->len - here.window_at;
    if (here.window_n > MAX_ON_STACK) return UNSUPPORTED;
    here.window_default = own_default;
    here.window_blocked = up->blocked;
    here.near_default = own_default != NULL ? own_default : up->near_default;

    /* which of them it renders, sorted */
    const Binding *out[MAX_ON_STACK];
    int n_out = 0;
    for (size_t i = 0; i < here.window_n; i++) {
        const Binding *c = &w->st[here.window_at + i];
        int render;
        if ((c->prefix == NULL || *c->prefix == '\0') && is_empty(c->href)) {
            render = up->near_default != NULL && !is_empty(up->near_default);
        } else {
            const Binding *had = NULL;
            for (size_t j = up->window_n; j-- > 0;) {
                const Binding *p = &w->st[up->window_at + j];
                if (same(p->prefix, c->prefix)) {
                    had = p;
                    break;
                }
            }
            render = had == NULL || !same(had->href, c->href);
        }
        if (!render) continue;
        int k = n_out++;
        while (k > 0 && ns_before(c, out[k - 1])) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = c;
    }

    put_s(b, "<");
    qname(b, node->ns, node->name);
    if (own_default == NULL && up->near_default != NULL && !is_empty(up->near_default))
        put_s(b, " xmlns=\"\"");
    for (int i = 0; i < n_out; i++) {
        if (out[i]->prefix != NULL && *out[i]->prefix != '\0') {
            put_s(b, " xmlns:");
            put_s(b, (const char *)out[i]->prefix);
            put_s(b, "=\"");
        } else {
            put_s(b, " xmlns=\"");
        }
        put_s(b, (const char *)out[i]->href);
        put_s(b, "\"");
    }
    here.blocked = up->blocked;

attributes:;
    /* attributes, sorted */
    const xmlAttr *attrs[MAX_ON_STACK];
    int n_attrs = 0;
    for (const xmlAttr *a = node->properties; a != NULL; a = a->next) {
        if (a->type != XML_ATTRIBUTE_NODE || a->name == NULL) return UNSUPPORTED;
        for (const xmlNode *v = a->children; v != NULL; v = v->next) {
            if (v->type != XML_TEXT_NODE) return UNSUPPORTED;
        }
        if (n_attrs == MAX_ON_STACK) return UNSUPPORTED;
        int i = n_attrs++;
        while (i > 0 && attr_before(a, attrs[i - 1])) {
            attrs[i] = attrs[i - 1];
            i--;
        }
        attrs[i] = a;
    }
    for (int i = 0; i < n_attrs; i++) {
        put_s(b, " ");
        qname(b, attrs[i]->ns, attrs[i]->name);
        put_s(b, "=\"");
        for (const xmlNode *v = attrs[i]->children; v != NULL; v = v->next) {
            if (v->content != NULL) put_escaped(b, v->content, ATTR);
        }
        put_s(b, "\"");
    }
    put_s(b, ">");

    if (w->copied_root && !is_root && node->ns != NULL) {
        int i = root_index_of(w->root, node->ns);
        if (i >= 0) here.blocked |= 1ULL << i;
    }
    if (children(w, node, &here, depth) != OK) return UNSUPPORTED;
    put_s(b, "</");
    qname(b, node->ns, node->name);
    put_s(b, ">");
    w->len = base;
    return OK;
}

/* prepare(lxml.etree._Element): the element type canonical() accepts. */
static PyObject *prepare(PyObject *self, PyObject *args) {
    PyObject *type;
    if (!PyArg_ParseTuple(args, "O!", &PyType_Type, &type)) return NULL;
    Py_XDECREF(element_type);
    Py_INCREF(type);
    element_type = (PyTypeObject *)type;
    Py_RETURN_NONE;
}

/* canonical(document element) -> bytes, or None when libxml2 must do it. */
static PyObject *canonical(PyObject *self, PyObject *element) {
    if (element_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "prepare() first");
        return NULL;
    }
    if (!PyObject_TypeCheck(element, element_type)) {
        PyErr_SetString(PyExc_TypeError, "an lxml element is required");
        return NULL;
    }
    const xmlNode *node = ((ElementHead *)element)->_c_node;
    if (node == NULL || node->type != XML_ELEMENT_NODE || node->parent == NULL ||
        node->parent->type != XML_DOCUMENT_NODE)
        Py_RETURN_NONE;
    Walk w = {0};
    w.root = node;
    /* lxml canonicalises a document element with siblings (a comment or a processing
     * instruction before it, a DOCTYPE) as a shallow copy of it holding its children: the
     * copy's declarations are not the ones its descendants point to */
    w.copied_root = node->prev != NULL || node->next != NULL;
    Context top = {0};
    int done;
    /* the walk reads the tree only, and the caller's reference keeps it alive */
    Py_BEGIN_ALLOW_THREADS
    done = write_element(&w, node, &top, 0);
    Py_END_ALLOW_THREADS
    PyObject *out;
    if (w.out.oom || w.oom) {
        out = PyErr_NoMemory();
    } else if (done != OK) {
        out = Py_NewRef(Py_None);
    } else {
        out = PyBytes_FromStringAndSize(w.out.data != NULL ? w.out.data : "", (Py_ssize_t)w.out.len);
    }
    free(w.out.data);
    free(w.st);
    return out;
}

static PyMethodDef methods[] = {
    {"prepare", prepare, METH_VARARGS, "Say which type is lxml's element."},
    {"canonical", canonical, METH_O, "C14N 1.0 (no comments) of a document element, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_c14nnative", "Canonical XML 1.0 of a document element.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__c14nnative(void) {
    init_special();
    return PyModule_Create(&module);
}
