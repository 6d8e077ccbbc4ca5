/*
 * kubeconfig parser, merge, selection and loader (kube/kubeconfig.h): every rule of
 * kube-api.md §6.1-6.5 and every error with its message. Loader tests use the fixtures
 * in test/fixtures/kubeconfig and temp directories made here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/config.h"
#include "kube/kubeconfig.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

static char err[512];

/* ---- helpers ---- */

static struct vr_kubeconfig *parse_ok(const char *yaml, const char *path)
{
    struct vr_kubeconfig *kc = NULL;
    err[0] = '\0';
    int rc = vr_kubeconfig_parse(yaml, strlen(yaml), path, &kc, err, sizeof(err));
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    assert_non_null(kc);
    return kc;
}

/* Parsing fails with VR_ECONFIG and a message containing want. */
static void parse_err(const char *yaml, const char *want)
{
    struct vr_kubeconfig *kc = NULL;
    err[0] = '\0';
    assert_int_equal(vr_kubeconfig_parse(yaml, strlen(yaml), "/k/config", &kc, err, sizeof(err)),
                     VR_ECONFIG);
    assert_null(kc);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    assert_null(strchr(err, '\n'));
}

/* Parses yaml, selects context and expects VR_ECONFIG with want in the message. */
static void select_err(const char *yaml, const char *context, const char *want)
{
    struct vr_kubeconfig *kc = parse_ok(yaml, "/k/config");
    struct vr_kubeconfig_sel s = {.server = "untouched"};
    err[0] = '\0';
    assert_int_equal(vr_kubeconfig_select(kc, context, &s, err, sizeof(err)), VR_ECONFIG);
    assert_string_equal(s.server, "untouched"); /* out-param written only on success */
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    vr_kubeconfig_free(kc);
}

static void select_ok(struct vr_kubeconfig *kc, const char *context, struct vr_kubeconfig_sel *s)
{
    err[0] = '\0';
    if (vr_kubeconfig_select(kc, context, s, err, sizeof(err)) != 0)
        fail_msg("select failed: %s", err);
}

static const char *fixtures(void)
{
    const char *f = getenv("VR_FIXTURES");
    assert_non_null(f);
    return f;
}

