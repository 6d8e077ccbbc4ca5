/* Web identity (IRSA): re-read the token file, then an unsigned STS AssumeRoleWithWebIdentity
 * POST (presign.md §4.3). */
#include <string.h>

#include "store/cred_int.h"
#include "store/cred_parse.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static void on_sts_done(struct vr_req *req, int status, void *arg)
{
    struct vr_cred *p = arg;
    p->req = NULL;
    if (status < 0) {
        vr__cred_err(p, "STS AssumeRoleWithWebIdentity: %s", vr_req_error_text(req));
        vr__cred_fetch_done(p, status, NULL);
        return;
    }
    struct vr_aws_creds fresh;
    int rc = vr__cred_parse_sts(vr_req_http_status(req), vr_req_body(req),
                                vr_clock_now_s(p->clock), &fresh, p->err, sizeof(p->err));
    vr__cred_fetch_done(p, rc, rc == 0 ? &fresh : NULL);
}

/* Builds and starts the POST; the body holds the token, a secret. */
static int post(struct vr_cred *p, struct vr_str token)
{
    struct vr_buf body;
    vr_buf_init(&body, 2 * VR__CRED_TOKEN_MAX);
    int rc = vr__cred_sts_body(&body, p->role_arn, p->session_name, token);
    if (rc < 0) {
        vr_buf_cleanup_secret(&body);
        vr__cred_err(p, "STS AssumeRoleWithWebIdentity: request too large");
        return VR_ECONFIG;
    }
    struct vr_req *req = vr_req_new(p->cu, "POST", p->sts_url);
    (void)vr_req_add_header(req, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    (void)vr_req_add_header(req, "Accept: text/xml");
    size_t n;
    char *b = vr_buf_take(&body, &n);
    vr_req_set_body_take(req, b, n);
    return vr__cred_req_start(p, req, VR__CRED_STS, 256 * 1024, p->http_timeout_ms, on_sts_done,
                              "STS AssumeRoleWithWebIdentity");
}

static void on_token_read(struct vr_cred *p, int status)
{
    int rc = status;
    if (p->closing) {
        rc = VR_ECANCELED;
    } else if (status < 0) {
        vr__cred_err(p, "reading the web identity token file %s: %s", p->token_file,
                     uv_strerror(status));
    } else {
        struct vr_str tok = vr_str_trim(vr_buf_str(&p->fbuf));
        if (tok.n == 0) {
            vr__cred_err(p, "the web identity token file %s is empty", p->token_file);
            rc = VR_EPARSE;
        } else {
            rc = post(p, tok);
        }
    }
    vr_buf_cleanup_secret(&p->fbuf);
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

int vr__cred_sts_start(struct vr_cred *p)
{
    p->step = VR__CRED_READ_TOKEN;
    int rc = vr__cred_read_file(p, p->token_file, VR__CRED_TOKEN_MAX, on_token_read);
    if (rc < 0)
        vr__cred_err(p, "reading the web identity token file %s: %s", p->token_file,
                     uv_strerror(rc));
    return rc;
}
