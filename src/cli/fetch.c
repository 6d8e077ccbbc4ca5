/*
 * Fetching one Velero file through a DownloadRequest (see cli/fetch.h):
 *
 *   CA (BSL caCert / caCertRef, optional) -> CREATE -> WAIT (watch, or poll when the watch
 *   is forbidden) -> DOWNLOAD (vr_req, gunzip, sink) -> DELETE -> CLOSING -> done
 *
 * Any failure jumps to DELETE (or straight to CLOSING when nothing was created). A create
 * in flight is never cancelled: its answer decides whether there is something to delete.
 */
#include "cli/fetch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "cli/fetch_int.h"
#include "cli/progress.h"
#include "core/common.h"
#include "core/gz.h"
#include "kube/wdec.h"
#include "vreq/buf.h"
#include "vreq/err.h"

#define POLL_MS 250          /* GET interval when the watch is forbidden */
#define REWATCH_DELAY_MS 250 /* pause before re-watching after a watch error */
#define DELETE_GUARD_MS 5000 /* most time spent deleting the request at the end */
#define ERRBODY_CAP 1024     /* kept of a non-200 download body, for the message */
#define CA_CAP ((size_t)1024 * 1024)

static const char msg_url_timeout[] =
    "download request download url timeout, check velero server logs for errors. backup "
    "storage location may not be available";
static const char msg_failed[] = "download request failed, check velero server logs for errors";
static const char msg_tls_hint[] =
    " The --insecure-skip-tls-verify flag can also be used to accept any TLS certificate for "
    "the download, but it is susceptible to man-in-the-middle attacks.";

static const char *const kinds[] = {
    "BackupLog",          "BackupContents",
    "BackupVolumeSnapshots", "BackupItemOperations",
    "BackupResourceList", "BackupResults",
    "RestoreLog",         "RestoreResults",
    "RestoreResourceList", "RestoreItemOperations",
    "CSIBackupVolumeSnapshots", "CSIBackupVolumeSnapshotContents",
    "BackupVolumeInfos",  "RestoreVolumeInfo",
};

enum fetch_state {
    FS_CA,
    FS_CREATE,
    FS_WAIT,
    FS_DOWNLOAD,
    FS_DELETE,
    FS_CLOSING,
};

struct vr_cli_fetch {
    struct vr_cli *cli;
    struct vr_cli_fetch *next; /* cli->fetches */
    enum fetch_state state;
    char *kind, *target, *reqname;
    unsigned timeout_ms;
    bool gunzip, finishing, created, polling;
    bool in_watch_data, in_dl_data; /* inside those data callbacks */
    vr_cli_sink_cb sink;
    void *sink_arg;
    vr_cli_fetch_done_cb done;
    void *done_arg;
    /* In flight: at most one API call, one watch, one download. */
    struct vr_kube_call *call, *watch;
    struct vr_req *dl;
    struct vr_wdec wdec;
    char *rv;          /* last resourceVersion seen of the request */
    char *ca_key;      /* the BSL's caCertRef key */
    char *url;         /* status.downloadURL (a bearer credential: never logged) */
    struct vr_buf ca;  /* BSL CA, PEM */
    struct vr_gz gz;
    struct vr_buf errbody;
    struct vr_progress progress;
    uv_timer_t deadline; /* the wait deadline; while downloading, the stall timer */
    uv_timer_t retry;    /* poll / re-watch delay; while deleting, the delete guard */
    int handles_open;
    int status;          /* outcome, first failure wins */
    char *msg;
};

static void fetch_finish(struct vr_cli_fetch *f, int status, const char *fmt, ...)
    VR_PRINTF(3, 4);
static void ca_next_bsl(struct vr_cli_fetch *f, const cJSON *backup);
static void start_create(struct vr_cli_fetch *f);
static void start_watch(struct vr_cli_fetch *f);
static void start_get(struct vr_cli_fetch *f);
static void start_download(struct vr_cli_fetch *f);
static void maybe_release(struct vr_cli_fetch *f);
static void after_op(struct vr_cli_fetch *f);
static void on_retry(uv_timer_t *t);

/* ----- Kinds and names ----- */

const char *const *vr_cli_kinds(size_t *n)
{
    *n = VR_ARRAY_SIZE(kinds);
    return kinds;
}

const char *vr_cli_kind_canonical(const char *kind)
{
    for (size_t i = 0; kind && i < VR_ARRAY_SIZE(kinds); i++)
        if (strcasecmp(kinds[i], kind) == 0)
            return kinds[i];
    return NULL;
}

