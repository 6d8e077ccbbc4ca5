/* The vreq CLI runtime: argument parsing, the process context, exit handling. See cli/cli.h. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/fetch_int.h"
#include "core/common.h"
#include "core/timefmt.h"
#include "kube/kubeconfig.h"
#include "vreq/buf.h"
#include "vreq/err.h"

/* Cap on a --cacert file or a system CA bundle read at start-up. */
#define CLI_PEM_MAX ((size_t)4 * 1024 * 1024)

/* ----- Argument parsing (pure) ----- */

enum flag_id {
    FL_KUBECONFIG,
    FL_NAMESPACE,
    FL_TIMEOUT,
    FL_CACERT,
    FL_INSECURE,
    FL_MAXSIZE,
    FL_HELP,
    FL_OUTPUT,
    FL_FORCE,
    FL_DETAILS,
    FL_CLIENT_ONLY,
};

/* Every flag vreq knows. cmd_bit 0: global; otherwise the VR_CLI_F_* bit a command row must
 * carry to accept it. Names are unique across commands, so one pass parses them all. */
static const struct flagdef {
    const char *name;
    char shortc;
    bool takes_value;
    unsigned cmd_bit;
    enum flag_id id;
} flagdefs[] = {
    {"kubeconfig", 0, true, 0, FL_KUBECONFIG},
    {"namespace", 'n', true, 0, FL_NAMESPACE},
    {"timeout", 0, true, 0, FL_TIMEOUT},
    {"cacert", 0, true, 0, FL_CACERT},
    {"insecure-skip-tls-verify", 0, false, 0, FL_INSECURE},
    {"max-decompressed-size", 0, true, 0, FL_MAXSIZE},
    {"help", 'h', false, 0, FL_HELP},
    {"output", 'o', true, VR_CLI_F_OUTPUT, FL_OUTPUT},
    {"force", 0, false, VR_CLI_F_FORCE, FL_FORCE},
    {"details", 0, false, VR_CLI_F_DETAILS, FL_DETAILS},
    {"client-only", 0, false, VR_CLI_F_CLIENT_ONLY, FL_CLIENT_ONLY},
};

/* Parser state shared by the helpers below. */
struct parse {
    int argc, i;
    char **argv;
    struct vr_cli_opts *opts;
    struct vr_cli_args *args;
    const char *pos[VR_CLI_MAX_POS * 2];
    size_t npos;
    unsigned cmd_bits_seen;
    const char *cmd_flag_seen[4]; /* spelling of the first use of each command flag */
    char *err;
    size_t errlen;
};

