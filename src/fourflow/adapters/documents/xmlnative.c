/* C over lxml's tree (fourflow.adapters.documents.xml_native): W3C Canonical XML 1.0
 * (inclusive, comments removed) of a document element in one walk, and the values of UBL
 * lines and parties (below).
 *
 * C14N:
 *
 * The bytes are those of libxml2's own C14N (lxml's etree.tostring(root, method="c14n",
 * with_comments=False)) for the trees a safe parse gives: elements, text, CDATA sections,
 * comments (dropped) and processing instructions under the document element. libxml2 walks
 * every namespace in scope at every element (a search up the ancestors for each), which is
 * most of its time; here the bindings in scope are kept as the walk descends, and each
 * element's namespace axis is decided as libxml2 decides it (write_element), lxml's copy of a
 * document element with siblings included.
 *
 * Anything else answers None and the caller canonicalises with libxml2: a node of another
 * type (an entity reference, an XInclude marker), an attribute value that is not plain text,
 * a namespace URI outside a plain absolute form (libxml2 refuses relative ones and writes URIs
 * unescaped), an element that is not the document element.
 *
 * Built by `make setup` (python -m fourflow.adapters.documents.xml_native --build).
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
#define MAX_DEPTH 512

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
            if (c->name == NULL) return UNSUPPORTED;
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
    /* deeper trees (a huge_tree parse) go to libxml2: this recursion's frames stay < 1 MB */
    if (node->name == NULL || depth > MAX_DEPTH) return UNSUPPORTED;
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

/* --- UBL lines ---------------------------------------------------------------------------
 *
 * The values ubl._lines reads from each line element, read without a Python proxy per element:
 * for each line, a tuple of the texts of its first cbc:ID, quantity (with its unitCode), first
 * cbc:LineExtensionAmount, its item's names (the first seller's, standard and buyer's
 * identification that has a cbc:ID, the first cbc:Name and cbc:Description) and its price's
 * first cbc:PriceAmount and cbc:BaseQuantity. A text is lxml's .text of a leaf element (every
 * child text or CDATA; "" without any), None when the element is absent. A line holding
 * anything else the mapping reads differently (a value with a comment or an element inside,
 * several prices) is None: ubl._lines reads that one through lxml. */

static const char CAC[] = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
static const char CBC[] = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

static int named(const xmlNode *n, const char *ns, const char *local) {
    return n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->name, local) == 0 && strcmp((const char *)n->ns->href, ns) == 0;
}

/* 1 when every child of el is text or CDATA (lxml: len(el) == 0 and .text joins them all). */
static int is_leaf(const xmlNode *el) {
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) return 0;
    }
    return 1;
}

/* The text of a leaf (new reference; "" without text), or Py_None (new) when el is NULL. */
static PyObject *leaf_text(const xmlNode *el) {
    if (el == NULL) return Py_NewRef(Py_None);
    const xmlNode *c = el->children;
    if (c == NULL) return PyUnicode_FromStringAndSize("", 0);
    if (c->next == NULL) {
        const char *t = c->content != NULL ? (const char *)c->content : "";
        return PyUnicode_DecodeUTF8(t, (Py_ssize_t)strlen(t), "strict");
    }
    Buf b = {0};
    for (; c != NULL; c = c->next) {
        if (c->content != NULL) put_s(&b, (const char *)c->content);
    }
    PyObject *out = b.oom ? PyErr_NoMemory()
                          : PyUnicode_DecodeUTF8(b.data != NULL ? b.data : "", (Py_ssize_t)b.len,
                                                 "strict");
    free(b.data);
    return out;
}

/* The first child of el named (ns, local), or NULL. */
static const xmlNode *first_child(const xmlNode *el, const char *ns, const char *local) {
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if (named(c, ns, local)) return c;
    }
    return NULL;
}