bool vr_cli_kind_is_valid(const char *kind)
{
    for (size_t i = 0; kind && i < VR_ARRAY_SIZE(kinds); i++)
        if (strcmp(kinds[i], kind) == 0)
            return true;
    return false;
}

void vr_cli_uuid_format(const unsigned char rnd[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    memcpy(b, rnd, 16);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int vr_cli_request_name(const char *target, char *out, size_t outlen)
{
    unsigned char rnd[16];
    char uuid[37];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return VR_ECRYPTO;
    vr_cli_uuid_format(rnd, uuid);
    int w = snprintf(out, outlen, "%s-%s", target, uuid);
    if (w < 0 || (size_t)w >= outlen)
        return VR_ETOOBIG;
    return 0;
}

/* ----- Small JSON helpers ----- */

/* The string at a dotted path of object members ("status.phase"), or NULL. */
static const char *json_str(const cJSON *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
        path += n + (path[n] == '.');
    }
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

static void set_str(char **dst, const char *s)
{
    vr_free(*dst);
    *dst = s ? vr_xstrdup(s) : NULL;
}

/* ----- Ending: record the outcome, delete the request, close, report ----- */

static void unlink_fetch(struct vr_cli_fetch *f)
{
    for (struct vr_cli_fetch **pp = &f->cli->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct vr_cli_fetch *f = h->data;
    if (--f->handles_open > 0)
        return;
    f->done(f->status, f->msg ? f->msg : "", f->done_arg);
    vr_wdec_cleanup(&f->wdec);
    vr_gz_cleanup(&f->gz);
    vr_buf_cleanup(&f->ca);
    vr_buf_cleanup(&f->errbody);
    vr_free(f->kind);
    vr_free(f->target);
    vr_free(f->reqname);
    vr_free(f->rv);
    vr_free(f->ca_key);
    if (f->url)
        vr_free_secret(f->url, strlen(f->url));
    vr_free(f->msg);
    vr_free(f);
}

/* Frees f (through the timers' close callbacks, which then report) once nothing is in
 * flight any more. */
static void maybe_release(struct vr_cli_fetch *f)
{
    if (f->state == FS_CLOSING || !f->finishing || f->call || f->watch || f->dl)
        return;
    if (f->created && f->state != FS_DELETE)
        return; /* the delete has not been issued yet */
    f->state = FS_CLOSING;
    unlink_fetch(f);
    uv_close((uv_handle_t *)&f->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&f->retry, on_handle_closed);
}

static void on_deleted(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    (void)status;
    (void)res;
    /* A failed delete is not the user's problem: vreqd removes expired requests. */
    f->call = NULL;
    uv_timer_stop(&f->retry);
    maybe_release(f);
}

static void start_delete(struct vr_cli_fetch *f)
{
    f->state = FS_DELETE;
    uv_timer_stop(&f->deadline);
    uv_timer_stop(&f->retry);
    f->call = vr_kube_delete(f->cli->kube, &vr_kube_res_downloadrequests, f->cli->namespace,
                             f->reqname, NULL, NULL, on_deleted, f);
    uv_timer_start(&f->retry, on_retry, DELETE_GUARD_MS, 0);
}

static void cancel_inflight(struct vr_cli_fetch *f)
{
    /* The create is never cancelled (see the top of the file). */
    if (f->call && f->state != FS_CREATE)
        vr_kube_call_cancel(f->call);
    /* Inside their own data callbacks, the watch and the download are stopped by the
     * callback's return code instead. */
    if (f->watch && !f->in_watch_data)
        vr_kube_call_cancel(f->watch);
    if (f->dl && !f->in_dl_data)
        vr_req_cancel(f->dl);
}

static void fetch_finish(struct vr_cli_fetch *f, int status, const char *fmt, ...)
{
    if (f->finishing)
        return;
    f->finishing = true;
    f->status = status;
    if (fmt) {
        struct vr_buf b;
        vr_buf_init(&b, 2048);
        va_list ap;
        va_start(ap, fmt);
        if (vr_buf_vprintf(&b, fmt, ap) == 0)
            f->msg = vr_buf_take(&b, NULL);
        va_end(ap);
        vr_buf_cleanup(&b);
    }
    vr_progress_finish(&f->progress, status == 0, vr_clock_now_ms(&f->cli->clock));
    uv_timer_stop(&f->deadline);
    uv_timer_stop(&f->retry);
    cancel_inflight(f);
    after_op(f);
}

/* Called whenever an operation completes while finishing: issues the delete once the
 * create's outcome is known and the other operations are gone. */
static void after_op(struct vr_cli_fetch *f)
{
    if (!f->finishing)
        return;
    if (f->created && f->state != FS_DELETE && !f->call && !f->watch && !f->dl) {
        start_delete(f);
        return;
    }
    maybe_release(f);
}

size_t vr__cli_fetch_interrupt(struct vr_cli *cli)
{
    size_t n = 0;
    struct vr_cli_fetch *f = cli->fetches;
    while (f) {
        struct vr_cli_fetch *next = f->next;
        if (!f->finishing) {
            fetch_finish(f, VR_ECANCELED, "interrupted");
            n++;
        }
        f = next;
    }
    return n;
}

/* ----- Timers ----- */

static void on_deadline(uv_timer_t *t)
{
    struct vr_cli_fetch *f = container_of(t, struct vr_cli_fetch, deadline);
    if (f->state == FS_DOWNLOAD)
        fetch_finish(f, VR_ETIMEDOUT, "download stalled: no data received for %u ms",
                     f->timeout_ms);
    else
        fetch_finish(f, VR_ETIMEDOUT, "%s", msg_url_timeout);
}

static void on_retry(uv_timer_t *t)
{
    struct vr_cli_fetch *f = container_of(t, struct vr_cli_fetch, retry);
    switch (f->state) {
    case FS_WAIT:
        start_get(f);
        return;
    case FS_DELETE:
        if (f->call)
            vr_kube_call_cancel(f->call); /* the delete guard */
        return;
    case FS_CA:
    case FS_CREATE:
    case FS_DOWNLOAD:
    case FS_CLOSING:
        return;
    }
}

/* ----- The BSL's CA: Backup (or Restore -> Backup) -> BSL -> caCertRef Secret / caCert --- */

static const char *api_error(int status, const struct vr_kube_result *res)
{
    if (res && res->status && res->status->message[0])
        return res->status->message;
    return vr_strerror(status);
}

/* Appends the base64-decoded s to f->ca (PEM text); bad base64 is ignored. */
static void ca_add_b64(struct vr_cli_fetch *f, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > CA_CAP)
        return;
    unsigned char *out = vr_xmalloc(n / 4 * 3 + 1);
    int w = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (w > 0) {
        size_t len = (size_t)w;
        for (size_t k = n; k > 0 && s[k - 1] == '=' && len > 0; k--)
            len--; /* EVP_DecodeBlock counts the padding as zero bytes */
        vr_buf_reset(&f->ca);
        (void)vr_buf_append(&f->ca, out, len);
        (void)vr_buf_putc(&f->ca, '\n');
    }
    vr_free(out);
}

static bool ca_step_done(struct vr_cli_fetch *f, int status)
{
    f->call = NULL;
    if (f->finishing) {
        after_op(f);
        return false;
    }
    if (status < 0) {
        start_create(f); /* no CA: the download may still work through the system store */
        return false;
    }
    return true;
}

static void on_ca_secret(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    if (!ca_step_done(f, status))
        return;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(res->obj, "data");
    const cJSON *v = f->ca_key ? cJSON_GetObjectItemCaseSensitive(data, f->ca_key) : NULL;
    if (cJSON_IsString(v))
        ca_add_b64(f, v->valuestring);
    start_create(f);
}

static void on_ca_bsl(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    if (!ca_step_done(f, status))
        return;
    const char *ref = json_str(res->obj, "spec.objectStorage.caCertRef.name");
    const char *key = json_str(res->obj, "spec.objectStorage.caCertRef.key");
    const char *ca = json_str(res->obj, "spec.objectStorage.caCert");
    if (ref && *ref && key && *key) {
        set_str(&f->ca_key, key);
        f->call = vr_kube_get(f->cli->kube, &vr_kube_res_secrets, f->cli->namespace, ref,
                              on_ca_secret, f);
        return;
    }
    if (ca)
        ca_add_b64(f, ca);
    start_create(f);
}

static void ca_next_bsl(struct vr_cli_fetch *f, const cJSON *backup)
{
    const char *bsl = json_str(backup, "spec.storageLocation");
    if (bsl == NULL || *bsl == '\0') {
        start_create(f);
        return;
    }
    f->call = vr_kube_get(f->cli->kube, &vr_kube_res_backupstoragelocations, f->cli->namespace,
                          bsl, on_ca_bsl, f);
}

static void on_ca_backup(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    if (ca_step_done(f, status))
        ca_next_bsl(f, res->obj);
}

static void on_ca_restore(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    if (!ca_step_done(f, status))
        return;
    const char *b = json_str(res->obj, "spec.backupName");
    if (b == NULL || *b == '\0') {
        start_create(f);
        return;
    }
    f->call = vr_kube_get(f->cli->kube, &vr_kube_res_backups, f->cli->namespace, b,
                          on_ca_backup, f);
}

static void start_ca(struct vr_cli_fetch *f)
{
    f->state = FS_CA;
    if (f->cli->opts.insecure_skip_tls_verify) {
        start_create(f);
        return;
    }
    bool restore = strncmp(f->kind, "Restore", 7) == 0;
    f->call = vr_kube_get(f->cli->kube, restore ? &vr_kube_res_restores : &vr_kube_res_backups,
                          f->cli->namespace, f->target, restore ? on_ca_restore : on_ca_backup,
                          f);
}

/* ----- Create and wait ----- */

/* Looks at the request; true when the wait is over (Failed, or the URL is there). */
static bool examine(struct vr_cli_fetch *f, const cJSON *obj)
{
    const char *rv = vr_wdec_object_rv(obj);
    if (rv)
        set_str(&f->rv, rv);
    const char *phase = json_str(obj, "status.phase");
    if (phase && strcmp(phase, "Failed") == 0) {
        const char *m = json_str(obj, "status.message");
        fetch_finish(f, VR_EINVALID, "%s", (m && *m) ? m : msg_failed);
        return true;
    }
    const char *url = json_str(obj, "status.downloadURL");
    if (url && *url) {
        set_str(&f->url, url);
        start_download(f);
        return true;
    }
    return false;
}

static void on_created(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    f->call = NULL;
    if (status == 0)
        f->created = true;
    if (f->finishing) {
        after_op(f);
        return;
    }
    if (status < 0) {
        fetch_finish(f, status, "creating download request: %s", api_error(status, res));
        return;
    }
    f->state = FS_WAIT;
    if (!examine(f, res->obj))
        start_watch(f);
}

static void start_create(struct vr_cli_fetch *f)
{
    f->state = FS_CREATE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "velero.io/v1");
    cJSON_AddStringToObject(o, "kind", "DownloadRequest");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", f->reqname);
    cJSON_AddStringToObject(md, "namespace", f->cli->namespace);
    cJSON *target = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "target");
    cJSON_AddStringToObject(target, "kind", f->kind);
    cJSON_AddStringToObject(target, "name", f->target);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    f->call = vr_kube_create(f->cli->kube, &vr_kube_res_downloadrequests, f->cli->namespace,
                             body, on_created, f);
    vr_free(body);
}