static char *fixture_path(const char *name)
{
    return vr_xasprintf("%s/kubeconfig/%s", fixtures(), name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    return vr_xstrndup(buf, n);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/vr-kubeconfig-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return vr_xstrdup(tmpl);
}

static void rm_file(const char *dir, const char *name)
{
    char *p = vr_xasprintf("%s/%s", dir, name);
    unlink(p);
    vr_free(p);
}

static void rm_tmpdir(char *dir, const char *const *names)
{
    for (; *names; names++)
        rm_file(dir, *names);
    assert_int_equal(rmdir(dir), 0);
    vr_free(dir);
}

static int load(const struct vr_kube_config_opts *o, struct vr_kube_config *c)
{
    err[0] = '\0';
    return vr_kube_config_load(o, c, err, sizeof(err));
}

static void load_ok(const struct vr_kube_config_opts *o, struct vr_kube_config *c)
{
    if (load(o, c) != 0)
        fail_msg("load failed: %s", err);
}

static void load_err(const struct vr_kube_config_opts *o, int want_rc, const char *want)
{
    struct vr_kube_config c = {.server = NULL};
    assert_int_equal(load(o, &c), want_rc);
    assert_null(c.server);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    assert_null(strchr(err, '\n'));
}

/* ---- parsing and selection ---- */

static const char *const two_contexts =
    "clusters:\n"
    "- name: a\n"
    "  cluster: {server: 'https://a.example.com', certificate-authority: ca/a.pem}\n"
    "- name: b\n"
    "  cluster: {server: 'http://b.example.com'}\n"
    "users:\n"
    "- name: ua\n"
    "  user: {token: tok-a, client-certificate: /abs/cert.pem, client-key: key.pem}\n"
    "contexts:\n"
    "- name: ca\n"
    "  context: {cluster: a, user: ua, namespace: velero}\n"
    "- name: cb\n"
    "  context: {cluster: b}\n"
    "current-context: ca\n";

static void test_select_current_and_override(void **state)
{
    (void)state;
    struct vr_kubeconfig *kc = parse_ok(two_contexts, "/etc/kube/config");
    struct vr_kubeconfig_sel s;
    select_ok(kc, NULL, &s);
    assert_string_equal(s.context, "ca");
    assert_string_equal(s.cluster, "a");
    assert_string_equal(s.user, "ua");
    assert_string_equal(s.server, "https://a.example.com");
    assert_string_equal(s.namespace, "velero");
    assert_string_equal(s.token, "tok-a");
    assert_string_equal(s.path, "/etc/kube/config");
    /* Relative paths resolve against the kubeconfig's directory; absolute stay. */
    assert_string_equal(s.ca_file, "/etc/kube/ca/a.pem");
    assert_string_equal(s.cert_file, "/abs/cert.pem");
    assert_string_equal(s.key_file, "/etc/kube/key.pem");
    assert_null(s.token_file);

    select_ok(kc, "cb", &s); /* --context */
    assert_string_equal(s.server, "http://b.example.com");
    assert_string_equal(s.namespace, "default");
    assert_null(s.user);
    assert_null(s.token);
    assert_null(s.ca_file);
    select_ok(kc, "", &s); /* "" = current-context */
    assert_string_equal(s.context, "ca");
    vr_kubeconfig_free(kc);
}

static void test_relative_paths_without_dir(void **state)
{
    (void)state;
    struct vr_kubeconfig *kc = parse_ok(two_contexts, NULL);
    struct vr_kubeconfig_sel s;
    select_ok(kc, NULL, &s);
    assert_string_equal(s.ca_file, "ca/a.pem");
    assert_null(s.path);
    vr_kubeconfig_free(kc);
    kc = parse_ok(two_contexts, "config"); /* no directory part */
    select_ok(kc, NULL, &s);
    assert_string_equal(s.ca_file, "ca/a.pem");
    vr_kubeconfig_free(kc);
    kc = parse_ok(two_contexts, "/config");
    select_ok(kc, NULL, &s);
    assert_string_equal(s.ca_file, "//ca/a.pem");
    vr_kubeconfig_free(kc);
}

static void test_json_and_yaml_features(void **state)
{
    (void)state;
    /* JSON is YAML; anchors and aliases work; null values are unset. */
    const char *y = "{\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": \"http://x\"}}],"
                    " \"contexts\": [{\"name\": \"x\", \"context\": {\"cluster\": \"c\","
                    " \"namespace\": null}}], \"current-context\": \"x\"}";
    struct vr_kubeconfig *kc = parse_ok(y, NULL);
    struct vr_kubeconfig_sel s;
    select_ok(kc, NULL, &s);
    assert_string_equal(s.server, "http://x");
    assert_string_equal(s.namespace, "default");
    vr_kubeconfig_free(kc);

    y = "clusters:\n- name: c\n  cluster: &cl {server: 'http://y'}\n"
        "- name: d\n  cluster: *cl\n"
        "users:\n- name: u\n  user: {token: ~, tokenFile: /t, username: null}\n"
        "contexts:\n- name: x\n  context: {cluster: d, user: u, namespace: }\n"
        "current-context: x\n";
    kc = parse_ok(y, NULL);
    select_ok(kc, NULL, &s);
    assert_string_equal(s.server, "http://y");
    assert_null(s.token);
    assert_string_equal(s.token_file, "/t");
    assert_string_equal(s.namespace, "default");
    vr_kubeconfig_free(kc);
}

static void test_data_fields(void **state)
{
    (void)state;
    /* "-----BEGIN CA-----\n" etc., base64 with a line break inside; -data wins over files. */
    const char *y = "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
                    "    certificate-authority: ca.pem\n"
                    "    certificate-authority-data: LS0tLS1CRUdJTiBD\n      QS0tLS0tCg==\n"
                    "users:\n- name: u\n  user:\n"
                    "    client-certificate: c.pem\n"
                    "    client-certificate-data: Y2VydA==\n"
                    "    client-key: k.pem\n"
                    "    client-key-data: a2V5\n"
                    "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                    "current-context: x\n";
    struct vr_kubeconfig *kc = parse_ok(y, "/d/config");
    struct vr_kubeconfig_sel s;
    select_ok(kc, NULL, &s);
    assert_int_equal(s.ca_data_len, 19);
    assert_memory_equal(s.ca_data, "-----BEGIN CA-----\n", 19);
    assert_null(s.ca_file);
    assert_int_equal(s.cert_data_len, 4);
    assert_memory_equal(s.cert_data, "cert", 4);
    assert_null(s.cert_file);
    assert_int_equal(s.key_data_len, 3);
    assert_memory_equal(s.key_data, "key", 3);
    assert_null(s.key_file);
    vr_kubeconfig_free(kc);
}

static void test_bad_base64(void **state)
{
    (void)state;
    parse_err("clusters:\n- name: c\n  cluster: {server: x, certificate-authority-data: '!!bad'}\n",
              "/k/config: line 3, column 52: cluster \"c\": certificate-authority-data is not "
              "valid base64 (at byte 0)");
    parse_err("users:\n- name: u\n  user: {client-key-data: abc}\n", /* no padding */
              "user \"u\": client-key-data is not valid base64");
    parse_err("users:\n- name: u\n  user: {client-certificate-data: 'YWJj-ZGVm'}\n",
              "client-certificate-data is not valid base64 (at byte 4)");
    parse_err("users:\n- name: u\n  user: {client-key-data: 'YQ==YQ=='}\n", /* data after padding */
              "user \"u\": client-key-data is not valid base64");
    parse_err("users:\n- name: u\n  user: {client-certificate-data: [a]}\n",
              "client-certificate-data must be a base64 string");
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    parse_err("clusters: [\n", "/k/config: line 2, column 1: did not find expected node content");
    parse_err("a: b\n c: d\n  e\n", "/k/config: line 2, column 3: mapping values are not allowed");
    parse_err("a: \"unterminated\n", "/k/config: line ");
    parse_err("\xff\xfe\x00", "/k/config: ");
    parse_err("- just\n- a list\n", "line 1, column 1: the top level must be a mapping");
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    parse_err("clusters: {a: b}\n", "line 1, column 11: clusters must be a list");
    parse_err("users:\n- just a string\n", "line 2, column 3: users[0] must be a mapping");
    parse_err("contexts:\n- context: {cluster: a}\n", "line 2, column 3: contexts[0] has no name");
    parse_err("clusters:\n- name: [x]\n", "line 2, column 9: clusters[0]: name must be a string");
    parse_err("clusters:\n- name: a\n  cluster: [1]\n",
              "line 3, column 12: clusters[0].cluster must be a mapping");
    parse_err("clusters:\n- name: a\n  cluster: {server: {x: 1}}\n",
              "line 3, column 21: cluster \"a\": server must be a string");
    parse_err("clusters:\n- name: a\n  cluster: {server: x, insecure-skip-tls-verify: maybe}\n",
              "cluster \"a\": insecure-skip-tls-verify must be true or false");
    parse_err("clusters:\n- name: a\n- name: b\n- name: a\n",
              "line 4, column 3: duplicate name \"a\" in clusters");
    parse_err("contexts:\n- name: x\n  context: {namespace: [a]}\n",
              "context \"x\": namespace must be a string");
    parse_err("current-context: [x]\n", "kubeconfig: current-context must be a string");
}

static void test_empty(void **state)
{
    (void)state;
    const char *empties[] = {"", "# only a comment\n", "{}", "---\n", "~\n", "preferences: {}\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        struct vr_kubeconfig *kc = parse_ok(empties[i], NULL);
        assert_true(vr_kubeconfig_is_empty(kc));
        vr_kubeconfig_free(kc);
    }
    struct vr_kubeconfig *kc = parse_ok("current-context: x\n", NULL);
    assert_false(vr_kubeconfig_is_empty(kc));
    vr_kubeconfig_free(kc);
    /* Over the cap before any byte is read. */
    struct vr_kubeconfig *out = NULL;
    assert_int_equal(vr_kubeconfig_parse("", VR_KUBECONFIG_MAX + 1, "/big", &out, err, sizeof(err)),
                     VR_ECONFIG);
    assert_null(out);
    assert_non_null(strstr(err, "/big: larger than"));
}

static const char *const ctx_base = "clusters:\n- name: c\n  cluster: {server: 'https://c'}\n"
                                    "- name: noserver\n  cluster: {}\n";

static void sel_err2(const char *rest, const char *context, const char *want)
{
    char *y = vr_xasprintf("%s%s", ctx_base, rest);
    select_err(y, context, want);
    vr_free(y);
}

static void test_select_errors(void **state)
{
    (void)state;
    sel_err2("", NULL, "/k/config: no current-context is set and no context was given (--context)");
    sel_err2("current-context: gone\n", NULL,
             "/k/config: current-context \"gone\" names a context that does not exist");
    sel_err2("contexts:\n- name: x\n  context: {cluster: c}\n", "other",
             "context \"other\" does not exist in the kubeconfig");
    sel_err2("contexts:\n- name: x\n  context: {cluster: nope}\n", "x",
             "context \"x\" names cluster \"nope\", which is not defined");
    sel_err2("contexts:\n- name: x\n  context: {user: u}\n", "x", "context \"x\" names no cluster");
    sel_err2("contexts:\n- name: x\n  context: {cluster: c, user: ghost}\n", "x",
             "context \"x\" names user \"ghost\", which is not defined");
    sel_err2("contexts:\n- name: x\n  context: {cluster: noserver}\n", "x",
             "cluster \"noserver\" has no server");
}

static void user_err(const char *user, const char *want)
{
    char *y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'https://c'}\n"
                           "users:\n- name: u\n  user: %s\n"
                           "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
                           user);
    select_err(y, "x", want);
    vr_free(y);
}