static int perr(struct parse *ps, const char *fmt, ...) VR_PRINTF(2, 3);
static int perr(struct parse *ps, const char *fmt, ...)
{
    if (ps->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return VR_EINVAL;
}

static int parse_bool_value(struct parse *ps, const char *flag, const char *v, bool *out)
{
    if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    return perr(ps, "invalid value \"%s\" for flag %s: want true or false", v, flag);
}

static int apply_value(struct parse *ps, const struct flagdef *f, const char *flag, const char *v)
{
    struct vr_cli_opts *o = ps->opts;
    switch (f->id) {
    case FL_KUBECONFIG:
        o->kubeconfig = v;
        return 0;
    case FL_NAMESPACE:
        if (*v == '\0')
            return perr(ps, "flag %s needs a non-empty value", flag);
        o->namespace = v;
        return 0;
    case FL_TIMEOUT:
        if (vr_cli_parse_duration_ms(v, &o->timeout_ms) < 0 || o->timeout_ms == 0)
            return perr(ps, "invalid duration \"%s\" for flag %s (examples: 30s, 2m, 1h30m)",
                        v, flag);
        o->timeout_set = true;
        return 0;
    case FL_CACERT:
        o->cacert = v;
        return 0;
    case FL_MAXSIZE:
        if (vr_cli_parse_size(v, &o->max_decompressed) < 0 || o->max_decompressed == 0)
            return perr(ps, "invalid size \"%s\" for flag %s (examples: 1073741824, 512Mi, 2G)",
                        v, flag);
        return 0;
    case FL_OUTPUT:
        ps->args->output = v;
        return 0;
    case FL_INSECURE:
    case FL_HELP:
    case FL_FORCE:
    case FL_DETAILS:
    case FL_CLIENT_ONLY:
        break;
    }
    return perr(ps, "internal error: flag %s", flag);
}

static int apply_bool(struct parse *ps, const struct flagdef *f, const char *flag, const char *v)
{
    bool b = false;
    int rc = parse_bool_value(ps, flag, v, &b);
    if (rc < 0)
        return rc;
    switch (f->id) {
    case FL_INSECURE:
        ps->opts->insecure_skip_tls_verify = b;
        return 0;
    case FL_HELP:
        ps->opts->help = b;
        return 0;
    case FL_FORCE:
        ps->args->force = b;
        return 0;
    case FL_DETAILS:
        ps->args->details = b;
        return 0;
    case FL_CLIENT_ONLY:
        ps->args->client_only = b;
        return 0;
    case FL_KUBECONFIG:
    case FL_NAMESPACE:
    case FL_TIMEOUT:
    case FL_CACERT:
    case FL_MAXSIZE:
    case FL_OUTPUT:
        break;
    }
    return perr(ps, "internal error: flag %s", flag);
}

static const struct flagdef *find_long(const char *name, size_t n)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(flagdefs); i++)
        if (strlen(flagdefs[i].name) == n && strncmp(flagdefs[i].name, name, n) == 0)
            return &flagdefs[i];
    return NULL;
}

static const struct flagdef *find_short(char c)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(flagdefs); i++)
        if (flagdefs[i].shortc == c)
            return &flagdefs[i];
    return NULL;
}

/* Applies flag f spelled `flag`; inline is the "=VALUE" / "-nVALUE" part or NULL. */
static int take_flag(struct parse *ps, const struct flagdef *f, const char *flag,
                     const char *inline_v)
{
    if (f->cmd_bit != 0 && !(ps->cmd_bits_seen & f->cmd_bit)) {
        ps->cmd_bits_seen |= f->cmd_bit;
        for (unsigned b = 0; b < VR_ARRAY_SIZE(ps->cmd_flag_seen); b++)
            if (f->cmd_bit == (1u << b))
                ps->cmd_flag_seen[b] = f->name;
    }
    if (!f->takes_value)
        return apply_bool(ps, f, flag, inline_v);
    const char *v = inline_v;
    if (v == NULL) {
        if (ps->i + 1 >= ps->argc)
            return perr(ps, "flag needs an argument: %s", flag);
        v = ps->argv[++ps->i];
    }
    return apply_value(ps, f, flag, v);
}

static int parse_long(struct parse *ps, const char *a)
{
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const struct flagdef *f = find_long(name, n);
    if (f == NULL)
        return perr(ps, "unknown flag: --%.*s", (int)n, name);
    return take_flag(ps, f, a, eq ? eq + 1 : NULL);
}

static int parse_short(struct parse *ps, const char *a)
{
    const struct flagdef *f = find_short(a[1]);
    if (f == NULL)
        return perr(ps, "unknown shorthand flag: '%c' in %s", a[1], a);
    const char *rest = a[2] ? a + 2 : NULL;
    if (rest && *rest == '=')
        rest++;
    if (rest && !f->takes_value)
        return perr(ps, "unknown shorthand flag: '%c' in %s", rest[0], a);
    return take_flag(ps, f, a, rest);
}

static int add_pos(struct parse *ps, const char *a)
{
    if (ps->npos >= VR_ARRAY_SIZE(ps->pos))
        return perr(ps, "too many arguments");
    ps->pos[ps->npos++] = a;
    return 0;
}