static int on_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    struct vr_cli_fetch *f = arg;
    struct vr_kube_status st;
    switch (type) {
    case VR_WDEC_ADDED:
    case VR_WDEC_MODIFIED:
        return examine(f, obj) ? VR_ECANCELED : 0;
    case VR_WDEC_DELETED:
        fetch_finish(f, VR_ENOTFOUND, "download request %s was deleted before it was processed",
                     f->reqname);
        return VR_ECANCELED;
    case VR_WDEC_BOOKMARK:
        set_str(&f->rv, vr_wdec_object_rv(obj));
        return 0;
    case VR_WDEC_ERROR:
        return vr_wdec_status(obj, &st);
    }
    return 0;
}

static int on_watch_data(struct vr_str chunk, void *arg)
{
    struct vr_cli_fetch *f = arg;
    f->in_watch_data = true;
    int rc = vr_wdec_feed(&f->wdec, chunk.p, chunk.n, on_event, f);
    f->in_watch_data = false;
    if (f->finishing || f->state != FS_WAIT)
        return VR_ECANCELED;
    return rc;
}

static void on_watch_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    (void)res;
    f->watch = NULL;
    vr_wdec_reset(&f->wdec);
    if (f->finishing || f->state != FS_WAIT) {
        after_op(f);
        return;
    }
    if (status == VR_EFORBIDDEN) {
        f->polling = true; /* RBAC without watch: fall back to polling */
        start_get(f);
    } else if (status == 0) {
        start_watch(f); /* the server ended the stream: resume from the last version */
    } else {
        /* 410 or a broken stream: re-read the object, then watch again. */
        uv_timer_start(&f->retry, on_retry, REWATCH_DELAY_MS, 0);
    }
}