static void test_unsupported_user(void **state)
{
    (void)state;
    user_err("{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}",
             "user \"u\" uses an exec credential plugin (command \"aws\"), which vreq does not "
             "support; use a token, tokenFile or client certificate");
    user_err("{token: t, exec: {command: gke-gcloud-auth-plugin}}",
             "uses an exec credential plugin");
    user_err("{auth-provider: {name: oidc, config: {}}}",
             "user \"u\" uses auth-provider \"oidc\", which vreq does not support");
    user_err("{username: admin, password: secret}",
             "user \"u\" has only basic auth (username/password), which vreq does not support");
    user_err("{token: t, as: someone}", "user \"u\" uses impersonation (as)");
    user_err("{client-certificate: c.pem}",
             "user \"u\" has a client certificate but no client-key(-data)");
    user_err("{client-key-data: a2V5}",
             "user \"u\" has a client key but no client-certificate(-data)");
}

static void test_basic_auth_ignored_with_other_creds(void **state)
{
    (void)state;
    struct vr_kubeconfig *kc = parse_ok("clusters:\n- name: c\n  cluster: {server: 'https://c'}\n"
                                        "users:\n- name: u\n  user: {username: a, password: b,"
                                        " token: t}\n"
                                        "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
                                        NULL);
    struct vr_kubeconfig_sel s;
    select_ok(kc, "x", &s);
    assert_string_equal(s.token, "t");
    vr_kubeconfig_free(kc);
}

