/* vreqd: the DownloadRequest / ServerStatusRequest controller daemon. main() only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "controller/downloadrequest.h"
#include "controller/reconciler.h"
#include "loop/app.h"
#include "vreq/err.h"
#include "vreq/log.h"

static const struct vr_reconciler_ops *const reconcilers[] = {
    &vr_dlr_reconciler,
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

static int start_controllers(struct vr_app *app)
{
    for (size_t i = 0; i < sizeof(reconcilers) / sizeof(reconcilers[0]); i++) {
        void *ctrl;
        int rc = reconcilers[i]->create(app, &ctrl);
        if (rc < 0) {
            VR_LOG(VR_LOG_ERROR, "app", "cannot create controller=%s: %s", reconcilers[i]->name,
                   vr_strerror(rc));
            return rc;
        }
        reconcilers[i]->start(ctrl);
    }
    return 0;
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
    if (start_controllers(&app) < 0) {
        app.exit_code = 1;
        vr_app_stop(&app);
    }
    int code = vr_app_run(&app);
    if (vr_app_cleanup(&app) < 0 && code == 0)
        code = 1;
    VR_LOG(VR_LOG_INFO, "app", "vreqd stopped exit=%d", code);
    return code;
}