static void start_watch(struct vr_cli_fetch *f)
{
    char fs[320];
    (void)snprintf(fs, sizeof(fs), "metadata.name=%s", f->reqname);
    struct vr_kube_watch_opts o;
    memset(&o, 0, sizeof(o));
    o.resource_version = f->rv;
    o.field_selector = fs;
    o.timeout_s = 300;
    f->watch = vr_kube_watch(f->cli->kube, &vr_kube_res_downloadrequests, f->cli->namespace, &o,
                             on_watch_data, on_watch_done, f);
}

static void on_got(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_cli_fetch *f = arg;
    f->call = NULL;
    if (f->finishing || f->state != FS_WAIT) {
        after_op(f);
        return;
    }
    if (status == VR_ENOTFOUND) {
        f->created = false;
        fetch_finish(f, status, "download request %s was deleted before it was processed",
                     f->reqname);
        return;
    }
    if (status < 0) {
        uv_timer_start(&f->retry, on_retry, POLL_MS, 0); /* the deadline bounds retries */
        return;
    }
    if (examine(f, res->obj))
        return;
    if (f->polling)
        uv_timer_start(&f->retry, on_retry, POLL_MS, 0);
    else
        start_watch(f);
}

static void start_get(struct vr_cli_fetch *f)
{
    f->call = vr_kube_get(f->cli->kube, &vr_kube_res_downloadrequests, f->cli->namespace,
                          f->reqname, on_got, f);
}