static void cluster_err(const char *cluster, const char *want)
{
    char *y = vr_xasprintf("clusters:\n- name: c\n  cluster: %s\n"
                           "contexts:\n- name: x\n  context: {cluster: c}\n",
                           cluster);
    select_err(y, "x", want);
    vr_free(y);
}

static void test_unsupported_cluster(void **state)
{
    (void)state;
    cluster_err("{server: 'https://c', insecure-skip-tls-verify: true, certificate-authority: /ca}",
                "cluster \"c\" sets both a certificate authority and insecure-skip-tls-verify");
    cluster_err("{server: 'https://c', insecure-skip-tls-verify: yes, "
                "certificate-authority-data: YQ==}",
                "sets both a certificate authority and insecure-skip-tls-verify");
    cluster_err("{server: 'https://c', tls-server-name: api}",
                "cluster \"c\" uses tls-server-name, which vreq does not support");
    cluster_err("{server: 'https://c', proxy-url: 'http://proxy:3128'}",
                "cluster \"c\" uses proxy-url, which vreq does not support");
}

static void test_merge_first_wins(void **state)
{
    (void)state;
    struct vr_kubeconfig *a = parse_ok("clusters:\n- name: s\n  cluster: {server: 'http://one'}\n"
                                       "contexts:\n- name: s\n  context: {cluster: s}\n",
                                       "/one");
    struct vr_kubeconfig *b = parse_ok("clusters:\n- name: s\n  cluster: {server: 'http://two'}\n"
                                       "- name: t\n  cluster: {server: 'http://three'}\n"
                                       "users:\n- name: u\n  user: {token: two}\n"
                                       "contexts:\n- name: s\n  context: {cluster: t}\n"
                                       "- name: t\n  context: {cluster: s, user: u}\n"
                                       "current-context: t\n",
                                       "/two");
    struct vr_kubeconfig *c = parse_ok("current-context: s\n", "/three");
    vr_kubeconfig_merge_take(a, b);
    vr_kubeconfig_merge_take(a, c);
    struct vr_kubeconfig_sel s;
    select_ok(a, NULL, &s); /* the first file setting current-context wins: "t" from /two */
    assert_string_equal(s.context, "t");
    assert_string_equal(s.path, "/two");
    assert_string_equal(s.server, "http://one"); /* cluster "s" from /one */
    assert_string_equal(s.token, "two");
    select_ok(a, "s", &s); /* context "s" from /one, not /two's */
    assert_string_equal(s.server, "http://one");
    assert_string_equal(s.path, "/one");
    vr_kubeconfig_free(a);
}

