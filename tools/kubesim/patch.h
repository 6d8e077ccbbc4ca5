/*
 * JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902) on cJSON trees, for kubesim's
 * PATCH handling (kube-api.md §4.4). Pure: no I/O, no logging.
 */
#ifndef KUBESIM_PATCH_H
#define KUBESIM_PATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Most operations a JSON patch may hold (kube-apiserver's maxJSONPatchOperations). */
#define KS_PATCH_MAX_OPS 10000

/* Applies merge patch `patch` to *target in place: objects merge recursively, null
 * removes a key, anything else (arrays included) replaces wholesale. When patch is not
 * an object the result is a copy of patch (*target is freed and replaced). *target may
 * be NULL (treated as absent). Always succeeds; returns 0. */
int ks_patch_merge(cJSON **target, const cJSON *patch);

/* Applies JSON patch `ops` (an array of operation objects) to *target. All or nothing:
 * on any failure *target is untouched. Returns 0 (*target replaced by the result),
 * VR_EPARSE (malformed patch: not an array, unknown op, missing or mistyped member,
 * bad pointer syntax: HTTP 400), VR_ETOOBIG (more than KS_PATCH_MAX_OPS operations:
 * 413) or VR_EINVALID (an operation does not apply or a `test` failed: 422). On
 * failure err (errcap bytes, may be 0) holds a message naming the operation. */
int ks_patch_json(cJSON **target, const cJSON *ops, char *err, size_t errcap);

/* Resolves JSON pointer `ptr` (RFC 6901: "" is the whole document, ~1 is '/', ~0 is
 * '~') in doc. Returns the node or NULL when absent or when ptr is malformed. */
cJSON *ks_json_pointer_get(cJSON *doc, const char *ptr);

#endif