/* ----- Download ----- */

static int sink_emit(struct vr_str out, void *arg)
{
    struct vr_cli_fetch *f = arg;
    int rc = f->sink(out, f->sink_arg);
    if (rc < 0)
        fetch_finish(f, rc, "writing output: %s", vr_strerror(rc));
    return rc;
}

static void keep_errbody(struct vr_cli_fetch *f, struct vr_str chunk)
{
    size_t room = ERRBODY_CAP - f->errbody.len;
    (void)vr_buf_append(&f->errbody, chunk.p, chunk.n < room ? chunk.n : room);
}

static int on_dl_data(struct vr_req *req, struct vr_str chunk, void *arg)
{
    struct vr_cli_fetch *f = arg;
    if (vr_req_http_status(req) != 200) {
        keep_errbody(f, chunk);
        return 0;
    }
    struct vr_clock *clk = &f->cli->clock;
    if (f->progress.done == 0 && f->progress.total == 0) {
        uint64_t cl;
        if (vr_parse_uint64(vr_req_header(req, "Content-Length"), UINT64_MAX, &cl) == 0)
            vr_progress_set_total(&f->progress, cl);
    }
    uv_timer_start(&f->deadline, on_deadline, f->timeout_ms, 0); /* the stall timer */
    vr_progress_add(&f->progress, chunk.n, vr_clock_now_ms(clk));
    f->in_dl_data = true;
    int rc = f->gunzip ? vr_gz_feed(&f->gz, chunk.p, chunk.n, sink_emit, f) : sink_emit(chunk, f);
    if (rc == VR_ETOOBIG && f->gunzip)
        fetch_finish(f, rc, "decompressed data exceeds the limit of %llu bytes "
                            "(--max-decompressed-size)",
                     (unsigned long long)f->cli->max_decompressed);
    else if (rc < 0)
        fetch_finish(f, rc, "%s", vr_gz_error(&f->gz)); /* no-op after a sink error */
    f->in_dl_data = false;
    return rc < 0 ? rc : 0;
}

/* The body of a failed download as one line. */
static const char *errbody_line(struct vr_cli_fetch *f)
{
    if (f->errbody.len == 0)
        return "unable to decode response body";
    for (size_t i = 0; i < f->errbody.len; i++)
        if (f->errbody.p[i] == '\n' || f->errbody.p[i] == '\r')
            f->errbody.p[i] = ' ';
    return f->errbody.p;
}

static void on_dl_done(struct vr_req *req, int status, void *arg)
{
    struct vr_cli_fetch *f = arg;
    f->dl = NULL;
    if (f->finishing) {
        after_op(f);
        return;
    }
    int http = vr_req_http_status(req);
    if (status < 0) {
        const char *t = vr_req_error_text(req);
        bool tls = strstr(t, "certificate") || strstr(t, "SSL");
        fetch_finish(f, status, "download failed: %s.%s", t,
                     tls && !f->cli->opts.insecure_skip_tls_verify ? msg_tls_hint : "");
    } else if (http == 404) {
        fetch_finish(f, VR_ENOTFOUND, "file not found");
    } else if (http != 200) {
        fetch_finish(f, VR_EHTTP, "request failed: %s", errbody_line(f));
    } else if (f->gunzip && vr_gz_finish(&f->gz) < 0) {
        fetch_finish(f, VR_EPARSE, "%s", vr_gz_error(&f->gz));
    } else {
        fetch_finish(f, 0, NULL);
    }
}