static int scan_argv(struct parse *ps)
{
    bool flags_done = false;
    for (ps->i = 1; ps->i < ps->argc; ps->i++) {
        const char *a = ps->argv[ps->i];
        int rc;
        if (flags_done || a[0] != '-' || a[1] == '\0')
            rc = add_pos(ps, a);
        else if (strcmp(a, "--") == 0) {
            flags_done = true;
            rc = 0;
        } else if (a[1] == '-')
            rc = parse_long(ps, a);
        else
            rc = parse_short(ps, a);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* How many words of cmd's path pos starts with; 0 when it does not start with all of them. */
static size_t match_words(const struct vr_cli_cmd *c, const char *const *pos, size_t npos)
{
    const char *w = c->words;
    size_t k = 0;
    while (*w) {
        size_t n = strcspn(w, " ");
        if (k >= npos || strlen(pos[k]) != n || strncmp(pos[k], w, n) != 0)
            return 0;
        k++;
        w += n;
        while (*w == ' ')
            w++;
    }
    return k;
}

static const struct vr_cli_cmd *find_cmd(const struct vr_cli_cmd *cmds, size_t ncmds,
                                         const char *const *pos, size_t npos, size_t *nwords)
{
    const struct vr_cli_cmd *best = NULL;
    size_t bestn = 0;
    for (size_t i = 0; i < ncmds; i++) {
        size_t k = match_words(&cmds[i], pos, npos);
        if (k > bestn) {
            best = &cmds[i];
            bestn = k;
        }
    }
    *nwords = bestn;
    return best;
}

static int check_cmd(struct parse *ps, const struct vr_cli_cmd *c, size_t nargs)
{
    for (unsigned b = 0; b < VR_ARRAY_SIZE(ps->cmd_flag_seen); b++)
        if ((ps->cmd_bits_seen & (1u << b)) && !(c->flags & (1u << b)))
            return perr(ps, "unknown flag: --%s (for \"%s\")", ps->cmd_flag_seen[b], c->words);
    if (ps->opts->help)
        return 0;
    if (nargs < c->min_pos || nargs > c->max_pos) {
        if (c->min_pos == c->max_pos)
            return perr(ps, "\"%s\" requires exactly %u argument%s (%s), got %zu", c->words,
                        c->min_pos, c->min_pos == 1 ? "" : "s", c->usage_args, nargs);
        return perr(ps, "\"%s\" takes %u to %u arguments (%s), got %zu", c->words, c->min_pos,
                    c->max_pos, c->usage_args, nargs);
    }
    return 0;
}

static void set_defaults(struct vr_cli_opts *o, const char *(*getenv_fn)(const char *))
{
    memset(o, 0, sizeof(*o));
    const char *ns = getenv_fn ? getenv_fn("VELERO_NAMESPACE") : NULL;
    o->namespace = (ns && *ns) ? ns : VR_CLI_NAMESPACE_DEFAULT;
    o->max_decompressed = VR_CLI_MAX_DECOMPRESSED_DEFAULT;
}

int vr_cli_parse_args(int argc, char **argv, const struct vr_cli_cmd *cmds, size_t ncmds,
                      const char *(*getenv_fn)(const char *name), struct vr_cli_opts *opts,
                      struct vr_cli_args *args, const struct vr_cli_cmd **cmd, char *err,
                      size_t errlen)
{
    struct vr_cli_opts o;
    struct vr_cli_args a;
    struct parse ps = {.argc = argc, .argv = argv, .opts = &o, .args = &a, .err = err,
                       .errlen = errlen};
    set_defaults(&o, getenv_fn);
    memset(&a, 0, sizeof(a));
    *cmd = NULL;
    int rc = scan_argv(&ps);
    if (rc < 0)
        return rc;
    size_t nwords;
    const struct vr_cli_cmd *c = find_cmd(cmds, ncmds, ps.pos, ps.npos, &nwords);
    if (c == NULL) {
        if (ps.npos == 0 && o.help)
            goto out_ok;
        if (ps.npos == 0)
            return perr(&ps, "no command given");
        return perr(&ps, "unknown command \"%s\"", ps.pos[0]);
    }
    *cmd = c;
    size_t nargs = ps.npos - nwords;
    rc = check_cmd(&ps, c, nargs);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < nargs && k < VR_CLI_MAX_POS; k++)
        a.pos[k] = ps.pos[nwords + k];
    a.npos = nargs < VR_CLI_MAX_POS ? nargs : VR_CLI_MAX_POS;
out_ok:
    *opts = o;
    *args = a;
    return 0;
}

/* ----- Durations and sizes ----- */

int vr_cli_parse_duration_ms(const char *s, unsigned *out_ms)
{
    int64_t ns;
    if (!s || *s == '-' || *s == '+') /* Go takes a sign; a timeout has none */
        return VR_EPARSE;
    int rc = vr_time_parse_duration(s, &ns);
    if (rc < 0)
        return rc;
    if ((uint64_t)ns / 1000000 > UINT_MAX)
        return VR_ETOOBIG;
    *out_ms = (unsigned)(ns / 1000000);
    return 0;
}

static int size_suffix(const char *s, uint64_t *mult)
{
    static const char letters[] = "KMGT";
    uint64_t m = 1;
    if (*s && *s != 'B' && *s != 'b') {
        const char *l = strchr(letters, *s >= 'a' ? *s - 32 : *s);
        if (l == NULL || *l == '\0')
            return VR_EPARSE;
        for (const char *k = letters; k <= l; k++)
            m *= 1024;
        s++;
        if (*s == 'i')
            s++;
    }
    if (*s == 'B' || *s == 'b')
        s++;
    if (*s != '\0')
        return VR_EPARSE;
    *mult = m;
    return 0;
}

int vr_cli_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || !(*s >= '0' && *s <= '9'))
        return VR_EPARSE;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return VR_ETOOBIG;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    uint64_t mult;
    if (size_suffix(s, &mult) < 0)
        return VR_EPARSE;
    if (v != 0 && mult > UINT64_MAX / v)
        return VR_ETOOBIG;
    *out = v * mult;
    return 0;
}

