/*
 * Informer projections for the DownloadRequest controller (kube/cache.h): each keeps only
 * the fields the controller reads, never the whole object. Pure: no I/O, no logging.
 *
 * A projection never rejects an object for bad spec or status fields: it records what is
 * wrong in `bad` (a static sentence), so the controller can answer that object with a
 * clear permanent failure instead of the informer silently skipping it.
 */
#ifndef VR_CONTROLLER_PROJ_H
#define VR_CONTROLLER_PROJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kube/cache.h"

/* DownloadRequest. One allocation: the strings live in the same block, after the struct. */
struct vr_dlr_obj {
    char *kind;          /* spec.target.kind, NULL when missing */
    char *target;        /* spec.target.name, NULL when missing */
    char *phase;         /* status.phase, "" when unset */
    char *message;       /* status.message, "" when unset */
    bool has_url;        /* status.downloadURL non-empty */
    bool has_expiration;
    int64_t expiration_s; /* status.expiration, when has_expiration */
    int64_t created_s;    /* metadata.creationTimestamp, 0 when missing */
    const char *bad;      /* NULL, or why the object cannot be served (static text) */
};

/* Backup and Restore: the one reference and the phase. */
struct vr_bk_obj {
    char *ref;   /* Backup: spec.storageLocation; Restore: spec.backupName; NULL = missing */
    char *phase; /* status.phase, "" when unset */
};

/* BackupStorageLocation. */
struct vr_bsl_obj {
    char *provider;         /* spec.provider, NULL when missing */
    bool object_storage;    /* spec.objectStorage present */
    char *bucket;           /* spec.objectStorage.bucket, NULL when missing */
    char *prefix;           /* spec.objectStorage.prefix, "" when unset */
    cJSON *config;          /* copy of spec.config (object), NULL when unset */
    char *cred_name;        /* spec.credential.name, NULL when unset */
    char *cred_key;         /* spec.credential.key */
    char *ca_pem;           /* spec.objectStorage.caCert decoded, NULL when unset */
    size_t ca_pem_len;
    char *fingerprint;      /* spec serialised: equal() compares it */
    const char *bad;        /* wrong types (static text) */
};

/* Secret: data values, base64-decoded. Secrets: wiped on release. */
struct vr_secret_entry {
    char *key;
    char *value; /* NUL-terminated, len bytes */
    size_t len;
};

struct vr_secret_obj {
    size_t n;
    struct vr_secret_entry *e;
};

extern const struct vr_kcache_projector vr_proj_dlr;
extern const struct vr_kcache_projector vr_proj_backup;
extern const struct vr_kcache_projector vr_proj_restore;
extern const struct vr_kcache_projector vr_proj_bsl;
extern const struct vr_kcache_projector vr_proj_secret;

/* The value of key in a Secret payload (borrowed), or NULL. */
const struct vr_secret_entry *vr_secret_find(const struct vr_secret_obj *s, const char *key);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" into Unix seconds
 * (fraction dropped; a '.' without digits accepted): vr_time_parse_rfc3339 with
 * VR_RFC3339_EMPTY_FRAC (core/timefmt.h). 0 or VR_EPARSE (also for s NULL). */
int vr_rfc3339_parse(const char *s, int64_t *out);

/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes):
 * vr_time_format_rfc3339. */
void vr_rfc3339_format(int64_t t, char *out, size_t cap);

/* Strict base64 decoding (padding optional, no whitespace) into a new NUL-terminated buffer.
 * 0 (*out, *outlen written) or VR_EPARSE. */
int vr_base64_decode(const char *s, size_t n, char **out, size_t *outlen);

#endif