/* System store + BSL CA + --cacert, as one PEM blob (a blob replaces the system store). */
static void build_ca(struct vr_cli_fetch *f, struct vr_buf *pem)
{
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    const char *path = (vi && vi->cainfo) ? vi->cainfo : "/etc/ssl/certs/ca-certificates.crt";
    FILE *fp = fopen(path, "rb");
    if (fp) {
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            (void)vr_buf_append(pem, chunk, n);
        (void)fclose(fp);
        (void)vr_buf_putc(pem, '\n');
    }
    (void)vr_buf_append(pem, f->ca.p ? f->ca.p : "", f->ca.len);
    if (f->cli->extra_ca_pem)
        (void)vr_buf_append(pem, f->cli->extra_ca_pem, f->cli->extra_ca_len);
}

static void start_download(struct vr_cli_fetch *f)
{
    struct vr_cli *cli = f->cli;
    f->state = FS_DOWNLOAD;
    uv_timer_start(&f->deadline, on_deadline, f->timeout_ms, 0);
    struct vr_req *req = vr_req_new(cli->cu, "GET", f->url);
    struct vr_tls_opts tls;
    memset(&tls, 0, sizeof(tls));
    tls.insecure_skip_verify = cli->opts.insecure_skip_tls_verify;
    struct vr_buf pem;
    vr_buf_init(&pem, 16 * CA_CAP);
    if (!tls.insecure_skip_verify && (f->ca.len > 0 || cli->extra_ca_pem)) {
        build_ca(f, &pem);
        tls.ca_pem = vr_buf_str(&pem);
    }
    int rc = vr_req_set_tls(req, &tls);
    vr_buf_cleanup(&pem);
    if (rc < 0) {
        vr_req_free(req);
        fetch_finish(f, rc, "download: cannot apply the TLS settings: %s", vr_strerror(rc));
        return;
    }
    vr_req_set_data_cb(req, on_dl_data, f);
    vr_progress_start(&f->progress, cli->progress, 2, vr_clock_now_ms(&cli->clock));
    rc = vr_req_start(req, on_dl_done, f);
    if (rc < 0) {
        fetch_finish(f, rc, "download: %s", vr_strerror(rc));
        return;
    }
    f->dl = req;
}

/* ----- Entry ----- */

int vr_cli_fetch(struct vr_cli *cli, const char *kind, const char *name, unsigned timeout_ms,
                 vr_cli_sink_cb sink, void *sink_arg, vr_cli_fetch_done_cb done, void *arg)
{
    if (!cli || !cli->kube || !vr_cli_kind_is_valid(kind) || !name || !*name || !sink || !done)
        return VR_EINVAL;
    size_t cap = strlen(name) + 40;
    char *reqname = vr_xmalloc(cap);
    int rc = vr_cli_request_name(name, reqname, cap);
    if (rc < 0) {
        vr_free(reqname);
        return rc;
    }
    struct vr_cli_fetch *f = vr_xcalloc(1, sizeof(*f));
    f->cli = cli;
    f->reqname = reqname;
    f->kind = vr_xstrdup(kind);
    f->target = vr_xstrdup(name);
    f->timeout_ms = timeout_ms ? timeout_ms : cli->timeout_ms;
    f->gunzip = strcmp(kind, "BackupContents") != 0;
    f->sink = sink;
    f->sink_arg = sink_arg;
    f->done = done;
    f->done_arg = arg;
    vr_wdec_init(&f->wdec, 0);
    vr_gz_init(&f->gz, cli->max_decompressed);
    vr_buf_init(&f->ca, CA_CAP);
    vr_buf_init(&f->errbody, ERRBODY_CAP);
    uv_timer_init(&cli->loop, &f->deadline);
    uv_timer_init(&cli->loop, &f->retry);
    f->deadline.data = f;
    f->retry.data = f;
    f->handles_open = 2;
    f->next = cli->fetches;
    cli->fetches = f;
    uv_timer_start(&f->deadline, on_deadline, f->timeout_ms, 0);
    start_ca(f);
    return 0;
}
