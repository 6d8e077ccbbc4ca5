#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "vreq/err.h"
#include "vreq/mem.h"
#include "yamlload.h"

/* One open collection while building a document. */
struct yl_frame {
    cJSON *node;
    char *key; /* mappings: the key waiting for its value, NULL when a key is expected */
};

struct yl_ctx {
    yaml_parser_t parser;
    cJSON *docs;
    cJSON *root; /* the current document's root, NULL until its first node */
    struct yl_frame *stack;
    size_t depth;
    char *err;
    size_t errcap;
};

static int yl_fail(struct yl_ctx *c, const yaml_mark_t *m, const char *fmt, ...) VR_PRINTF(3, 4);

static int yl_fail(struct yl_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
    if (c->errcap == 0)
        return VR_EPARSE;
    int n = snprintf(c->err, c->errcap, "line %zu, column %zu: ", m->line + 1, m->column + 1);
    if (n < 0 || (size_t)n >= c->errcap)
        return VR_EPARSE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
    va_end(ap);
    return VR_EPARSE;
}

/* ---- scalar resolution (go-yaml v2 resolve.go) ---- */

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return true;
    return false;
}

static const char *const yes_words[] = {"y",  "Y",  "yes", "Yes",  "YES",  "true",
                                        "True", "TRUE", "on", "On", "ON", NULL};
static const char *const no_words[] = {"n",  "N",  "no", "No",  "NO",  "false",
                                       "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};

/* Integer forms strconv.ParseInt(s, 0, 64) accepts after `_` removal. */
static bool parse_int(const char *s, double *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1] != '\0')
        base = 8, p += 1;
    if (*p == '\0' || *p == '+' || *p == '-' || isspace((unsigned char)*p))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, base);
    if (*end != '\0' || errno != 0 || v > (unsigned long long)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? -(double)v : (double)v;
    return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t lead = strspn(p, "0123456789");
    p += lead;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        if (lead == 0 && frac == 0)
            return false;
        p += 1 + frac;
    } else if (lead == 0) {
        return false;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        size_t ex = strspn(p, "0123456789");
        if (ex == 0)
            return false;
        p += ex;
    }
    return *p == '\0';
}

static cJSON *resolve_plain(const char *v, size_t n)
{
    if (in_list(v, null_words))
        return cJSON_CreateNull();
    if (in_list(v, yes_words))
        return cJSON_CreateTrue();
    if (in_list(v, no_words))
        return cJSON_CreateFalse();
    const char first = v[0];
    if (!(isdigit((unsigned char)first) || first == '-' || first == '+' || first == '.'))
        return cJSON_CreateString(v);
    char *plain = vr_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] != '_')
            plain[k++] = v[i];
    plain[k] = '\0';
    double d;
    cJSON *out = NULL;
    if (parse_int(plain, &d))
        out = cJSON_CreateNumber(d);
    else if (is_float(plain))
        out = cJSON_CreateNumber(strtod(plain, NULL));
    vr_free(plain);
    return out ? out : cJSON_CreateString(v);
}

static cJSON *scalar_node(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && strcmp(tag, YAML_STR_TAG) == 0)
        return cJSON_CreateString(v);
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(v);
    return resolve_plain(v, n);
}

/* ---- tree building ---- */

static int attach(struct yl_ctx *c, cJSON *node, const yaml_event_t *ev)
{
    if (c->depth == 0) {
        c->root = node;
        return 0;
    }
    struct yl_frame *top = &c->stack[c->depth - 1];
    if (cJSON_IsArray(top->node)) {
        cJSON_AddItemToArray(top->node, node);
        return 0;
    }
    char *key = top->key;
    top->key = NULL;
    if (cJSON_GetObjectItemCaseSensitive(top->node, key)) {
        int rc = yl_fail(c, &ev->start_mark, "duplicate mapping key \"%.64s\"", key);
        vr_free(key);
        cJSON_Delete(node);
        return rc;
    }
    cJSON_AddItemToObject(top->node, key, node);
    vr_free(key);
    return 0;
}