/* The unqualified attribute ``name`` of el (new reference), "" when absent. */
static PyObject *attribute(const xmlNode *el, const char *name) {
    for (const xmlAttr *a = el->properties; a != NULL; a = a->next) {
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0) {
            Buf b = {0};
            for (const xmlNode *v = a->children; v != NULL; v = v->next) {
                if (v->content != NULL) put_s(&b, (const char *)v->content);
            }
            PyObject *out = b.oom ? PyErr_NoMemory()
                                  : PyUnicode_DecodeUTF8(b.data != NULL ? b.data : "",
                                                         (Py_ssize_t)b.len, "strict");
            free(b.data);
            return out;
        }
    }
    return PyUnicode_FromStringAndSize("", 0);
}

enum { L_ID, L_QUANTITY, L_UNIT, L_AMOUNT, L_SELLERS, L_STANDARD, L_NAME, L_BUYERS,
       L_DESCRIPTION, L_PRICES, L_PRICE, L_BASE, L_FIELDS };

/* One line's tuple, Py_None (new) when lxml must read it, NULL on an error. */
static PyObject *line_values(const xmlNode *line, const char *quantity_local) {
    const xmlNode *id = NULL, *quantity = NULL, *amount = NULL, *item = NULL, *price = NULL;
    long prices = 0;
    for (const xmlNode *c = line->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (named(c, CBC, "ID")) {
            if (id == NULL) id = c;
        } else if (named(c, CBC, quantity_local)) {
            if (quantity == NULL) quantity = c;
        } else if (named(c, CBC, "LineExtensionAmount")) {
            if (amount == NULL) amount = c;
        } else if (named(c, CAC, "Item")) {
            if (item == NULL) item = c;
        } else if (named(c, CAC, "Price")) {
            if (price == NULL) price = c;
            prices++;
        }
    }
    const xmlNode *sellers = NULL, *standard = NULL, *name = NULL, *buyers = NULL;
    const xmlNode *description = NULL, *price_amount = NULL, *base = NULL;
    if (item != NULL) {
        for (const xmlNode *c = item->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE) continue;
            if (sellers == NULL && named(c, CAC, "SellersItemIdentification")) {
                sellers = first_child(c, CBC, "ID");
            } else if (standard == NULL && named(c, CAC, "StandardItemIdentification")) {
                standard = first_child(c, CBC, "ID");
            } else if (buyers == NULL && named(c, CAC, "BuyersItemIdentification")) {
                buyers = first_child(c, CBC, "ID");
            } else if (name == NULL && named(c, CBC, "Name")) {
                name = c;
            } else if (description == NULL && named(c, CBC, "Description")) {
                description = c;
            }
        }
    }
    if (price != NULL) {
        price_amount = first_child(price, CBC, "PriceAmount");
        base = first_child(price, CBC, "BaseQuantity");
    }
    const xmlNode *read[] = {id, quantity, amount, sellers, standard, name, buyers, description,
                             price_amount, base};
    for (size_t i = 0; i < sizeof read / sizeof read[0]; i++) {
        if (read[i] != NULL && !is_leaf(read[i])) return Py_NewRef(Py_None);
    }
    if (prices > 1) return Py_NewRef(Py_None);
    PyObject *t = PyTuple_New(L_FIELDS);
    if (t == NULL) return NULL;
    PyTuple_SET_ITEM(t, L_ID, leaf_text(id));
    PyTuple_SET_ITEM(t, L_QUANTITY, leaf_text(quantity));
    PyTuple_SET_ITEM(t, L_UNIT, quantity != NULL ? attribute(quantity, "unitCode")
                                                 : PyUnicode_FromStringAndSize("", 0));
    PyTuple_SET_ITEM(t, L_AMOUNT, leaf_text(amount));
    PyTuple_SET_ITEM(t, L_SELLERS, leaf_text(sellers));
    PyTuple_SET_ITEM(t, L_STANDARD, leaf_text(standard));
    PyTuple_SET_ITEM(t, L_NAME, leaf_text(name));
    PyTuple_SET_ITEM(t, L_BUYERS, leaf_text(buyers));
    PyTuple_SET_ITEM(t, L_DESCRIPTION, leaf_text(description));
    PyTuple_SET_ITEM(t, L_PRICES, PyLong_FromLong(prices));
    PyTuple_SET_ITEM(t, L_PRICE, leaf_text(price_amount));
    PyTuple_SET_ITEM(t, L_BASE, leaf_text(base));
    for (int i = 0; i < L_FIELDS; i++) {
        if (PyTuple_GET_ITEM(t, i) == NULL) {
            Py_DECREF(t);
            return NULL;
        }
    }
    return t;
}

