/*
 * The kubeconfig parser: libyaml's document API -> named clusters, users and contexts,
 * merging, and selection of one context. Pure: no I/O, no clock, no logging (the loader
 * is kube/kubeconfig_load.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "core/common.h"
#include "kube/kubeconfig.h"
#include "kube/kubeconfig_int.h"
#include "vreq/err.h"
#include "vreq/mem.h"

struct kc_cluster {
    char *name;
    char *server;
    char *ca_file;
    char *ca_data;
    size_t ca_data_len;
    bool insecure;
    bool has_tls_server_name;
    bool has_proxy_url;
    size_t src; /* index into paths of the file that defined it */
};

struct kc_user {
    char *name;
    char *token;
    char *token_file;
    char *cert_file;
    char *cert_data;
    size_t cert_data_len;
    char *key_file;
    char *key_data;
    size_t key_data_len;
    char *exec_command;
    char *auth_provider;
    bool has_exec;
    bool has_auth_provider;
    bool has_basic;
    bool has_impersonation;
    size_t src;
};

struct kc_context {
    char *name;
    char *cluster;
    char *user;
    char *namespace;
    size_t src;
};

struct vr_kubeconfig {
    struct kc_cluster *clusters;
    size_t n_clusters;
    struct kc_user *users;
    size_t n_users;
    struct kc_context *contexts;
    size_t n_contexts;
    char *current_context;
    size_t current_src;
    char **paths; /* files merged in, in order; an element may be NULL */
    size_t n_paths;
};

struct kc_parse {
    yaml_document_t doc;
    const char *path;
    char *dir; /* resolves relative paths; NULL = leave them */
    struct vr_kubeconfig *kc;
    char *err;
    size_t errlen;
};

/* ---- messages ---- */

void vr__kc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    /* Names and values come from the file: keep the message on one printable line. */
    for (char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static int fail(struct kc_parse *p, const yaml_mark_t *m, const char *fmt, ...) VR_PRINTF(3, 4);

/* "PATH: line L, column C: what" */
static int fail(struct kc_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (n < 0)
        what[0] = '\0';
    const char *path = p->path ? p->path : "kubeconfig";
    if (m)
        vr__kc_errf(p->err, p->errlen, "%s: line %zu, column %zu: %s", path, m->line + 1,
                    m->column + 1, what);
    else
        vr__kc_errf(p->err, p->errlen, "%s: %s", path, what);
    return VR_ECONFIG;
}

/* ---- YAML node access ---- */

static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < VR_ARRAY_SIZE(nulls); i++)
        if (n->data.scalar.length == strlen(nulls[i]) &&
            memcmp(n->data.scalar.value, nulls[i], n->data.scalar.length) == 0)
            return true;
    return false;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* The value of key in mapping map, or NULL (absent or null). */
static yaml_node_t *map_get(struct kc_parse *p, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        if (scalar_is(yaml_document_get_node(&p->doc, pr->key), key)) {
            yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
            return is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

/* *out = a copy of the string at key, or NULL when absent/null/"". */
static int get_str(struct kc_parse *p, const yaml_node_t *map, const char *key, const char *what,
                   char **out)
{
    yaml_node_t *n = map_get(p, map, key);
    *out = NULL;
    if (!n)
        return 0;
    if (n->type != YAML_SCALAR_NODE)
        return fail(p, &n->start_mark, "%s: %s must be a string", what, key);
    if (n->data.scalar.length > 0)
        *out = vr_xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
    return 0;
}

static int get_bool(struct kc_parse *p, const yaml_node_t *map, const char *key, const char *what,
                    bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    yaml_node_t *n = map_get(p, map, key);
    *out = false;
    if (!n)
        return 0;
    for (size_t i = 0; i < VR_ARRAY_SIZE(yes); i++) {
        if (scalar_is(n, yes[i])) {
            *out = true;
            return 0;
        }
        if (scalar_is(n, no[i]))
            return 0;
    }
    return fail(p, &n->start_mark, "%s: %s must be true or false", what, key);
}

/* A file path, resolved against the kubeconfig's directory when relative. */
static int get_path(struct kc_parse *p, const yaml_node_t *map, const char *key, const char *what,
                    char **out)
{
    int rc = get_str(p, map, key, what, out);
    if (rc < 0 || !*out || (*out)[0] == '/' || !p->dir)
        return rc;
    char *abs = vr_xasprintf("%s/%s", p->dir, *out);
    vr_free(*out);
    *out = abs;
    return 0;
}

/* Strict base64 (RFC 4648 alphabet, padding required, line breaks allowed, like Go's
 * StdEncoding). Returns -1 on success, else the offset of the first bad byte. */
static long b64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == ' ' ||
                  c == '\t';
        if (!ok)
            return (long)i;
    }
    if (n > (size_t)VR_KUBECONFIG_MAX)
        return 0;
    unsigned char *buf = vr_xmalloc(n + 1);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    vr_assert(ctx != NULL);
    int len = 0, fin = 0;
    EVP_DecodeInit(ctx);
    int rc = EVP_DecodeUpdate(ctx, buf, &len, (const unsigned char *)s, (int)n);
    if (rc >= 0)
        rc = EVP_DecodeFinal(ctx, buf + len, &fin);
    EVP_ENCODE_CTX_free(ctx);
    if (rc < 0) {
        ERR_clear_error();
        vr_free_secret(buf, n + 1);
        return (long)n;
    }
    buf[(size_t)len + (size_t)fin] = '\0';
    *out = (char *)buf;
    *outlen = (size_t)len + (size_t)fin;
    return -1;
}

