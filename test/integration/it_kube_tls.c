/*
 * The kube client over real TLS: kubesim (in-process, plain HTTP) behind Debian's stunnel4
 * as the TLS terminator, with a CA, server and client certificates generated at test time
 * by test/integration/lib/tlscerts.sh. Every case goes through a kubeconfig file and
 * vr_kube_config_load, then a LIST of secrets through vr_kube_client.
 *
 *   [plain] 127.0.0.1:P1 -> kubesim   server certificate only
 *   [mtls]  127.0.0.1:P2 -> kubesim   client certificate required (verifyChain, requireCert)
 *
 * Cases: CA verified; wrong CA fails with a certificate error; client-cert auth (none ->
 * rejected, data or file -> accepted); bearer tokens (wrong / missing -> VR_EUNAUTH);
 * token rotation (kubesim restarted on the same port with a new token, tokenFile
 * rewritten -> the client re-reads it after the 401 and succeeds).
 * Exits 77 with one line when stunnel4 is not installed (scripts/deps installs it).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/common.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "loop/clock.h"
#include "sim.h"
#include "testutil.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define TOKEN1 "tls-test-token-one"
#define TOKEN2 "tls-test-token-two"

struct proc {
    uv_process_t h;
    bool running;
    int64_t status;
};

struct env {
    uv_loop_t loop;
    char *dir;
    char *stunnel; /* path of the stunnel binary */
    struct ks_sim *sim;
    int ks_port;
    struct proc stunnel_proc;
    int port_plain, port_mtls;
    struct vr_curl_uv *cu;
    struct vr_clock clock;
    char *ca_b64, *other_ca_b64, *cert_b64, *key_b64;
};

static struct env E;

/* ---- small helpers ---- */

