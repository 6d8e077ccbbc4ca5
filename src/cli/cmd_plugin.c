/* `vreq plugin get [-o table|json]`: the server's plugins from a ServerStatusRequest,
 * sorted by kind then name (Velero's order). The table has Velero's NAME and KIND
 * columns, aligned like kubectl's printers; json is the sorted list of {name, kind}. */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/ssr.h"
#include "cli/tabw.h"
#include "vreq/err.h"

struct plugin {
    const char *name, *kind;
};

static int cmp_plugin(const void *a, const void *b)
{
    const struct plugin *x = a, *y = b;
    int r = strcmp(x->kind, y->kind);
    return r != 0 ? r : strcmp(x->name, y->name);
}

/* Appends s as a JSON string literal. */
static void json_str(struct vr_buf *out, const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    char *text = cJSON_PrintUnformatted(v);
    (void)vr_buf_append_str(out, text ? text : "\"\"");
    cJSON_free(text);
    cJSON_Delete(v);
}

static void render_json(const struct plugin *p, size_t n, struct vr_buf *out)
{
    (void)vr_buf_append_str(out, n ? "[\n" : "[]\n");
    for (size_t i = 0; i < n; i++) {
        (void)vr_buf_append_str(out, "    {\n        \"name\": ");
        json_str(out, p[i].name);
        (void)vr_buf_append_str(out, ",\n        \"kind\": ");
        json_str(out, p[i].kind);
        (void)vr_buf_append_str(out, i + 1 < n ? "\n    },\n" : "\n    }\n]\n");
    }
}

static void render_table(const struct plugin *p, size_t n, struct vr_buf *out)
{
    struct vr_tw tw;
    vr_tw_init_opts(&tw, out, 6, 3);
    vr_tw_write(&tw, "NAME\tKIND\n", 10);
    for (size_t i = 0; i < n; i++)
        vr_tw_printf(&tw, "%s\t%s\n", p[i].name, p[i].kind);
    (void)vr_tw_flush(&tw);
    vr_tw_cleanup(&tw);
}

struct plugin_run {
    struct vr_cli *cli;
    bool json;
};

/* The sorted plugins of an SSR; the strings are borrowed from ssr. */
static struct plugin *sorted_plugins(const cJSON *ssr, size_t *count)
{
    const cJSON *list, *e;
    size_t n = 0;
    list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ssr, "status"),
                                            "plugins");
    size_t total = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
    struct plugin *p = vr_xcalloc(total + 1, sizeof(*p));
    cJSON_ArrayForEach(e, (cJSON_IsArray(list) ? list : NULL))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
        p[n].name = name ? name : "";
        p[n++].kind = kind ? kind : "";
    }
    qsort(p, n, sizeof(*p), cmp_plugin);
    *count = n;
    return p;
}

static void on_status(int status, const cJSON *ssr, const char *errmsg, void *arg)
{
    struct plugin_run *run = arg;
    struct vr_cli *cli = run->cli;
    struct vr_buf out;
    size_t n;
    if (status < 0) {
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "error getting server status: %s", errmsg);
        vr_free(run);
        return;
    }
    struct plugin *p = sorted_plugins(ssr, &n);
    vr_buf_init(&out, (size_t)1 << 26);
    if (run->json)
        render_json(p, n, &out);
    else
        render_table(p, n, &out);
    int rc = vr_cli_write_all(1, vr_buf_str(&out));
    vr_buf_cleanup(&out);
    vr_free(p);
    if (rc < 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "writing output: %s", vr_strerror(rc));
    else
        vr_cli_exit(cli, VR_CLI_EXIT_OK, NULL);
    vr_free(run);
}

void vr_cmd_plugin_get(struct vr_cli *cli, const struct vr_cli_args *args)
{
    const char *o = args->output ? args->output : "table";
    if (strcmp(o, "table") != 0 && strcmp(o, "json") != 0) {
        vr_cli_exit(cli, VR_CLI_EXIT_USAGE, "invalid output format \"%s\": use table or json", o);
        return;
    }
    struct plugin_run *run = vr_xcalloc(1, sizeof(*run));
    run->cli = cli;
    run->json = strcmp(o, "json") == 0;
    if (vr_cli_ssr_get(cli, cli->timeout_ms, on_status, run) < 0) {
        vr_free(run);
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "no API client");
    }
}