/* A base64 -data field, decoded (NUL-terminated); NULL when absent or empty. */
static int get_data(struct kc_parse *p, const yaml_node_t *map, const char *key, const char *what,
                    char **out, size_t *outlen)
{
    yaml_node_t *n = map_get(p, map, key);
    *out = NULL;
    *outlen = 0;
    if (!n)
        return 0;
    if (n->type != YAML_SCALAR_NODE)
        return fail(p, &n->start_mark, "%s: %s must be a base64 string", what, key);
    long bad = b64_decode((const char *)n->data.scalar.value, n->data.scalar.length, out, outlen);
    if (bad >= 0)
        return fail(p, &n->start_mark, "%s: %s is not valid base64 (at byte %ld)", what, key, bad);
    if (*outlen == 0) {
        vr_free(*out);
        *out = NULL;
    }
    return 0;
}

/* ---- entries ---- */

static struct kc_cluster *find_cluster(const struct vr_kubeconfig *kc, const char *name)
{
    for (size_t i = 0; i < kc->n_clusters; i++)
        if (strcmp(kc->clusters[i].name, name) == 0)
            return &kc->clusters[i];
    return NULL;
}

static struct kc_user *find_user(const struct vr_kubeconfig *kc, const char *name)
{
    for (size_t i = 0; i < kc->n_users; i++)
        if (strcmp(kc->users[i].name, name) == 0)
            return &kc->users[i];
    return NULL;
}

static struct kc_context *find_context(const struct vr_kubeconfig *kc, const char *name)
{
    for (size_t i = 0; i < kc->n_contexts; i++)
        if (strcmp(kc->contexts[i].name, name) == 0)
            return &kc->contexts[i];
    return NULL;
}

static void cluster_cleanup(struct kc_cluster *c)
{
    vr_free(c->name);
    vr_free(c->server);
    vr_free(c->ca_file);
    vr_free(c->ca_data);
}

static void free_secret_str(char *s)
{
    if (s)
        vr_free_secret(s, strlen(s));
}

static void user_cleanup(struct kc_user *u)
{
    vr_free(u->name);
    free_secret_str(u->token);
    vr_free(u->token_file);
    vr_free(u->cert_file);
    vr_free(u->cert_data);
    vr_free(u->key_file);
    if (u->key_data)
        vr_free_secret(u->key_data, u->key_data_len);
    vr_free(u->exec_command);
    vr_free(u->auth_provider);
}

static void context_cleanup(struct kc_context *c)
{
    vr_free(c->name);
    vr_free(c->cluster);
    vr_free(c->user);
    vr_free(c->namespace);
}

static bool has_key(struct kc_parse *p, const yaml_node_t *map, const char *key)
{
    return map_get(p, map, key) != NULL;
}