static char *path_in(const char *name)
{
    return vr_xasprintf("%s/%s", E.dir, name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* base64 (one line) of a file in the temp dir. */
static char *b64_of(const char *name)
{
    char *p = path_in(name);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    unsigned char in[16384];
    size_t n = fread(in, 1, sizeof(in), f);
    fclose(f);
    vr_free(p);
    assert_true(n > 0 && n < sizeof(in));
    char *out = vr_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

/* The first executable "name" in a few well-known directories, or NULL. */
static char *find_bin(const char *name)
{
    static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"};
    for (size_t i = 0; i < VR_ARRAY_SIZE(dirs); i++) {
        char *p = vr_xasprintf("%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0)
            return p;
        vr_free(p);
    }
    return NULL;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static int proc_done(void *arg)
{
    return !((struct proc *)arg)->running;
}

/* ---- processes (uv_spawn; output to a log file in the temp dir) ---- */

static void on_proc_exit(uv_process_t *h, int64_t status, int sig)
{
    struct proc *p = container_of(h, struct proc, h);
    p->status = sig ? 128 + sig : status;
    p->running = false;
    uv_close((uv_handle_t *)h, NULL);
}

static int spawn(struct proc *p, char **args, const char *logname)
{
    char *log = path_in(logname);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    vr_free(log);
    assert_true(fd >= 0);
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = fd},
        {.flags = UV_INHERIT_FD, .data.fd = fd},
    };
    uv_process_options_t o = {
        .exit_cb = on_proc_exit, .file = args[0], .args = args, .stdio_count = 3, .stdio = stdio};
    int rc = uv_spawn(&E.loop, &p->h, &o);
    close(fd);
    p->running = rc == 0;
    if (rc != 0)
        uv_close((uv_handle_t *)&p->h, NULL);
    return rc;
}

static void dump_log(const char *name)
{
    char *p = path_in(name);
    FILE *f = fopen(p, "rb");
    vr_free(p);
    if (!f)
        return;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    print_error("--- %s ---\n%s\n", name, buf);
}

static void gen_certs(void)
{
    const char *fx = getenv("VR_FIXTURES");
    assert_non_null(fx);
    char *script = vr_xasprintf("%s/../integration/lib/tlscerts.sh", fx);
    char bash[] = "/bin/bash";
    char *args[] = {bash, script, E.dir, NULL};
    struct proc p = {0};
    assert_int_equal(spawn(&p, args, "tlscerts.log"), 0);
    assert_true(vr_test_run_until(&E.loop, proc_done, &p, 60000));
    uv_run(&E.loop, UV_RUN_NOWAIT); /* the close callback */
    if (p.status != 0)
        dump_log("tlscerts.log");
    assert_int_equal(p.status, 0);
    vr_free(script);
}

/* ---- kubesim in-process ---- */

static int sim_start(const char *token, int port)
{
    struct ks_sim_opts o;
    ks_sim_opts_default(&o);
    o.token = token;
    assert_int_equal(ks_sim_new(&E.loop, &o, &E.sim), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    int rc = ks_sim_listen(E.sim, addr);
    if (rc == 0)
        E.ks_port = ks_sim_port(E.sim);
    return rc;
}

static void on_sim_closed(void *arg)
{
    *(bool *)arg = true;
}

static void sim_stop(void)
{
    bool closed = false;
    ks_sim_close(E.sim, on_sim_closed, &closed);
    assert_true(vr_test_run_until(&E.loop, is_true, &closed, 10000));
    E.sim = NULL;
}

/* ---- stunnel ---- */

/* A port nobody listens on right now (bind to 0, read it, close). */
static int free_port(void)
{
    uv_tcp_t t;
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(&E.loop, &t), 0);
    assert_int_equal(uv_tcp_bind(&t, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len), 0);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&E.loop, UV_RUN_NOWAIT);
    return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void write_stunnel_conf(const char *path)
{
    char *conf = vr_xasprintf("foreground = yes\npid =\ndebug = notice\n"
                              "[plain]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                              "cert = %s/server.crt\nkey = %s/server.key\n"
                              "[mtls]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                              "cert = %s/server.crt\nkey = %s/server.key\n"
                              "CAfile = %s/ca.crt\nverifyChain = yes\nrequireCert = yes\n",
                              E.port_plain, E.ks_port, E.dir, E.dir, E.port_mtls, E.ks_port, E.dir,
                              E.dir, E.dir);
    write_file(path, conf);
    vr_free(conf);
}

/* Readiness: a TCP connect to the port succeeds; retried on a 20 ms timer while stunnel
 * runs (it exits when it cannot bind). */
struct probe {
    uv_timer_t timer;
    uv_tcp_t *tcp;
    uv_connect_t req;
    int port;
    bool ok, done;
};

static void probe_try(struct probe *pr);

static void on_probe_tcp_closed(uv_handle_t *h)
{
    vr_free(h);
}

static void on_probe_timer(uv_timer_t *t)
{
    probe_try(container_of(t, struct probe, timer));
}

static void on_probe_connect(uv_connect_t *req, int status)
{
    struct probe *pr = container_of(req, struct probe, req);
    uv_close((uv_handle_t *)pr->tcp, on_probe_tcp_closed);
    pr->tcp = NULL;
    if (status == 0) {
        pr->ok = pr->done = true;
    } else if (!E.stunnel_proc.running) {
        pr->done = true;
    } else {
        uv_timer_start(&pr->timer, on_probe_timer, 20, 0);
    }
}

static void probe_try(struct probe *pr)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", pr->port, &a);
    pr->tcp = vr_xmalloc(sizeof(*pr->tcp));
    uv_tcp_init(&E.loop, pr->tcp);
    if (uv_tcp_connect(&pr->req, pr->tcp, (const struct sockaddr *)&a, on_probe_connect) != 0) {
        uv_close((uv_handle_t *)pr->tcp, on_probe_tcp_closed);
        pr->tcp = NULL;
        pr->done = true;
    }
}

static int probe_done(void *arg)
{
    return ((struct probe *)arg)->done;
}

static bool wait_port(int port)
{
    struct probe pr = {.port = port};
    uv_timer_init(&E.loop, &pr.timer);
    probe_try(&pr);
    bool met = vr_test_run_until(&E.loop, probe_done, &pr, 15000);
    uv_close((uv_handle_t *)&pr.timer, NULL);
    uv_run(&E.loop, UV_RUN_NOWAIT);
    return met && pr.ok;
}

static void stunnel_stop(void)
{
    if (!E.stunnel_proc.running)
        return;
    uv_process_kill(&E.stunnel_proc.h, SIGTERM);
    assert_true(vr_test_run_until(&E.loop, proc_done, &E.stunnel_proc, 10000));
}

/* Starts stunnel on two fresh ports; a port taken between picking and binding makes
 * stunnel exit, and the next attempt picks others. */
static void stunnel_start(void)
{
    char *conf = path_in("stunnel.conf");
    for (int attempt = 0; attempt < 5; attempt++) {
        E.port_plain = free_port();
        E.port_mtls = free_port();
        write_stunnel_conf(conf);
        /* setpriv --pdeathsig: stunnel dies with this test even if the test crashes. */
        char setpriv[] = "/usr/bin/setpriv", pd[] = "--pdeathsig", term[] = "TERM", dd[] = "--";
        char *args[] = {setpriv, pd, term, dd, E.stunnel, conf, NULL};
        if (access(args[0], X_OK) != 0)
            memmove(args, args + 4, 3 * sizeof(char *));
        memset(&E.stunnel_proc, 0, sizeof(E.stunnel_proc));
        assert_int_equal(spawn(&E.stunnel_proc, args, "stunnel.log"), 0);
        if (wait_port(E.port_plain) && wait_port(E.port_mtls)) {
            vr_free(conf);
            return;
        }
        stunnel_stop();
    }
    dump_log("stunnel.log");
    vr_free(conf);
    fail_msg("stunnel did not come up");
}

/* ---- group setup / teardown ---- */

static int setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&E.loop), 0);
    char tmpl[] = "/tmp/vr-it-tls-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    E.dir = vr_xstrdup(tmpl);
    gen_certs();
    E.ca_b64 = b64_of("ca.crt");
    E.other_ca_b64 = b64_of("other-ca.crt");
    E.cert_b64 = b64_of("client.crt");
    E.key_b64 = b64_of("client.key");
    assert_int_equal(sim_start(TOKEN1, 0), 0);
    stunnel_start();
    vr_clock_init_system(&E.clock, &E.loop);
    assert_int_equal(vr_curl_uv_new(&E.loop, &E.cu), 0);
    return 0;
}

