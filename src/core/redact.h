/*
 * Redaction of presigned URLs for logs (STYLE.md §6). A presigned URL, a DownloadRequest's
 * status.downloadURL included, is a bearer credential until it expires: it is logged only
 * as scheme://host/path?<redacted>. Pure: no allocation, no I/O, no logging.
 */
#ifndef VR_CORE_REDACT_H
#define VR_CORE_REDACT_H

#include <stddef.h>

/* The text that replaces a query string. */
#define VR_REDACTED "<redacted>"

/* Writes url without userinfo (user:password@), without fragment, and with any query
 * string (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, X-Goog-Signature,
 * Azure sig=, and everything else) replaced by "?<redacted>", into out (cap bytes, always
 * NUL-terminated; a longer result is cut and ends with "..."). A NULL url gives "".
 * Returns out, so the call can sit in a log argument list. cap must be at least 16. */
const char *vr_redact_url(const char *url, char *out, size_t cap);

#endif