static int parse_cluster(struct kc_parse *p, char *name, const yaml_node_t *body)
{
    struct kc_cluster c = {.name = name};
    char what[300];
    (void)snprintf(what, sizeof(what), "cluster \"%s\"", name);
    int rc = get_str(p, body, "server", what, &c.server);
    if (rc == 0)
        rc = get_path(p, body, "certificate-authority", what, &c.ca_file);
    if (rc == 0)
        rc = get_data(p, body, "certificate-authority-data", what, &c.ca_data, &c.ca_data_len);
    if (rc == 0)
        rc = get_bool(p, body, "insecure-skip-tls-verify", what, &c.insecure);
    if (rc < 0) {
        cluster_cleanup(&c);
        return rc;
    }
    c.has_tls_server_name = has_key(p, body, "tls-server-name");
    c.has_proxy_url = has_key(p, body, "proxy-url");
    struct vr_kubeconfig *kc = p->kc;
    kc->clusters = vr_xrealloc(kc->clusters, (kc->n_clusters + 1) * sizeof(c));
    kc->clusters[kc->n_clusters++] = c;
    return 0;
}

static int parse_user_creds(struct kc_parse *p, const yaml_node_t *body, const char *what,
                            struct kc_user *u)
{
    int rc = get_str(p, body, "token", what, &u->token);
    if (rc == 0)
        rc = get_path(p, body, "tokenFile", what, &u->token_file);
    if (rc == 0)
        rc = get_path(p, body, "client-certificate", what, &u->cert_file);
    if (rc == 0)
        rc = get_data(p, body, "client-certificate-data", what, &u->cert_data, &u->cert_data_len);
    if (rc == 0)
        rc = get_path(p, body, "client-key", what, &u->key_file);
    if (rc == 0)
        rc = get_data(p, body, "client-key-data", what, &u->key_data, &u->key_data_len);
    return rc;
}

static int parse_user(struct kc_parse *p, char *name, const yaml_node_t *body)
{
    struct kc_user u = {.name = name};
    char what[300];
    (void)snprintf(what, sizeof(what), "user \"%s\"", name);
    int rc = parse_user_creds(p, body, what, &u);
    yaml_node_t *exec = map_get(p, body, "exec");
    yaml_node_t *ap = map_get(p, body, "auth-provider");
    if (rc == 0 && exec)
        rc = get_str(p, exec, "command", what, &u.exec_command);
    if (rc == 0 && ap)
        rc = get_str(p, ap, "name", what, &u.auth_provider);
    if (rc < 0) {
        user_cleanup(&u);
        return rc;
    }
    u.has_exec = exec != NULL;
    u.has_auth_provider = ap != NULL;
    u.has_basic = has_key(p, body, "username") || has_key(p, body, "password");
    u.has_impersonation = has_key(p, body, "as") || has_key(p, body, "as-groups") ||
                          has_key(p, body, "as-uid") || has_key(p, body, "as-user-extra");
    struct vr_kubeconfig *kc = p->kc;
    kc->users = vr_xrealloc(kc->users, (kc->n_users + 1) * sizeof(u));
    kc->users[kc->n_users++] = u;
    return 0;
}

static int parse_context(struct kc_parse *p, char *name, const yaml_node_t *body)
{
    struct kc_context c = {.name = name};
    char what[300];
    (void)snprintf(what, sizeof(what), "context \"%s\"", name);
    int rc = get_str(p, body, "cluster", what, &c.cluster);
    if (rc == 0)
        rc = get_str(p, body, "user", what, &c.user);
    if (rc == 0)
        rc = get_str(p, body, "namespace", what, &c.namespace);
    if (rc < 0) {
        context_cleanup(&c);
        return rc;
    }
    struct vr_kubeconfig *kc = p->kc;
    kc->contexts = vr_xrealloc(kc->contexts, (kc->n_contexts + 1) * sizeof(c));
    kc->contexts[kc->n_contexts++] = c;
    return 0;
}

/* One kind of named list: "clusters" of {name, cluster: {...}}, and so on. */
struct kc_list {
    const char *key;   /* "clusters" */
    const char *inner; /* "cluster" */
    int (*parse)(struct kc_parse *p, char *name, const yaml_node_t *body);
    bool (*exists)(const struct vr_kubeconfig *kc, const char *name);
};

static bool cluster_exists(const struct vr_kubeconfig *kc, const char *name)
{
    return find_cluster(kc, name) != NULL;
}

static bool user_exists(const struct vr_kubeconfig *kc, const char *name)
{
    return find_user(kc, name) != NULL;
}

static bool context_exists(const struct vr_kubeconfig *kc, const char *name)
{
    return find_context(kc, name) != NULL;
}