static void rm_dir(void)
{
    static const char *const names[] = {
        "ca.crt",      "ca.key",       "ca.srl",     "other-ca.crt", "other-ca.key",
        "server.crt",  "server.key",   "client.crt", "client.key",   "stunnel.conf",
        "stunnel.log", "tlscerts.log", "kubeconfig", "token",        "token.tmp"};
    for (size_t i = 0; i < VR_ARRAY_SIZE(names); i++) {
        char *p = path_in(names[i]);
        unlink(p);
        vr_free(p);
    }
    if (rmdir(E.dir) != 0)
        print_error("could not remove %s\n", E.dir);
}

static int teardown(void **state)
{
    (void)state;
    bool closed = false;
    vr_curl_uv_close(E.cu, on_sim_closed, &closed);
    assert_true(vr_test_run_until(&E.loop, is_true, &closed, 10000));
    stunnel_stop();
    if (E.sim)
        sim_stop();
    vr_test_loop_close(&E.loop);
    rm_dir();
    vr_free(E.ca_b64);
    vr_free(E.other_ca_b64);
    vr_free(E.cert_b64);
    vr_free(E.key_b64);
    vr_free(E.dir);
    vr_free(E.stunnel);
    return 0;
}

/* ---- one request through a kubeconfig ---- */

struct result {
    bool done;
    int status;
    int http;
    char msg[256];
    bool is_list;
};

static void on_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct result *r = arg;
    r->done = true;
    r->status = status;
    r->http = res ? res->http_code : 0;
    if (res && res->status)
        snprintf(r->msg, sizeof(r->msg), "%s", res->status->message);
    const cJSON *items =
        res && res->obj ? cJSON_GetObjectItemCaseSensitive(res->obj, "items") : NULL;
    r->is_list = cJSON_IsArray(items);
}

