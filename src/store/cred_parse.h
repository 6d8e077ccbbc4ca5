/*
 * Internal to src/store/cred*: the pure halves of the credential fetches (no I/O, no clock,
 * no logging), tested synchronously by test_cred_ini.c.
 */
#ifndef VR_STORE_CRED_PARSE_H
#define VR_STORE_CRED_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/aws_creds.h"
#include "vreq/buf.h"
#include "vreq/str.h"

/* Parses an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00|-HH:MM)" into Unix
 * seconds. 0 or VR_EPARSE. */
int vr__cred_parse_time(struct vr_str s, int64_t *out);

/* Appends the AssumeRoleWithWebIdentity form body (presign.md §4.3), every value
 * form-URL-encoded. 0 or VR_ETOOBIG. */
int vr__cred_sts_body(struct vr_buf *b, const char *role_arn, const char *session_name,
                      struct vr_str token);

/* Interprets an STS answer (http_status, body). 200: *out gets the Credentials (source
 * "web-identity"; an Expiration that does not parse means now_s + 900). Otherwise the
 * ErrorResponse's Code and Message go into err and the code is VR_ESERVER (5xx, 429,
 * Throttling, IDPCommunicationError, ExpiredTokenException: retry) or VR_EFORBIDDEN. A 200
 * without credentials is VR_EPARSE. *out is written only on success. */
int vr__cred_parse_sts(int http_status, struct vr_str body, int64_t now_s,
                       struct vr_aws_creds *out, char *err, size_t errcap);

/* Interprets the JSON credentials of the container endpoint and IMDS (AccessKeyId,
 * SecretAccessKey, Token, Expiration; a "Code" other than "Success" is refused). source is
 * stored in out. 0, VR_EPARSE (err says what is missing). */
int vr__cred_parse_json(struct vr_str body, const char *source, int64_t now_s,
                        struct vr_aws_creds *out, char *err, size_t errcap);

/* Whether a container credentials URL may be used: https to any host, http only to
 * loopback (127/8, localhost, ::1), 169.254.170.2, 169.254.170.23 or fd00:ec2::23; no
 * userinfo. */
bool vr__cred_container_url_ok(const char *url);

#endif