/* ----- The runtime ----- */

static void on_signal(uv_signal_t *h, int signum)
{
    struct vr_cli *cli = h->data;
    if (cli->interrupted)
        _exit(128 + signum); /* a second signal: the user insists */
    cli->interrupted = true;
    if (vr__cli_fetch_interrupt(cli) == 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "interrupted");
}

static void start_signals(struct vr_cli *cli)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    /* A reader that goes away (vreq ... | head) must give EPIPE, not kill us. */
    (void)sigaction(SIGPIPE, &sa, NULL);
    uv_signal_init(&cli->loop, &cli->sigint);
    uv_signal_init(&cli->loop, &cli->sigterm);
    cli->sigint.data = cli;
    cli->sigterm.data = cli;
    uv_signal_start(&cli->sigint, on_signal, SIGINT);
    uv_signal_start(&cli->sigterm, on_signal, SIGTERM);
    /* Signals alone must not keep the loop running. */
    uv_unref((uv_handle_t *)&cli->sigint);
    uv_unref((uv_handle_t *)&cli->sigterm);
}

int vr_cli_init(struct vr_cli *cli, const struct vr_cli_cmd *cmd,
                const struct vr_cli_opts *opts, char *err, size_t errlen)
{
    memset(cli, 0, sizeof(*cli));
    cli->cmd = cmd;
    cli->opts = *opts;
    cli->namespace = opts->namespace;
    unsigned def = (cmd && cmd->default_timeout_ms) ? cmd->default_timeout_ms
                                                    : VR_CLI_TIMEOUT_DEFAULT_MS;
    cli->timeout_ms = opts->timeout_set ? opts->timeout_ms : def;
    cli->max_decompressed = opts->max_decompressed;
    if (opts->cacert) {
        int rc = vr_file_read(opts->cacert, CLI_PEM_MAX, &cli->extra_ca_pem, &cli->extra_ca_len);
        if (rc < 0) {
            (void)snprintf(err, errlen, "couldn't open cacert %s: %s", opts->cacert,
                           vr_strerror(rc == VR_ETOOBIG ? rc : uv_translate_sys_error(-rc)));
            return VR_ECONFIG;
        }
    }
    if (uv_loop_init(&cli->loop) != 0) {
        vr_free(cli->extra_ca_pem);
        (void)snprintf(err, errlen, "cannot initialise the event loop");
        return VR_ECONFIG;
    }
    vr_clock_init_system(&cli->clock, &cli->loop);
    vr_mem_init_cjson();
    start_signals(cli);
    return 0;
}