/* Writes the kubeconfig: a cluster at port with cluster_extra (CA lines) and a user. */
static void write_kubeconfig(int port, const char *cluster_extra, const char *user)
{
    char *p = path_in("kubeconfig");
    char *y = vr_xasprintf("apiVersion: v1\nkind: Config\n"
                           "clusters:\n- name: tls\n  cluster:\n    server: https://127.0.0.1:%d\n"
                           "    %s\n"
                           "users:\n- name: u\n  user: %s\n"
                           "contexts:\n- name: x\n  context: {cluster: tls, user: u, "
                           "namespace: velero}\n"
                           "current-context: x\n",
                           port, cluster_extra, user);
    write_file(p, y);
    vr_free(y);
    vr_free(p);
}

static struct vr_kube_client *client_new(void)
{
    char *p = path_in("kubeconfig");
    struct vr_kube_config_opts o = {.kubeconfig = p};
    struct vr_kube_config cfg;
    char err[512];
    int rc = vr_kube_config_load(&o, &cfg, err, sizeof(err));
    vr_free(p);
    if (rc != 0)
        fail_msg("kubeconfig: %s", err);
    struct vr_kube_client_opts co;
    vr_kube_client_opts_default(&co);
    co.timeout_ms = 10000;
    co.max_retries = 0;
    struct vr_kube_client *c;
    assert_int_equal(vr_kube_client_new(E.cu, &E.clock, &cfg, &co, &c), 0);
    vr_kube_config_cleanup(&cfg);
    return c;
}

static void client_close(struct vr_kube_client *c)
{
    bool closed = false;
    vr_kube_client_close(c, on_sim_closed, &closed);
    assert_true(vr_test_run_until(&E.loop, is_true, &closed, 10000));
}

static void list_with(struct vr_kube_client *c, struct result *r)
{
    memset(r, 0, sizeof(*r));
    vr_kube_list(c, &vr_kube_res_secrets, "velero", NULL, on_done, r);
    assert_true(vr_test_run_until(&E.loop, is_true, &r->done, 20000));
}

/* LIST secrets with a fresh client for the current kubeconfig. */
static void list_once(struct result *r)
{
    struct vr_kube_client *c = client_new();
    list_with(c, r);
    client_close(c);
}

static void expect_ok(const struct result *r)
{
    if (r->status != 0)
        fail_msg("expected success, got %s (http %d): %s", vr_err_name(r->status), r->http, r->msg);
    assert_int_equal(r->http, 200);
    assert_true(r->is_list);
}

static char *ca_data(const char *b64)
{
    return vr_xasprintf("certificate-authority-data: %s", b64);
}

/* ---- cases ---- */

static void test_ca_verified(void **state)
{
    (void)state;
    char *ca = ca_data(E.ca_b64);
    write_kubeconfig(E.port_plain, ca, "{token: " TOKEN1 "}");
    struct result r;
    list_once(&r);
    expect_ok(&r);
    /* The same CA as a file path, relative to the kubeconfig. */
    write_kubeconfig(E.port_plain, "certificate-authority: ca.crt", "{token: " TOKEN1 "}");
    list_once(&r);
    expect_ok(&r);
    vr_free(ca);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    char *ca = ca_data(E.other_ca_b64);
    write_kubeconfig(E.port_plain, ca, "{token: " TOKEN1 "}");
    struct result r;
    list_once(&r);
    assert_int_equal(r.status, VR_EHTTP);
    print_message("wrong CA: %s\n", r.msg);
    if (!strstr(r.msg, "certificate"))
        fail_msg("the error does not mention the certificate: %s", r.msg);
    vr_free(ca);
}

static void test_insecure_skip_verify(void **state)
{
    (void)state;
    write_kubeconfig(E.port_plain, "insecure-skip-tls-verify: true", "{token: " TOKEN1 "}");
    struct result r;
    list_once(&r);
    expect_ok(&r);
}

