/*
 * Fetching one Velero file through a DownloadRequest: create, wait (watch), download,
 * gunzip, stream to a sink, delete. Part of the CLI runtime (cli/cli.h includes this).
 */
#ifndef VR_CLI_FETCH_H
#define VR_CLI_FETCH_H
#include <stdbool.h>
#include <stddef.h>
#include "vreq/str.h"

struct vr_cli;
struct vr_cli_fetch;

/* Receives the (gunzipped unless BackupContents) file, in order, in pieces. The slice is
 * borrowed and valid only during the call. Return 0 to go on, or a negative code (a uv
 * error such as UV_EPIPE, or a VR_E* code) to stop: the fetch then ends with that code and
 * the message "writing output: <strerror>". */
typedef int (*vr_cli_sink_cb)(struct vr_str chunk, void *arg);
/* Runs exactly once per fetch that vr_cli_fetch accepted, always from the loop (never
 * inside vr_cli_fetch), after the DownloadRequest has been deleted. status is 0 or a
 * VR_E* code; errmsg (borrowed, valid during the call) is "" on success, else one line,
 * in Velero's wording where Velero has one:
 *   VR_ETIMEDOUT  "download request download url timeout, check velero server logs for
 *                 errors. backup storage location may not be available"
 *   VR_EINVALID   the Failed phase's status.message, or "download request failed, check
 *                 velero server logs for errors"
 *   VR_ENOTFOUND  "file not found" (HTTP 404 from the object store)
 *   VR_EHTTP      "request failed: <body>" (other HTTP status), or curl's transport error
 *   VR_ETOOBIG    "decompressed data exceeds the limit of N bytes (--max-decompressed-size)"
 *   VR_EPARSE     "gzip: ..." (corrupt or truncated gzip data)
 *   VR_ECANCELED  "interrupted" (SIGINT/SIGTERM)
 *   others        the Kubernetes API error ("creating download request: ...") */
typedef void (*vr_cli_fetch_done_cb)(int status, const char *errmsg, void *arg);

/* True for the 14 DownloadRequest target kinds ("BackupLog", "RestoreVolumeInfo", ...). */
bool vr_cli_kind_is_valid(const char *kind);
/* The canonical spelling of kind, matched ASCII case-insensitively; NULL when unknown. */
const char *vr_cli_kind_canonical(const char *kind);
/* The 14 kinds, in Velero's order; *n receives the count. */
const char *const *vr_cli_kinds(size_t *n);

/*
 * Fetches the file of kind for name (a backup, or a restore for the Restore* kinds) in the
 * Velero namespace: reads the backup's BackupStorageLocation CA (caCert, or the caCertRef
 * Secret) unless --insecure-skip-tls-verify; creates the DownloadRequest
 * "<name>-<uuid v4>"; waits for status.downloadURL with a watch on that one object from the
 * create's resourceVersion (polling every 250 ms only when the watch is forbidden), at most
 * timeout_ms (0 = cli->timeout_ms); a Failed phase ends the wait at once; downloads the URL
 * on the same loop (trusting the system store + BSL CA + --cacert), gunzips every kind but
 * BackupContents through core/gz capped at cli->max_decompressed, streams the bytes to
 * sink, deletes the request, then calls done once (see vr_cli_fetch_done_cb). A download
 * that receives no byte for timeout_ms fails as stalled. Requires vr_cli_connect.
 * Returns 0 (done will run), or VR_EINVAL (unknown kind, empty name, no client; done will
 * not run).
 */
int vr_cli_fetch(struct vr_cli *cli, const char *kind, const char *name, unsigned timeout_ms,
                 vr_cli_sink_cb sink, void *sink_arg, vr_cli_fetch_done_cb done, void *arg);

/* Writes "<target>-<uuid v4>" into out (cap outlen; needs strlen(target) + 38 bytes) with
 * 16 bytes from OpenSSL RAND_bytes (version nibble 4, RFC 4122 variant). 0, VR_ETOOBIG
 * (out too small) or VR_ECRYPTO (RAND_bytes failed). */
int vr_cli_request_name(const char *target, char *out, size_t outlen);
/* The same from 16 given bytes (pure; for tests). */
void vr_cli_uuid_format(const unsigned char rnd[16], char out[37]);

#endif