/* ---- loading ---- */

static void test_load_explicit(void **state)
{
    (void)state;
    char *path = fixture_path("basic.yaml");
    struct vr_kube_config_opts o = {
        .kubeconfig = path, .kubeconfig_env = "/nonexistent", .home = "/nonexistent"};
    struct vr_kube_config c;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://prod.example.com:6443"); /* trailing '/' dropped */
    assert_string_equal(c.namespace, "velero");
    assert_string_equal(c.token, "fixture-static-token");
    assert_null(c.token_file);
    assert_false(c.insecure_skip_tls_verify);
    char *ca = fixture_path("ca.pem"), *cert = fixture_path("client.pem"),
         *key = fixture_path("client-key.fake.pem");
    char *want_ca = read_all(ca), *want_cert = read_all(cert), *want_key = read_all(key);
    assert_string_equal(c.ca_pem, want_ca);
    assert_int_equal(c.ca_pem_len, strlen(want_ca));
    assert_string_equal(c.cert_pem, want_cert);
    assert_string_equal(c.key_pem, want_key);
    assert_int_equal(c.key_pem_len, strlen(want_key));
    char *src = vr_xasprintf("kubeconfig %s (context prod-admin)", path);
    assert_string_equal(c.source, src);
    vr_kube_config_cleanup(&c);

    o.context = "dev-robot";
    load_ok(&o, &c);
    assert_string_equal(c.server, "http://127.0.0.1:8080");
    assert_string_equal(c.namespace, "default");
    char *tok = fixture_path("token.txt");
    assert_string_equal(c.token_file, tok);
    assert_null(c.token);
    assert_null(c.ca_pem);
    assert_null(c.key_pem);
    vr_kube_config_cleanup(&c);
    vr_free(tok);
    vr_free(src);
    vr_free(want_ca);
    vr_free(want_cert);
    vr_free(want_key);
    vr_free(ca);
    vr_free(cert);
    vr_free(key);
    vr_free(path);
}

static void test_load_json_relative_kubeconfig_path(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    char *dir = vr_xasprintf("%s/kubeconfig", fixtures());
    assert_int_equal(chdir(dir), 0);
    struct vr_kube_config_opts o = {.kubeconfig = "basic.json"};
    struct vr_kube_config c;
    load_ok(&o, &c);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(c.server, "https://10.0.0.1");
    assert_true(c.insecure_skip_tls_verify);
    assert_string_equal(c.token, "json-token");
    assert_string_equal(c.namespace, "ns1");
    char *src = vr_xasprintf("kubeconfig %s/basic.json (context x)", dir);
    assert_string_equal(c.source, src); /* made absolute */
    vr_free(src);
    vr_kube_config_cleanup(&c);
    vr_free(dir);
}

static void test_load_kubeconfig_env_merge(void **state)
{
    (void)state;
    char *m1 = fixture_path("merge1.yaml"), *m2 = fixture_path("merge2.yaml"),
         *nc = fixture_path("nocurrent.yaml");
    /* Missing files and empty elements are skipped; the first definition wins. */
    char *env = vr_xasprintf("/nonexistent/a::%s:%s:%s", nc, m2, m1);
    struct vr_kube_config_opts o = {.kubeconfig_env = env, .home = "/nonexistent"};
    struct vr_kube_config c;
    load_ok(&o, &c); /* current-context "only2" from merge2; its context from nocurrent */
    assert_string_equal(c.server, "https://only2.example.com");
    assert_string_equal(c.namespace, "from-nocurrent");
    assert_null(c.token);
    vr_kube_config_cleanup(&c);
    o.context = "shared";
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://second.example.com");
    assert_string_equal(c.token, "second-token");
    assert_string_equal(c.namespace, "second");
    char *src = vr_xasprintf("kubeconfig %s (context shared)", m2);
    assert_string_equal(c.source, src);
    vr_free(src);
    vr_kube_config_cleanup(&c);
    vr_free(env);

    env = vr_xasprintf("%s:%s", m1, m2);
    o.kubeconfig_env = env;
    o.context = NULL;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://first.example.com");
    assert_string_equal(c.token, "first-token");
    assert_string_equal(c.namespace, "first");
    vr_kube_config_cleanup(&c);
    vr_free(env);
    vr_free(m1);
    vr_free(m2);
    vr_free(nc);
}