static void test_client_cert(void **state)
{
    (void)state;
    char *ca = ca_data(E.ca_b64);
    struct result r;
    /* The mtls service rejects a client without a certificate. */
    write_kubeconfig(E.port_mtls, ca, "{token: " TOKEN1 "}");
    list_once(&r);
    print_message("no client certificate: %s: %s\n", vr_err_name(r.status), r.msg);
    assert_int_equal(r.status, VR_EHTTP);
    assert_int_equal(r.http, 0);
    /* Certificate and key inline... */
    char *user = vr_xasprintf("{token: " TOKEN1 ", client-certificate-data: %s, "
                              "client-key-data: %s}",
                              E.cert_b64, E.key_b64);
    write_kubeconfig(E.port_mtls, ca, user);
    list_once(&r);
    expect_ok(&r);
    vr_free(user);
    /* ...and as files next to the kubeconfig. */
    write_kubeconfig(E.port_mtls, ca,
                     "{token: " TOKEN1 ", client-certificate: client.crt, "
                     "client-key: client.key}");
    list_once(&r);
    expect_ok(&r);
    vr_free(ca);
}

static void test_bearer_token(void **state)
{
    (void)state;
    char *ca = ca_data(E.ca_b64);
    struct result r;
    write_kubeconfig(E.port_plain, ca, "{token: not-the-token}");
    list_once(&r);
    assert_int_equal(r.status, VR_EUNAUTH);
    assert_int_equal(r.http, 401);
    write_kubeconfig(E.port_plain, ca, "{}");
    list_once(&r);
    assert_int_equal(r.status, VR_EUNAUTH);
    /* A wrong token in a file stays wrong after the re-read. */
    char *tok = path_in("token");
    write_file(tok, "still-wrong\n");
    write_kubeconfig(E.port_plain, ca, "{tokenFile: token}");
    list_once(&r);
    assert_int_equal(r.status, VR_EUNAUTH);
    vr_free(tok);
    vr_free(ca);
}

/* Replaces the token file atomically, as the kubelet does. */
static void rotate_token_file(const char *token)
{
    char *tmp = path_in("token.tmp"), *tok = path_in("token");
    write_file(tmp, token);
    assert_int_equal(rename(tmp, tok), 0);
    vr_free(tmp);
    vr_free(tok);
}

static void test_token_rotation(void **state)
{
    (void)state;
    char *ca = ca_data(E.ca_b64);
    rotate_token_file(TOKEN1 "\n");
    write_kubeconfig(E.port_plain, ca, "{tokenFile: token}");
    struct vr_kube_client *c = client_new();
    struct result r;
    list_with(c, &r);
    expect_ok(&r);
    /* kubesim's token is fixed at start: restart it on the same port with TOKEN2. */
    int port = E.ks_port;
    sim_stop();
    assert_int_equal(sim_start(TOKEN2, port), 0);
    /* kubesim now refuses TOKEN1 (checked with a second client and a static token)... */
    write_kubeconfig(E.port_plain, ca, "{token: " TOKEN1 "}");
    list_once(&r);
    assert_int_equal(r.status, VR_EUNAUTH);
    rotate_token_file(TOKEN2 "\n");
    /* ...so the first client's cached TOKEN1 gets a 401; it re-reads the file and retries. */
    list_with(c, &r);
    expect_ok(&r);
    list_with(c, &r); /* and keeps the new token */
    expect_ok(&r);
    client_close(c);
    /* Back to TOKEN1 for any later case. */
    sim_stop();
    assert_int_equal(sim_start(TOKEN1, port), 0);
    vr_free(ca);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    E.stunnel = find_bin("stunnel4");
    if (!E.stunnel)
        E.stunnel = find_bin("stunnel");
    char *openssl = find_bin("openssl");
    bool have_openssl = openssl != NULL;
    vr_free(openssl);
    if (!E.stunnel || !have_openssl) {
        vr_free(E.stunnel);
        fputs("SKIP: stunnel4 or openssl is not installed (scripts/deps installs them)\n", stdout);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_verified),          cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_insecure_skip_verify), cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_bearer_token),         cmocka_unit_test(test_token_rotation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