/* lxml's .text (new reference): the text and CDATA children before the first other child
 * joined, None when there is none; NULL with *odd set for an XInclude marker (lxml skips it). */
static PyObject *leading_text(const xmlNode *el, int *odd) {
    Buf b = {0};
    int any = 0;
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if (c->type == XML_XINCLUDE_START || c->type == XML_XINCLUDE_END) {
            *odd = 1;
            free(b.data);
            return NULL;
        }
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) break;
        any = 1;
        if (c->content != NULL) put_s(&b, (const char *)c->content);
    }
    PyObject *out;
    if (b.oom) out = PyErr_NoMemory();
    else if (!any) out = Py_NewRef(Py_None);
    else out = PyUnicode_DecodeUTF8(b.data != NULL ? b.data : "", (Py_ssize_t)b.len, "strict");
    free(b.data);
    return out;
}

/* An unqualified attribute's value (new reference), None when absent. */
static PyObject *attribute_or_none(const xmlNode *el, const char *name) {
    for (const xmlAttr *a = el->properties; a != NULL; a = a->next) {
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0) return attribute(el, name);
    }
    return Py_NewRef(Py_None);
}

/* The first child (ns, local) of the first child (ns1, local1) of el that has one. */
static const xmlNode *first_below(const xmlNode *el, const char *ns1, const char *local1,
                                  const char *ns, const char *local) {
    for (const xmlNode *c = el->children; c != NULL; c = c->next) {
        if (named(c, ns1, local1)) {
            const xmlNode *found = first_child(c, ns, local);
            if (found != NULL) return found;
        }
    }
    return NULL;
}