static void test_load_home_and_nothing(void **state)
{
    (void)state;
    char *home = make_tmpdir();
    char *kdir = vr_xasprintf("%s/.kube", home);
    struct vr_kube_config_opts o = {.home = home};
    char *want = vr_xasprintf("no Kubernetes configuration: no --kubeconfig, $KUBECONFIG is "
                              "unset, %s/.kube/config does not exist",
                              home);
    load_err(&o, VR_ECONFIG, want);
    assert_null(strstr(err, "not running in a cluster"));
    o.allow_in_cluster = true;
    load_err(&o, VR_ECONFIG, "and not running in a cluster (KUBERNETES_SERVICE_HOST or");
    assert_int_equal(mkdir(kdir, 0700), 0);
    char *cfgp = vr_xasprintf("%s/config", kdir);
    write_file(cfgp, "clusters:\n- name: c\n  cluster: {server: 'localhost:8080'}\n"
                     "contexts:\n- name: x\n  context: {cluster: c, namespace: home}\n"
                     "current-context: x\n");
    struct vr_kube_config c;
    load_ok(&o, &c);
    assert_string_equal(c.server, "http://localhost:8080"); /* no TLS settings -> http */
    assert_string_equal(c.namespace, "home");
    vr_kube_config_cleanup(&c);
    /* $KUBECONFIG set: ~/.kube/config is not consulted. */
    o.kubeconfig_env = "/nonexistent/x:/nonexistent/y";
    o.allow_in_cluster = false;
    load_err(&o, VR_ECONFIG,
             "no file listed in $KUBECONFIG (/nonexistent/x:/nonexistent/y) exists or defines "
             "anything");
    o.kubeconfig_env = NULL;
    o.home = NULL;
    load_err(&o, VR_ECONFIG, "no --kubeconfig, $KUBECONFIG and $HOME are unset");
    unlink(cfgp);
    rmdir(kdir);
    vr_free(cfgp);
    vr_free(kdir);
    vr_free(want);
    static const char *const none[] = {NULL};
    rm_tmpdir(home, none);
}

/* Writes config text into a new temp dir, loads it explicitly and expects an error. */
static void load_text_err(const char *text, int want_rc, const char *want)
{
    char *dir = make_tmpdir();
    char *p = vr_xasprintf("%s/config", dir);
    write_file(p, text);
    struct vr_kube_config_opts o = {.kubeconfig = p};
    char *w = strstr(want, "DIR") ? NULL : vr_xstrdup(want);
    if (!w) { /* substitute the temp dir for "DIR" */
        const char *at = strstr(want, "DIR");
        w = vr_xasprintf("%.*s%s%s", (int)(at - want), want, dir, at + 3);
    }
    load_err(&o, want_rc, w);
    vr_free(w);
    vr_free(p);
    static const char *const names[] = {"config", NULL};
    rm_tmpdir(dir, names);
}

static void test_load_errors(void **state)
{
    (void)state;
    struct vr_kube_config_opts o = {.kubeconfig = "/nonexistent/kubeconfig",
                                    .kubeconfig_env = "/also/missing"};
    load_err(&o, VR_ECONFIG,
             "cannot read kubeconfig /nonexistent/kubeconfig: no such file or directory");
    o.kubeconfig = "/";
    load_err(&o, VR_ECONFIG, "cannot read kubeconfig /: illegal operation on a directory");
    load_text_err("clusters: [\n", VR_ECONFIG, "DIR/config: line 2, column 1: did not find");
    load_text_err("", VR_ECONFIG, "DIR/config: no current-context is set");
    const char *ctx =
        "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
    const char *anon = "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n";
    char *y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'https://c', "
                           "certificate-authority: ca.pem}\n%s",
                           anon);
    load_text_err(y, VR_ECONFIG,
                  "cannot read certificate-authority of cluster \"c\": DIR/ca.pem: no such file");
    vr_free(y);
    y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'https://c'}\n"
                     "users:\n- name: u\n  user: {tokenFile: tok}\n%s",
                     ctx);
    load_text_err(y, VR_ECONFIG, "cannot read the token file of user \"u\": DIR/tok: no such file");
    vr_free(y);
    /* "not a pem secretstuff" as client-key-data: the message must not echo it. */
    y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'https://c'}\n"
                     "users:\n- name: u\n  user: {client-certificate-data: LS0tLS1CRUdJTiBY,"
                     " client-key-data: bm90IGEgcGVtIHNlY3JldHN0dWZm}\n%s",
                     ctx);
    load_text_err(y, VR_ECONFIG, "client-key-data of user \"u\" holds no PEM block");
    assert_null(strstr(err, "secretstuff"));
    vr_free(y);
    y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'ftp://c'}\n%s", anon);
    load_text_err(y, VR_ECONFIG,
                  "server \"ftp://c\" of cluster \"c\" is not an http:// or https://");
    vr_free(y);
    y = vr_xasprintf("clusters:\n- name: c\n  cluster: {server: 'https:///'}\n%s", anon);
    load_text_err(y, VR_ECONFIG, "server \"https:///\" of cluster \"c\" has no host");
    vr_free(y);
}