static const struct kc_list kc_lists[] = {
    {"clusters", "cluster", parse_cluster, cluster_exists},
    {"users", "user", parse_user, user_exists},
    {"contexts", "context", parse_context, context_exists},
};

static int parse_item(struct kc_parse *p, const struct kc_list *l, size_t i,
                      const yaml_node_t *item)
{
    if (item->type != YAML_MAPPING_NODE)
        return fail(p, &item->start_mark, "%s[%zu] must be a mapping", l->key, i);
    char *name = NULL;
    char what[64];
    (void)snprintf(what, sizeof(what), "%s[%zu]", l->key, i);
    int rc = get_str(p, item, "name", what, &name);
    if (rc < 0)
        return rc;
    if (!name)
        return fail(p, &item->start_mark, "%s[%zu] has no name", l->key, i);
    if (l->exists(p->kc, name)) {
        rc = fail(p, &item->start_mark, "duplicate name \"%s\" in %s", name, l->key);
        vr_free(name);
        return rc;
    }
    yaml_node_t *body = map_get(p, item, l->inner);
    if (body && body->type != YAML_MAPPING_NODE) {
        vr_free(name);
        return fail(p, &body->start_mark, "%s[%zu].%s must be a mapping", l->key, i, l->inner);
    }
    return l->parse(p, name, body); /* takes name */
}

static int parse_list(struct kc_parse *p, const yaml_node_t *root, const struct kc_list *l)
{
    yaml_node_t *seq = map_get(p, root, l->key);
    if (!seq)
        return 0;
    if (seq->type != YAML_SEQUENCE_NODE)
        return fail(p, &seq->start_mark, "%s must be a list", l->key);
    size_t i = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *item = yaml_document_get_node(&p->doc, *it);
        int rc = item ? parse_item(p, l, i, item) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_root(struct kc_parse *p)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (!root || is_null(root))
        return 0; /* an empty file is an empty config */
    if (root->type != YAML_MAPPING_NODE)
        return fail(p, &root->start_mark, "the top level must be a mapping");
    for (size_t i = 0; i < VR_ARRAY_SIZE(kc_lists); i++) {
        int rc = parse_list(p, root, &kc_lists[i]);
        if (rc < 0)
            return rc;
    }
    return get_str(p, root, "current-context", "kubeconfig", &p->kc->current_context);
}

static char *dir_of(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return NULL;
    if (slash == path)
        return vr_xstrdup("/");
    return vr_xstrndup(path, (size_t)(slash - path));
}

