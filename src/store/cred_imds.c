/* EC2 IMDSv2 (presign.md §4.5): PUT a session token, GET the role name, GET its credentials.
 * A 401 on a GET means the token expired: start over once with a new one. */
#include <stdio.h>
#include <string.h>

#include "store/cred_int.h"
#include "store/cred_parse.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define TOKEN_TTL_S 21600
#define CREDS_PATH "/latest/meta-data/iam/security-credentials/"

static int token_put(struct vr_cred *p);
static int role_get(struct vr_cred *p);

static int start(struct vr_cred *p, struct vr_req *req, vr_req_done_cb done,
                 enum vr__cred_step step)
{
    return vr__cred_req_start(p, req, step, 64 * 1024, p->imds_timeout_ms, done, "IMDS");
}

static struct vr_req *get_with_token(struct vr_cred *p, const char *path, const char *role)
{
    char *url = vr_xasprintf("%s%s%s", p->imds_base, path, role ? role : "");
    struct vr_req *req = vr_req_new(p->cu, "GET", url);
    vr_free(url);
    char *line = vr_xasprintf("X-aws-ec2-metadata-token: %s", p->imds_token);
    (void)vr_req_add_header(req, line); /* the token was checked when it arrived */
    vr_free_secret(line, strlen(line));
    return req;
}

/* A 401 on a GET: the token expired; fetch a new one once per fetch. */
static int retry_on_401(struct vr_cred *p, int rc)
{
    if (rc != VR_EUNAUTH || p->imds_retried)
        return rc;
    p->imds_retried = true;
    vr_free_secret(p->imds_token, strlen(p->imds_token));
    p->imds_token = NULL;
    return token_put(p);
}

static void on_creds(struct vr_req *req, int status, void *arg)
{
    struct vr_cred *p = arg;
    p->req = NULL;
    int rc = vr__cred_http_status(p, req, status, "IMDS credentials");
    struct vr_aws_creds fresh;
    if (rc == 0) {
        rc = vr__cred_parse_json(vr_req_body(req), "imds", vr_clock_now_s(p->clock), &fresh,
                                 p->err, sizeof(p->err));
        vr__cred_fetch_done(p, rc, rc == 0 ? &fresh : NULL);
        return;
    }
    if (!p->closing)
        rc = retry_on_401(p, rc);
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

/* The first line of the role list; false when it is not a usable path segment. */
static bool take_role(struct vr_cred *p, struct vr_str body)
{
    struct vr_str line, rest;
    (void)vr_str_split(body, '\n', &line, &rest);
    line = vr_str_trim(line);
    if (line.n == 0 || line.n > 128)
        return false;
    for (size_t i = 0; i < line.n; i++) {
        char c = line.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c)))
            return false;
    }
    vr_free(p->imds_role);
    p->imds_role = vr_str_dup(line);
    return true;
}

static void on_role(struct vr_req *req, int status, void *arg)
{
    struct vr_cred *p = arg;
    p->req = NULL;
    int rc = vr__cred_http_status(p, req, status, "IMDS role");
    if (rc == 0 && p->closing)
        rc = VR_ECANCELED;
    if (rc == VR_ENOTFOUND) {
        vr__cred_err(p, "IMDS: no IAM role is attached to this instance");
        rc = VR_ECONFIG;
    } else if (rc == 0 && !take_role(p, vr_req_body(req))) {
        vr__cred_err(p, "IMDS: malformed role name");
        rc = VR_EPARSE;
    } else if (rc == 0) {
        rc = start(p, get_with_token(p, CREDS_PATH, p->imds_role), on_creds, VR__CRED_IMDS_CREDS);
    } else if (!p->closing) {
        rc = retry_on_401(p, rc);
    }
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

static int role_get(struct vr_cred *p)
{
    return start(p, get_with_token(p, CREDS_PATH, NULL), on_role, VR__CRED_IMDS_ROLE);
}

static int take_token(struct vr_cred *p, struct vr_str body)
{
    struct vr_str t = vr_str_trim(body);
    if (t.n == 0 || t.n > 4096 || memchr(t.p, '\n', t.n) || memchr(t.p, '\r', t.n) ||
        memchr(t.p, '\0', t.n)) {
        vr__cred_err(p, "IMDS: malformed session token");
        return VR_EPARSE;
    }
    if (p->imds_token)
        vr_free_secret(p->imds_token, strlen(p->imds_token));
    p->imds_token = vr_str_dup(t);
    p->imds_token_exp_ms = vr_clock_now_ms(p->clock) + (uint64_t)(TOKEN_TTL_S - 5) * 1000;
    return 0;
}

static void on_token(struct vr_req *req, int status, void *arg)
{
    struct vr_cred *p = arg;
    p->req = NULL;
    int rc = vr__cred_http_status(p, req, status, "IMDS token");
    if (rc == 0)
        rc = take_token(p, vr_req_body(req));
    if (rc == 0 && !p->closing)
        rc = role_get(p);
    else if (rc == 0)
        rc = VR_ECANCELED;
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

static int token_put(struct vr_cred *p)
{
    char *url = vr_xasprintf("%s/latest/api/token", p->imds_base);
    struct vr_req *req = vr_req_new(p->cu, "PUT", url);
    vr_free(url);
    (void)vr_req_add_header(req, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    return start(p, req, on_token, VR__CRED_IMDS_TOKEN);
}

int vr__cred_imds_start(struct vr_cred *p)
{
    p->imds_retried = false;
    if (p->imds_token && vr_clock_now_ms(p->clock) < p->imds_token_exp_ms)
        return role_get(p);
    return token_put(p);
}