static void test_load_caps_and_pem_files(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *p = vr_xasprintf("%s/config", dir);
    /* The kubeconfig names itself as its CA: readable, but not PEM. */
    write_file(p, "clusters:\n- name: c\n  cluster: {server: 'https://c', "
                  "certificate-authority: config}\n"
                  "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n");
    struct vr_kube_config_opts o = {.kubeconfig = p};
    char *want = vr_xasprintf("certificate-authority of cluster \"c\": %s holds no PEM block", p);
    load_err(&o, VR_ECONFIG, want);
    vr_free(want);
    /* One byte over the cap (a sparse file). */
    int fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)VR_KUBECONFIG_MAX + 1), 0);
    assert_int_equal(close(fd), 0);
    want = vr_xasprintf("cannot read kubeconfig %s: larger than %zu bytes", p, VR_KUBECONFIG_MAX);
    load_err(&o, VR_ETOOBIG, want);
    vr_free(want);
    vr_free(p);
    static const char *const names[] = {"config", NULL};
    rm_tmpdir(dir, names);
}

static void test_load_server_scheme_default(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *p = vr_xasprintf("%s/config", dir);
    write_file(p, "clusters:\n- name: c\n  cluster: {server: '10.0.0.1:6443//', "
                  "insecure-skip-tls-verify: true}\n"
                  "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n");
    struct vr_kube_config_opts o = {.kubeconfig = p};
    struct vr_kube_config c;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://10.0.0.1:6443");
    assert_true(c.insecure_skip_tls_verify);
    vr_kube_config_cleanup(&c);
    vr_free(p);
    static const char *const names[] = {"config", NULL};
    rm_tmpdir(dir, names);
}

/* ---- in-cluster ---- */

static char *make_sa_dir(bool token, bool ca, const char *ns)
{
    char *dir = make_tmpdir();
    char *p;
    if (token) {
        p = vr_xasprintf("%s/token", dir);
        write_file(p, "sa-token\n");
        vr_free(p);
    }
    if (ca) {
        p = vr_xasprintf("%s/ca.crt", dir);
        write_file(p, "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n");
        vr_free(p);
    }
    if (ns) {
        p = vr_xasprintf("%s/namespace", dir);
        write_file(p, ns);
        vr_free(p);
    }
    return dir;
}

static const char *const sa_files[] = {"token", "ca.crt", "namespace", "empty.yaml", NULL};