static int append_new(PyObject *list, PyObject *item) {
    if (item == NULL) return -1;
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

/* ubl_party(cac:Party element) -> (legal, tax, ids, registration name, party name) or None:
 * legal [(text, schemeID)] of every cac:PartyLegalEntity/cbc:CompanyID; tax [(company id,
 * tax scheme id)] of every cac:PartyTaxScheme (its first cbc:CompanyID, its first
 * cac:TaxScheme/cbc:ID); ids [(text, schemeID, schemeAgencyID)] of every cbc:EndpointID then
 * every cac:PartyIdentification/cbc:ID; the first cac:PartyLegalEntity/cbc:RegistrationName and
 * cac:PartyName/cbc:Name. Texts are lxml's .text for the ids, a leaf's text for the rest; None
 * when one of the latter is not a leaf (ubl._party_of then reads the party through lxml). */
static PyObject *ubl_party(PyObject *self, PyObject *element) {
    if (element_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "prepare() first");
        return NULL;
    }
    if (!PyObject_TypeCheck(element, element_type) || ((ElementHead *)element)->_c_node == NULL) {
        PyErr_SetString(PyExc_TypeError, "an lxml element is required");
        return NULL;
    }
    const xmlNode *party = ((ElementHead *)element)->_c_node;
    const xmlNode *registration = first_below(party, CAC, "PartyLegalEntity", CBC, "RegistrationName");
    const xmlNode *name = first_below(party, CAC, "PartyName", CBC, "Name");
    if ((registration != NULL && !is_leaf(registration)) || (name != NULL && !is_leaf(name)))
        return Py_NewRef(Py_None);
    for (const xmlNode *c = party->children; c != NULL; c = c->next) {
        if (!named(c, CAC, "PartyTaxScheme")) continue;
        const xmlNode *company = first_child(c, CBC, "CompanyID");
        const xmlNode *scheme = first_below(c, CAC, "TaxScheme", CBC, "ID");
        if ((company != NULL && !is_leaf(company)) || (scheme != NULL && !is_leaf(scheme)))
            return Py_NewRef(Py_None);
    }
    PyObject *legal = PyList_New(0), *tax = PyList_New(0), *ids = PyList_New(0);
    PyObject *out = NULL;
    int odd = 0;
    if (legal == NULL || tax == NULL || ids == NULL) goto done;
    for (const xmlNode *c = party->children; c != NULL; c = c->next) {
        if (!named(c, CAC, "PartyLegalEntity")) continue;
        for (const xmlNode *d = c->children; d != NULL; d = d->next) {
            if (!named(d, CBC, "CompanyID")) continue;
            PyObject *t = leading_text(d, &odd);
            if (odd) goto odd;
            if (t == NULL) goto done;
            if (append_new(legal, Py_BuildValue("(NN)", t, attribute_or_none(d, "schemeID"))) < 0)
                goto done;
        }
    }
    for (const xmlNode *c = party->children; c != NULL; c = c->next) {
        if (!named(c, CAC, "PartyTaxScheme")) continue;
        const xmlNode *company = first_child(c, CBC, "CompanyID");
        const xmlNode *scheme = first_below(c, CAC, "TaxScheme", CBC, "ID");
        if (append_new(tax, Py_BuildValue("(NN)", leaf_text(company), leaf_text(scheme))) < 0)
            goto done;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (const xmlNode *c = party->children; c != NULL; c = c->next) {
            const xmlNode *first = NULL, *only = NULL;
            if (pass == 0) {
                if (!named(c, CBC, "EndpointID")) continue;
                only = c;
            } else {
                if (!named(c, CAC, "PartyIdentification")) continue;
                first = c->children;
            }
            for (const xmlNode *d = only != NULL ? only : first; d != NULL;
                 d = only != NULL ? NULL : d->next) {
                if (only == NULL && !named(d, CBC, "ID")) continue;
                PyObject *t = leading_text(d, &odd);
                if (odd) goto odd;
                if (t == NULL) goto done;
                if (append_new(ids, Py_BuildValue("(NNN)", t, attribute_or_none(d, "schemeID"),
                                                  attribute_or_none(d, "schemeAgencyID"))) < 0)
                    goto done;
            }
        }
    }
    out = Py_BuildValue("(OOONN)", legal, tax, ids, leaf_text(registration), leaf_text(name));
    goto done;
odd:
    out = Py_NewRef(Py_None);
done:
    Py_XDECREF(legal);
    Py_XDECREF(tax);
    Py_XDECREF(ids);
    return out;
}

/* ubl_lines([line element, ...], quantity local name) -> [tuple or None, ...] */
static PyObject *ubl_lines(PyObject *self, PyObject *args) {
    PyObject *elements;
    const char *quantity_local;
    if (!PyArg_ParseTuple(args, "O!s", &PyList_Type, &elements, &quantity_local)) return NULL;
    if (element_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "prepare() first");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(elements);
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(elements, i);
        if (!PyObject_TypeCheck(e, element_type) || ((ElementHead *)e)->_c_node == NULL) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "lxml elements are required");
            return NULL;
        }
        PyObject *v = line_values(((ElementHead *)e)->_c_node, quantity_local);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, v);
    }
    return out;
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
    {"ubl_lines", ubl_lines, METH_VARARGS, "The values of UBL line elements, or None for each."},
    {"ubl_party", ubl_party, METH_O, "The values of a UBL party element, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_xmlnative", "C14N and UBL line values over lxml's tree.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__xmlnative(void) {
    init_special();
    return PyModule_Create(&module);
}
