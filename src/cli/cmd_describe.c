/* `vreq backup describe NAME [--details]` and `vreq restore describe NAME [--details]`:
 * read the object, fetch the files the describe needs one at a time (30 s each, like
 * Velero), then print the rendered text (cli/describe.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/describe.h"
#include "vreq/err.h"

#define DESCRIBE_FETCH_TIMEOUT_MS 30000u
#define DESCRIBE_FILE_CAP ((size_t)256 << 20)

struct describe_run {
    struct vr_cli *cli;
    bool backup, details;
    const char *name;
    cJSON *obj;
    struct vr_dfiles files;
    struct vr_buf data[VR_DK_COUNT];
    char *errs[VR_DK_COUNT];
    enum vr_dkind cur;
};

static void run_free(struct describe_run *r)
{
    for (size_t i = 0; i < VR_DK_COUNT; i++) {
        vr_buf_cleanup(&r->data[i]);
        vr_free(r->errs[i]);
    }
    cJSON_Delete(r->obj);
    vr_free(r);
}

static void finish(struct describe_run *r)
{
    struct vr_buf out;
    vr_buf_init(&out, (size_t)1 << 30);
    int rc = r->backup ? vr_describe_backup(r->obj, r->details, &r->files, &out)
                       : vr_describe_restore(r->obj, r->details, &r->files, &out);
    if (rc == 0)
        rc = vr_cli_write_all(1, vr_buf_str(&out));
    vr_buf_cleanup(&out);
    if (rc < 0)
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "writing output: %s", vr_strerror(rc));
    else
        vr_cli_exit(r->cli, VR_CLI_EXIT_OK, NULL);
    run_free(r);
}

static int on_chunk(struct vr_str chunk, void *arg)
{
    struct describe_run *r = arg;
    return vr_buf_append(&r->data[r->cur], chunk.p, chunk.n);
}

static void next(struct describe_run *r);

static void on_fetched(int status, const char *errmsg, void *arg)
{
    struct describe_run *r = arg;
    struct vr_dfile *f = &r->files.f[r->cur];
    if (status == VR_ECANCELED) {
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "%s", errmsg);
        run_free(r);
        return;
    }
    if (status == 0) {
        f->state = VR_DFILE_OK;
        f->data = vr_buf_str(&r->data[r->cur]);
    } else if (status == VR_ENOTFOUND) {
        f->state = VR_DFILE_NOT_FOUND;
    } else {
        r->errs[r->cur] = vr_xstrdup(errmsg && *errmsg ? errmsg : vr_strerror(status));
        f->state = VR_DFILE_ERROR;
        f->err = r->errs[r->cur];
    }
    next(r);
}

/* Fetches the next file the renderer asks for, or prints when none is left. */
static void next(struct describe_run *r)
{
    bool more = r->backup ? vr_describe_backup_next(r->obj, r->details, &r->files, &r->cur)
                          : vr_describe_restore_next(r->obj, r->details, &r->files, &r->cur);
    if (!more) {
        finish(r);
        return;
    }
    vr_buf_init(&r->data[r->cur], DESCRIBE_FILE_CAP);
    if (vr_cli_fetch(r->cli, vr_dkind_target(r->cur), r->name, DESCRIBE_FETCH_TIMEOUT_MS,
                     on_chunk, r, on_fetched, r) < 0) {
        struct vr_dfile *f = &r->files.f[r->cur];
        f->state = VR_DFILE_ERROR;
        f->err = "cannot start the download request";
        next(r);
    }
}

static void on_object(int status, const struct vr_kube_result *res, void *arg)
{
    struct describe_run *r = arg;
    const char *res_name = r->backup ? "backups.velero.io" : "restores.velero.io";
    if (status == VR_ENOTFOUND) {
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "%s \"%s\" not found", res_name, r->name);
        run_free(r);
        return;
    }
    if (status < 0 || !cJSON_IsObject(res->obj)) {
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "getting %s \"%s\": %s", res_name, r->name,
                    status < 0 && res->status->message[0] ? res->status->message
                                                          : vr_strerror(status));
        run_free(r);
        return;
    }
    r->obj = cJSON_Duplicate(res->obj, 1);
    next(r);
}

static void start(struct vr_cli *cli, const struct vr_cli_args *args, bool backup)
{
    struct describe_run *r = vr_xcalloc(1, sizeof(*r));
    r->cli = cli;
    r->backup = backup;
    r->details = args->details;
    r->name = args->pos[0];
    (void)vr_kube_get(cli->kube, backup ? &vr_kube_res_backups : &vr_kube_res_restores,
                      cli->namespace, r->name, on_object, r);
}

void vr_cmd_backup_describe(struct vr_cli *cli, const struct vr_cli_args *args)
{
    start(cli, args, true);
}

void vr_cmd_restore_describe(struct vr_cli *cli, const struct vr_cli_args *args)
{
    start(cli, args, false);
}