static void test_in_cluster(void **state)
{
    (void)state;
    char *sa = make_sa_dir(true, true, "  from-file\n");
    struct vr_kube_config_opts o = {.allow_in_cluster = true,
                                    .service_host = "10.96.0.1",
                                    .service_port = "443",
                                    .sa_dir = sa,
                                    .home = "/nonexistent"};
    struct vr_kube_config c;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://10.96.0.1:443");
    char *tf = vr_xasprintf("%s/token", sa);
    assert_string_equal(c.token_file, tf);
    assert_null(c.token); /* the client re-reads the file */
    assert_non_null(c.ca_pem);
    assert_non_null(strstr(c.ca_pem, "BEGIN CERTIFICATE"));
    assert_string_equal(c.namespace, "from-file"); /* trimmed */
    assert_non_null(strstr(c.source, "in-cluster"));
    vr_kube_config_cleanup(&c);

    o.service_host = "fd00::1"; /* IPv6 is bracketed */
    o.pod_namespace = "from-env";
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://[fd00::1]:443");
    assert_string_equal(c.namespace, "from-env");
    vr_kube_config_cleanup(&c);

    /* A kubeconfig wins over in-cluster; an empty one does not. */
    char *basic = fixture_path("basic.yaml");
    o.kubeconfig_env = basic;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://prod.example.com:6443");
    vr_kube_config_cleanup(&c);
    char *empty = vr_xasprintf("%s/empty.yaml", sa);
    write_file(empty, "# nothing\n");
    o.kubeconfig_env = empty;
    load_ok(&o, &c);
    assert_string_equal(c.server, "https://[fd00::1]:443");
    vr_kube_config_cleanup(&c);
    /* ...unless named with --kubeconfig. */
    o.kubeconfig = empty;
    load_err(&o, VR_ECONFIG, "no current-context is set");
    vr_free(empty);
    vr_free(basic);
    vr_free(tf);
    rm_tmpdir(sa, sa_files);
}

static int warn_count;
static char warn_line[512];

static void capture_log(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    (void)arg;
    if (level != VR_LOG_WARN)
        return;
    warn_count++;
    snprintf(warn_line, sizeof(warn_line), "%.*s", (int)len, line);
}

static void test_in_cluster_fallbacks(void **state)
{
    (void)state;
    char *sa = make_sa_dir(true, false, NULL);
    struct vr_kube_config_opts o = {.allow_in_cluster = true,
                                    .service_host = "kubernetes",
                                    .service_port = "6443",
                                    .sa_dir = sa};
    struct vr_kube_config c;
    warn_count = 0;
    vr_log_set_sink(capture_log, NULL);
    load_ok(&o, &c);
    vr_log_set_sink(NULL, NULL);
    assert_string_equal(c.server, "https://kubernetes:6443");
    assert_null(c.ca_pem); /* unreadable CA: a warning, no custom CA */
    assert_int_equal(warn_count, 1);
    assert_non_null(strstr(warn_line, "ca.crt unreadable"));
    assert_string_equal(c.namespace, "default");
    vr_kube_config_cleanup(&c);
    rm_tmpdir(sa, sa_files);

    sa = make_sa_dir(false, true, "ns");
    o.sa_dir = sa;
    char *want = vr_xasprintf("cannot read the token file of the in-cluster service account: "
                              "%s/token: no such file or directory",
                              sa);
    load_err(&o, VR_ECONFIG, want);
    vr_free(want);
    /* Only one of host/port set: not in a cluster. */
    o.service_port = "";
    load_err(&o, VR_ECONFIG, "not running in a cluster");
    o.service_port = "443";
    o.allow_in_cluster = false;
    load_err(&o, VR_ECONFIG, "no Kubernetes configuration");
    rm_tmpdir(sa, sa_files);
}

static void test_opts_from_env(void **state)
{
    (void)state;
    setenv("KUBECONFIG", "/a:/b", 1);
    setenv("KUBERNETES_SERVICE_HOST", "h", 1);
    setenv("KUBERNETES_SERVICE_PORT", "1", 1);
    unsetenv("POD_NAMESPACE");
    struct vr_kube_config_opts o = {.context = "keep"};
    vr_kube_config_opts_from_env(&o);
    assert_string_equal(o.kubeconfig_env, "/a:/b");
    assert_string_equal(o.service_host, "h");
    assert_string_equal(o.service_port, "1");
    assert_null(o.pod_namespace);
    assert_string_equal(o.context, "keep");
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_current_and_override),
        cmocka_unit_test(test_relative_paths_without_dir),
        cmocka_unit_test(test_json_and_yaml_features),
        cmocka_unit_test(test_data_fields),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_select_errors),
        cmocka_unit_test(test_unsupported_user),
        cmocka_unit_test(test_basic_auth_ignored_with_other_creds),
        cmocka_unit_test(test_unsupported_cluster),
        cmocka_unit_test(test_merge_first_wins),
        cmocka_unit_test(test_load_explicit),
        cmocka_unit_test(test_load_json_relative_kubeconfig_path),
        cmocka_unit_test(test_load_kubeconfig_env_merge),
        cmocka_unit_test(test_load_home_and_nothing),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_caps_and_pem_files),
        cmocka_unit_test(test_load_server_scheme_default),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_in_cluster_fallbacks),
        cmocka_unit_test(test_opts_from_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