static int load_doc(struct kc_parse *p, const char *data, size_t len)
{
    yaml_parser_t parser;
    vr_assert(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    int rc = 0;
    if (!yaml_parser_load(&parser, &p->doc)) {
        const char *problem = parser.problem ? parser.problem : "malformed YAML";
        if (parser.context)
            rc = fail(p, &parser.problem_mark, "%s (%s)", problem, parser.context);
        else
            rc = fail(p, &parser.problem_mark, "%s", problem);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int vr_kubeconfig_parse(const char *data, size_t len, const char *path, struct vr_kubeconfig **out,
                        char *err, size_t errlen)
{
    struct kc_parse p = {.path = path, .err = err, .errlen = errlen};
    if (len > VR_KUBECONFIG_MAX)
        return fail(&p, NULL, "larger than %zu bytes", VR_KUBECONFIG_MAX);
    int rc = load_doc(&p, data, len);
    if (rc < 0)
        return rc;
    p.kc = vr_xcalloc(1, sizeof(*p.kc));
    p.dir = dir_of(path);
    rc = parse_root(&p);
    yaml_document_delete(&p.doc);
    vr_free(p.dir);
    if (rc < 0) {
        vr_kubeconfig_free(p.kc);
        return rc;
    }
    p.kc->paths = vr_xmalloc(sizeof(char *));
    p.kc->paths[0] = path ? vr_xstrdup(path) : NULL;
    p.kc->n_paths = 1;
    *out = p.kc;
    return 0;
}

void vr_kubeconfig_free(struct vr_kubeconfig *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->n_clusters; i++)
        cluster_cleanup(&kc->clusters[i]);
    for (size_t i = 0; i < kc->n_users; i++)
        user_cleanup(&kc->users[i]);
    for (size_t i = 0; i < kc->n_contexts; i++)
        context_cleanup(&kc->contexts[i]);
    for (size_t i = 0; i < kc->n_paths; i++)
        vr_free(kc->paths[i]);
    vr_free(kc->clusters);
    vr_free(kc->users);
    vr_free(kc->contexts);
    vr_free(kc->current_context);
    vr_free(kc->paths);
    vr_free(kc);
}

bool vr_kubeconfig_is_empty(const struct vr_kubeconfig *kc)
{
    return kc->n_clusters == 0 && kc->n_users == 0 && kc->n_contexts == 0 && !kc->current_context;
}

/* ---- merging ---- */

static void merge_clusters(struct vr_kubeconfig *dst, struct vr_kubeconfig *src, size_t base)
{
    for (size_t i = 0; i < src->n_clusters; i++) {
        struct kc_cluster *c = &src->clusters[i];
        if (find_cluster(dst, c->name)) {
            cluster_cleanup(c);
            continue;
        }
        c->src += base;
        dst->clusters = vr_xrealloc(dst->clusters, (dst->n_clusters + 1) * sizeof(*c));
        dst->clusters[dst->n_clusters++] = *c;
    }
}

static void merge_users(struct vr_kubeconfig *dst, struct vr_kubeconfig *src, size_t base)
{
    for (size_t i = 0; i < src->n_users; i++) {
        struct kc_user *u = &src->users[i];
        if (find_user(dst, u->name)) {
            user_cleanup(u);
            continue;
        }
        u->src += base;
        dst->users = vr_xrealloc(dst->users, (dst->n_users + 1) * sizeof(*u));
        dst->users[dst->n_users++] = *u;
    }
}

static void merge_contexts(struct vr_kubeconfig *dst, struct vr_kubeconfig *src, size_t base)
{
    for (size_t i = 0; i < src->n_contexts; i++) {
        struct kc_context *c = &src->contexts[i];
        if (find_context(dst, c->name)) {
            context_cleanup(c);
            continue;
        }
        c->src += base;
        dst->contexts = vr_xrealloc(dst->contexts, (dst->n_contexts + 1) * sizeof(*c));
        dst->contexts[dst->n_contexts++] = *c;
    }
}

void vr_kubeconfig_merge_take(struct vr_kubeconfig *dst, struct vr_kubeconfig *src)
{
    size_t base = dst->n_paths;
    dst->paths = vr_xrealloc(dst->paths, (dst->n_paths + src->n_paths) * sizeof(char *));
    for (size_t i = 0; i < src->n_paths; i++)
        dst->paths[dst->n_paths++] = src->paths[i];
    merge_clusters(dst, src, base);
    merge_users(dst, src, base);
    merge_contexts(dst, src, base);
    if (!dst->current_context && src->current_context) {
        dst->current_context = src->current_context;
        dst->current_src = src->current_src + base;
        src->current_context = NULL;
    }
    /* Every entry now lives in dst or was freed: drop only src's arrays. */
    src->n_clusters = src->n_users = src->n_contexts = src->n_paths = 0;
    vr_kubeconfig_free(src);
}

/* ---- selection ---- */

static const char *path_of(const struct vr_kubeconfig *kc, size_t src)
{
    return src < kc->n_paths && kc->paths[src] ? kc->paths[src] : "kubeconfig";
}

static int select_context(const struct vr_kubeconfig *kc, const char *name,
                          const struct kc_context **out, char *err, size_t errlen)
{
    bool override = name && name[0];
    if (!override)
        name = kc->current_context;
    if (!name) {
        vr__kc_errf(err, errlen,
                    "%s: no current-context is set and no context was given (--context)",
                    kc->n_paths ? path_of(kc, 0) : "kubeconfig");
        return VR_ECONFIG;
    }
    *out = find_context(kc, name);
    if (*out)
        return 0;
    if (override)
        vr__kc_errf(err, errlen, "context \"%s\" does not exist in the kubeconfig", name);
    else
        vr__kc_errf(err, errlen, "%s: current-context \"%s\" names a context that does not exist",
                    path_of(kc, kc->current_src), name);
    return VR_ECONFIG;
}

static int check_cluster(const struct kc_cluster *cl, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!cl->server)
        why = "has no server";
    else if (cl->insecure && (cl->ca_file || cl->ca_data))
        why = "sets both a certificate authority and insecure-skip-tls-verify (client-go "
              "rejects that too)";
    else if (cl->has_tls_server_name)
        why = "uses tls-server-name, which vreq does not support";
    else if (cl->has_proxy_url)
        why = "uses proxy-url, which vreq does not support (use HTTPS_PROXY)";
    if (!why)
        return 0;
    vr__kc_errf(err, errlen, "cluster \"%s\" %s", cl->name, why);
    return VR_ECONFIG;
}

static int check_user(const struct kc_user *u, char *err, size_t errlen)
{
    bool has_cert = u->cert_file || u->cert_data, has_key = u->key_file || u->key_data;
    bool has_other = u->token || u->token_file || has_cert;
    if (u->has_exec)
        vr__kc_errf(err, errlen,
                    "user \"%s\" uses an exec credential plugin (command \"%s\"), which vreq "
                    "does not support; use a token, tokenFile or client certificate",
                    u->name, u->exec_command ? u->exec_command : "");
    else if (u->has_auth_provider)
        vr__kc_errf(err, errlen,
                    "user \"%s\" uses auth-provider \"%s\", which vreq does not support; use a "
                    "token, tokenFile or client certificate",
                    u->name, u->auth_provider ? u->auth_provider : "");
    else if (u->has_impersonation)
        vr__kc_errf(err, errlen, "user \"%s\" uses impersonation (as), which vreq does not support",
                    u->name);
    else if (has_cert && !has_key)
        vr__kc_errf(err, errlen, "user \"%s\" has a client certificate but no client-key(-data)",
                    u->name);
    else if (has_key && !has_cert)
        vr__kc_errf(err, errlen, "user \"%s\" has a client key but no client-certificate(-data)",
                    u->name);
    else if (u->has_basic && !has_other)
        vr__kc_errf(err, errlen,
                    "user \"%s\" has only basic auth (username/password), which vreq does not "
                    "support; use a token, tokenFile or client certificate",
                    u->name);
    else
        return 0;
    return VR_ECONFIG;
}

static void fill_user(const struct kc_user *u, struct vr_kubeconfig_sel *s)
{
    s->user = u->name;
    s->token = u->token;
    s->token_file = u->token_file;
    s->cert_data = u->cert_data;
    s->cert_data_len = u->cert_data_len;
    s->cert_file = u->cert_data ? NULL : u->cert_file;
    s->key_data = u->key_data;
    s->key_data_len = u->key_data_len;
    s->key_file = u->key_data ? NULL : u->key_file;
}

static int select_user(const struct vr_kubeconfig *kc, const struct kc_context *ctx,
                       struct vr_kubeconfig_sel *s, char *err, size_t errlen)
{
    if (!ctx->user)
        return 0; /* anonymous */
    const struct kc_user *u = find_user(kc, ctx->user);
    if (!u) {
        vr__kc_errf(err, errlen, "context \"%s\" names user \"%s\", which is not defined",
                    ctx->name, ctx->user);
        return VR_ECONFIG;
    }
    int rc = check_user(u, err, errlen);
    if (rc == 0)
        fill_user(u, s);
    return rc;
}

int vr_kubeconfig_select(const struct vr_kubeconfig *kc, const char *context,
                         struct vr_kubeconfig_sel *out, char *err, size_t errlen)
{
    const struct kc_context *ctx;
    int rc = select_context(kc, context, &ctx, err, errlen);
    if (rc < 0)
        return rc;
    if (!ctx->cluster) {
        vr__kc_errf(err, errlen, "context \"%s\" names no cluster", ctx->name);
        return VR_ECONFIG;
    }
    const struct kc_cluster *cl = find_cluster(kc, ctx->cluster);
    if (!cl) {
        vr__kc_errf(err, errlen, "context \"%s\" names cluster \"%s\", which is not defined",
                    ctx->name, ctx->cluster);
        return VR_ECONFIG;
    }
    rc = check_cluster(cl, err, errlen);
    if (rc < 0)
        return rc;
    struct vr_kubeconfig_sel s = {
        .path = ctx->src < kc->n_paths ? kc->paths[ctx->src] : NULL,
        .context = ctx->name,
        .cluster = cl->name,
        .server = cl->server,
        .namespace = ctx->namespace ? ctx->namespace : "default",
        .ca_data = cl->ca_data,
        .ca_data_len = cl->ca_data_len,
        .ca_file = cl->ca_data ? NULL : cl->ca_file,
        .insecure_skip_tls_verify = cl->insecure,
    };
    rc = select_user(kc, ctx, &s, err, errlen);
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}
