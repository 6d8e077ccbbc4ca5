/* Container credentials (ECS, EKS Pod Identity; presign.md §4.4), and the HTTP status mapping
 * the credential fetches share. */
#include <stdio.h>
#include <string.h>

#include "store/cred_int.h"
#include "store/cred_parse.h"
#include "vreq/err.h"
#include "vreq/mem.h"

int vr__cred_http_status(struct vr_cred *p, struct vr_req *req, int status, const char *label)
{
    if (status < 0) {
        vr__cred_err(p, "%s: %s", label, vr_req_error_text(req));
        return status;
    }
    int http = vr_req_http_status(req);
    if (http >= 200 && http < 300)
        return 0;
    vr__cred_err(p, "%s: HTTP %d", label, http);
    if (http >= 500 || http == 429)
        return VR_ESERVER;
    if (http == 401)
        return VR_EUNAUTH;
    if (http == 404)
        return VR_ENOTFOUND;
    if (http >= 400)
        return VR_EFORBIDDEN;
    return VR_EHTTP;
}

static void on_get_done(struct vr_req *req, int status, void *arg)
{
    struct vr_cred *p = arg;
    p->req = NULL;
    int rc = vr__cred_http_status(p, req, status, "container credentials");
    struct vr_aws_creds fresh;
    if (rc == 0)
        rc = vr__cred_parse_json(vr_req_body(req), "container", vr_clock_now_s(p->clock), &fresh,
                                 p->err, sizeof(p->err));
    vr__cred_fetch_done(p, rc, rc == 0 ? &fresh : NULL);
}

static int get(struct vr_cred *p, struct vr_str token)
{
    struct vr_req *req = vr_req_new(p->cu, "GET", p->cont_url);
    if (token.n > 0) {
        char *line = vr_xasprintf("Authorization: %.*s", (int)token.n, token.p);
        int rc = vr_req_add_header(req, line);
        vr_free_secret(line, strlen(line));
        if (rc < 0) {
            vr_req_free(req);
            vr__cred_err(p, "the container authorization token contains a line break");
            return VR_ECONFIG;
        }
    }
    (void)vr_req_add_header(req, "Accept: application/json");
    return vr__cred_req_start(p, req, VR__CRED_CONTAINER, 64 * 1024, p->http_timeout_ms,
                              on_get_done, "container credentials");
}

static void on_token_read(struct vr_cred *p, int status)
{
    int rc = status;
    if (p->closing)
        rc = VR_ECANCELED;
    else if (status < 0)
        vr__cred_err(p, "reading the container authorization token file %s: %s",
                     p->cont_token_file, uv_strerror(status));
    else
        rc = get(p, vr_str_trim(vr_buf_str(&p->fbuf)));
    vr_buf_cleanup_secret(&p->fbuf);
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

int vr__cred_ecs_start(struct vr_cred *p)
{
    if (!p->cont_token_file)
        return get(p, vr_str_c(p->env[VR__CRED_ENV_CONT_TOKEN]));
    p->step = VR__CRED_READ_TOKEN;
    int rc = vr__cred_read_file(p, p->cont_token_file, VR__CRED_TOKEN_MAX, on_token_read);
    if (rc < 0)
        vr__cred_err(p, "reading the container authorization token file %s: %s",
                     p->cont_token_file, uv_strerror(rc));
    return rc;
}