/* The system CA bundle curl would use, or "" (read at start-up, blocking). */
static void read_system_ca(struct vr_buf *out)
{
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    const char *path = (vi && vi->cainfo) ? vi->cainfo : "/etc/ssl/certs/ca-certificates.crt";
    char *pem = NULL;
    size_t n = 0;
    if (vr_file_read(path, CLI_PEM_MAX, &pem, &n) == 0) {
        (void)vr_buf_append(out, pem, n);
        (void)vr_buf_putc(out, '\n');
        vr_free(pem);
    }
}

/* --cacert is trusted for the API server too, in addition to the kubeconfig's CA (or the
 * system store when the kubeconfig names none, since a PEM blob replaces that store). */
static void add_extra_ca(struct vr_cli *cli)
{
    struct vr_buf b;
    vr_buf_init(&b, 3 * CLI_PEM_MAX);
    if (cli->kcfg.ca_pem) {
        (void)vr_buf_append(&b, cli->kcfg.ca_pem, cli->kcfg.ca_pem_len);
        (void)vr_buf_putc(&b, '\n');
    } else {
        read_system_ca(&b);
    }
    (void)vr_buf_append(&b, cli->extra_ca_pem, cli->extra_ca_len);
    vr_free(cli->kcfg.ca_pem);
    cli->kcfg.ca_pem = vr_buf_take(&b, &cli->kcfg.ca_pem_len);
}

int vr_cli_connect(struct vr_cli *cli, char *err, size_t errlen)
{
    if (cli->kube)
        return 0;
    struct vr_kube_config_opts ko;
    memset(&ko, 0, sizeof(ko));
    vr_kube_config_opts_from_env(&ko);
    ko.kubeconfig = cli->opts.kubeconfig;
    ko.allow_in_cluster = true;
    int rc = vr_kube_config_load(&ko, &cli->kcfg, err, errlen);
    if (rc < 0)
        return rc;
    if (cli->extra_ca_pem && !cli->kcfg.insecure_skip_tls_verify)
        add_extra_ca(cli);
    rc = vr_curl_uv_new(&cli->loop, &cli->cu);
    if (rc < 0) {
        (void)snprintf(err, errlen, "cannot initialise libcurl");
        return rc;
    }
    struct vr_kube_client_opts o;
    vr_kube_client_opts_default(&o);
    o.user_agent = "vreq/" VR_VERSION;
    rc = vr_kube_client_new(cli->cu, &cli->clock, &cli->kcfg, &o, &cli->kube);
    if (rc < 0) {
        (void)snprintf(err, errlen, "cannot use %s: %s", cli->kcfg.source ? cli->kcfg.source
                                                                           : "the kubeconfig",
                       vr_strerror(rc));
        return rc;
    }
    return 0;
}

void vr_cli_exit(struct vr_cli *cli, int code, const char *fmt, ...)
{
    if (cli->exited)
        return;
    cli->exited = true;
    cli->exit_code = code;
    if (fmt) {
        struct vr_buf b;
        vr_buf_init(&b, 4096);
        va_list ap;
        va_start(ap, fmt);
        int rc = vr_buf_vprintf(&b, fmt, ap);
        va_end(ap);
        cli->exit_msg = rc == 0 ? vr_buf_take(&b, NULL) : vr_xstrdup("(message too long)");
        vr_buf_cleanup(&b);
    }
}

static void on_curl_closed(void *arg)
{
    struct vr_cli *cli = arg;
    cli->cu = NULL;
}

static void on_kube_closed(void *arg)
{
    struct vr_cli *cli = arg;
    cli->kube = NULL;
    if (cli->cu)
        vr_curl_uv_close(cli->cu, on_curl_closed, cli);
}

