/*
 * curl's debug output, redacted, as trace lines of subsystem "curl" (STYLE.md §6: raw
 * CURLOPT_VERBOSE output never reaches a log). Internal to src/http.
 *
 * req.c turns it on for a request only when vr_log_enabled(VR_LOG_TRACE, "curl") holds at
 * vr_req_start: CURLOPT_VERBOSE plus CURLOPT_DEBUGFUNCTION = vr_curl_debug_cb. Otherwise
 * neither is set and curl formats no debug text at all.
 *
 * What is logged, one trace line per line of curl output:
 *   "* <text>"   curl's own messages (connect, TLS handshake, proxy, redirects, errors)
 *   "> <line>"   each request header line, the request line first
 *   "< <line>"   each response header line, the status line first
 *   "< [N bytes data]", "> [N bytes data]"   body data: the byte count only
 * TLS record data (CURLINFO_SSL_DATA_*) is not logged.
 *
 * Redaction (vr_curl_debug_redact) happens before anything is logged:
 *   - the request target and every URL in a text line or header value: userinfo, query
 *     and fragment dropped, the query shown as "?<redacted>" (vr_redact_url); any other
 *     word with a '?' loses what follows it; an authority that looks like "user:pass"
 *     (a ':' not followed by a port number) becomes "<redacted>";
 *   - the value of a header whose name contains (case-insensitively) "auth", "token",
 *     "secret", "key", "credential", "cookie", "password", "passwd", "signature" or
 *     "bearer" becomes "<redacted>" (Authorization, Proxy-Authorization, Cookie,
 *     Set-Cookie, X-Amz-Security-Token, X-Aws-Ec2-Metadata-Token, WWW-Authenticate, ...);
 *     the one exception is X-Aws-Ec2-Metadata-Token-Ttl-Seconds with an all-digit value;
 *   - in text lines (HTTP/2 logs request headers as "h2h3 [name: value]"), everything
 *     after "name:" or "name=" for such a name, and everything after a word containing
 *     "cookie", "password", "passwd", "secret", "token", "bearer", "credential" or
 *     "signature", becomes "<redacted>";
 *   - a header-block line that is neither a request line, a status line nor "Name: value"
 *     (a folded continuation, a fragment) is replaced by "<redacted>" whole, and a text
 *     line at one of curl's message caps (255 or 2047 bytes, so possibly cut mid-word)
 *     has its last word replaced by "<redacted>".
 */
#ifndef VR_HTTP_CURL_DEBUG_H
#define VR_HTTP_CURL_DEBUG_H

#include <stddef.h>

#include <curl/curl.h>

/* Longest redacted line written; longer ones are cut and end with "...". */
#define VR_CURL_DEBUG_LINE_MAX 4096

enum vr_curl_debug_kind {
    VR_CURL_DEBUG_TEXT,   /* a line of curl's own messages (CURLINFO_TEXT) */
    VR_CURL_DEBUG_HEADER, /* a line of a header block (CURLINFO_HEADER_IN / _OUT) */
};

/* Pure. Writes the redacted form of one line (n bytes at line, without its CR LF; not
 * NUL-terminated; a NUL byte in it ends it) into out (cap bytes, at least 32; always NUL-terminated, cut with "..."
 * when longer) by the rules above, and returns the length written. */
size_t vr_curl_debug_redact(enum vr_curl_debug_kind kind, const char *line, size_t n, char *out,
                            size_t cap);

/* CURLOPT_DEBUGFUNCTION. clientp (CURLOPT_DEBUGDATA) is the request's const struct
 * vr_log_ctx * (or NULL), borrowed: it must outlive the easy handle's use. Splits data into
 * lines, redacts each and logs it at trace level, subsystem "curl", while trace for "curl"
 * is on. Always returns 0. */
int vr_curl_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *clientp);

#endif