static bool expecting_key(const struct yl_ctx *c)
{
    if (c->depth == 0)
        return false;
    const struct yl_frame *top = &c->stack[c->depth - 1];
    return cJSON_IsObject(top->node) && top->key == NULL;
}

static int on_scalar(struct yl_ctx *c, const yaml_event_t *ev)
{
    if (expecting_key(c)) {
        const char *v = (const char *)ev->data.scalar.value;
        if (strcmp(v, "<<") == 0 && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return yl_fail(c, &ev->start_mark, "merge keys (<<) are not supported");
        c->stack[c->depth - 1].key = vr_xstrndup(v, ev->data.scalar.length);
        return 0;
    }
    return attach(c, scalar_node(ev), ev);
}

static int on_open(struct yl_ctx *c, const yaml_event_t *ev, bool map)
{
    if (expecting_key(c))
        return yl_fail(c, &ev->start_mark, "mapping keys must be scalars");
    if (c->depth >= KS_YAML_MAX_DEPTH)
        return yl_fail(c, &ev->start_mark, "nesting deeper than %d levels", KS_YAML_MAX_DEPTH);
    cJSON *node = map ? cJSON_CreateObject() : cJSON_CreateArray();
    int rc = attach(c, node, ev);
    if (rc < 0)
        return rc;
    c->stack[c->depth].node = node;
    c->stack[c->depth].key = NULL;
    c->depth++;
    return 0;
}

static void on_document_end(struct yl_ctx *c)
{
    cJSON_AddItemToArray(c->docs, c->root ? c->root : cJSON_CreateNull());
    c->root = NULL;
}

/* Handles one event; *done set at the end of the stream. */
static int on_event(struct yl_ctx *c, const yaml_event_t *ev, bool *done)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(c, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_open(c, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_open(c, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        c->depth--;
        return 0;
    case YAML_ALIAS_EVENT:
        return yl_fail(c, &ev->start_mark, "aliases (*%.64s) are not supported",
                       (const char *)ev->data.alias.anchor);
    case YAML_DOCUMENT_END_EVENT:
        on_document_end(c);
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_START_EVENT:
        return 0;
    }
    return 0;
}

static int parser_error(struct yl_ctx *c)
{
    const yaml_parser_t *p = &c->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        return yl_fail(c, &p->problem_mark, "%s %s", p->context, problem);
    return yl_fail(c, &p->problem_mark, "%s", problem);
}

static int run_parser(struct yl_ctx *c)
{
    bool done = false;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&c->parser, &ev))
            return parser_error(c);
        int rc = on_event(c, &ev, &done);
        yaml_event_delete(&ev);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whole-text JSON fast path: object files may hold 100k objects. */
static cJSON *try_json(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i == len || (text[i] != '{' && text[i] != '['))
        return NULL;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!doc)
        return NULL;
    for (size_t k = (size_t)(end - text); k < len; k++) {
        if (!isspace((unsigned char)text[k]) && text[k] != '\0') {
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}

int ks_yaml_load(const char *text, size_t len, cJSON **out, char *err, size_t errcap)
{
    if (errcap > 0)
        err[0] = '\0';
    cJSON *json = try_json(text, len);
    if (json) {
        cJSON *docs = cJSON_CreateArray();
        cJSON_AddItemToArray(docs, json);
        *out = docs;
        return 0;
    }
    struct yl_ctx c = {.docs = cJSON_CreateArray(), .err = err, .errcap = errcap};
    c.stack = vr_xcalloc(KS_YAML_MAX_DEPTH, sizeof(*c.stack));
    if (!yaml_parser_initialize(&c.parser))
        vr_panic("yaml_parser_initialize: out of memory");
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    int rc = run_parser(&c);
    for (size_t i = 0; i < c.depth; i++)
        vr_free(c.stack[i].key);
    cJSON_Delete(c.root); /* non-NULL only for a document cut short by an error */
    yaml_parser_delete(&c.parser);
    vr_free(c.stack);
    if (rc < 0) {
        cJSON_Delete(c.docs);
        return rc;
    }
    *out = c.docs;
    return 0;
}