static void teardown(struct vr_cli *cli)
{
    if (cli->kube)
        vr_kube_client_close(cli->kube, on_kube_closed, cli);
    else if (cli->cu)
        vr_curl_uv_close(cli->cu, on_curl_closed, cli);
    uv_close((uv_handle_t *)&cli->sigint, NULL);
    uv_close((uv_handle_t *)&cli->sigterm, NULL);
    (void)uv_run(&cli->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&cli->loop) != 0)
        vr_panic("vreq: the loop still has open handles at exit");
    vr_kube_config_cleanup(&cli->kcfg);
    vr_free(cli->extra_ca_pem);
    cli->extra_ca_pem = NULL;
}

int vr_cli_run(struct vr_cli *cli)
{
    while (!cli->exited && uv_run(&cli->loop, UV_RUN_ONCE) != 0) {
    }
    if (!cli->exited)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "internal error: \"%s\" ended without a result",
                    cli->cmd ? cli->cmd->words : "?");
    /* Work the command still waits for (fetches delete their request before reporting)
     * is over; whatever is left is cancelled by the closes. */
    teardown(cli);
    if (cli->exit_code == VR_CLI_EXIT_FAIL)
        fprintf(stderr, "An error occurred: %s\n", cli->exit_msg ? cli->exit_msg : "failed");
    else if (cli->exit_code == VR_CLI_EXIT_USAGE)
        fprintf(stderr, "Error: %s\nRun 'vreq %s --help' for usage.\n",
                cli->exit_msg ? cli->exit_msg : "usage", cli->cmd ? cli->cmd->words : "");
    else if (cli->exit_msg && *cli->exit_msg)
        fprintf(stderr, "%s\n", cli->exit_msg);
    int code = cli->exit_code;
    vr_free(cli->exit_msg);
    cli->exit_msg = NULL;
    return code;
}

int vr_cli_write_all(int fd, struct vr_str s)
{
    while (s.n > 0) {
        ssize_t n = write(fd, s.p, s.n);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return uv_translate_sys_error(errno);
        s.p += n;
        s.n -= (size_t)n;
    }
    return 0;
}

/* ----- Usage ----- */

static const char global_flags_help[] =
    "Global flags:\n"
    "      --kubeconfig FILE               kubeconfig to use (else $KUBECONFIG, else\n"
    "                                      ~/.kube/config, else in-cluster)\n"
    "  -n, --namespace NS                  Velero namespace (else $VELERO_NAMESPACE,\n"
    "                                      else velero)\n"
    "      --timeout DURATION              how long to wait for the server (default 1m;\n"
    "                                      5s for version and plugin get)\n"
    "      --cacert FILE                   extra CA bundle trusted for downloads and the\n"
    "                                      API server\n"
    "      --insecure-skip-tls-verify      do not verify the object store's certificate\n"
    "      --max-decompressed-size SIZE    cap on gunzipped output (default 1Gi)\n"
    "  -h, --help                          help for vreq or a command\n";

void vr_cli_print_usage(void *fp, const struct vr_cli_cmd *cmds, size_t ncmds,
                        const struct vr_cli_cmd *cmd)
{
    FILE *f = fp;
    if (cmd) {
        fprintf(f, "Usage: vreq %s%s%s [flags]\n\n%s\n", cmd->words, *cmd->usage_args ? " " : "",
                cmd->usage_args, cmd->summary);
        if (cmd->help)
            fprintf(f, "\n%s", cmd->help);
        fprintf(f, "\n%s", global_flags_help);
        return;
    }
    fputs("Usage: vreq [global flags] COMMAND [args] [flags]\n\n"
          "Fetch Velero backup and restore files through DownloadRequests.\n\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < ncmds; i++) {
        char left[64];
        (void)snprintf(left, sizeof(left), "%s %s", cmds[i].words, cmds[i].usage_args);
        fprintf(f, "  %-28s %s\n", left, cmds[i].summary);
    }
    fprintf(f, "\n%s\nExit status: 0 success, 1 failure, 2 usage error.\n"
               "Run 'vreq COMMAND --help' for a command's flags.\n",
            global_flags_help);
}
