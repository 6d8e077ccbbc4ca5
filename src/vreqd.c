/* vreqd: the DownloadRequest / ServerStatusRequest controller daemon. main() only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "controller/daemon.h"
#include "controller/downloadrequest.h"
#include "controller/reconciler.h"
#include "controller/ssr_app.h"
#include "core/common.h"
#include "loop/app.h"
#include "vreq/err.h"
#include "vreq/log.h"

static const struct vr_reconciler_ops *const reconcilers[] = {
    &vr_dlr_reconciler,
    &vr_ssr_reconciler,
};

static const char *env(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

/* The in-cluster namespace file, or NULL (blocking read at start-up). */
static char *read_ns_file(char *buf, size_t cap)
{
    FILE *f = fopen(VR_CONFIG_NS_FILE, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    static char ns_buf[256];
    struct vr_config cfg;
    char err[512];
    vr_config_default(&cfg);
    if (vr_config_parse(&cfg, argc, argv, env, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "vreqd: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        fputs(vr_config_usage(), stdout);
        return 0;
    }
    if (cfg.version) {
        printf("vreqd %s\n", VR_VERSION);
        return 0;
    }
    vr_config_finish(&cfg, read_ns_file(ns_buf, sizeof(ns_buf)));
    vr_log_set_level(cfg.log_level);
    vr_log_set_format(cfg.log_format);
    vr_log_init_from_env();
    struct vr_app app;
    if (vr_app_init(&app, &cfg, err, sizeof(err)) < 0) {
        VR_LOG(VR_LOG_ERROR, "app", "%s", err);
        return 1;
    }
    VR_LOG(VR_LOG_INFO, "app", "vreqd starting version=%s namespace=%s", VR_VERSION,
           cfg.all_namespaces ? "*" : cfg.namespace);
    struct vr_daemon *d = vr_daemon_new(&app);
    if (vr_daemon_setup(d, reconcilers, VR_ARRAY_SIZE(reconcilers)) < 0) {
        app.exit_code = 1;
        vr_app_stop(&app);
    } else {
        vr_daemon_start(d);
    }
    int code = vr_app_run(&app);
    if (vr_app_cleanup(&app) < 0 && code == 0)
        code = 1;
    vr_daemon_free(d);
    VR_LOG(VR_LOG_INFO, "app", "vreqd stopped exit=%d", code);
    vr_log_flush(); /* the summaries of repeated lines still being counted */
    return code;
}
