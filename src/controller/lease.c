/* Leader election, the pure half: decisions, records, MicroTime (see lease.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "controller/lease.h"
#include "core/common.h"
#include "core/timefmt.h"
#include "vreq/err.h"

const char *vr_lease_action_name(enum vr_lease_action a)
{
    switch (a) {
    case VR_LEASE_CREATE:
        return "create";
    case VR_LEASE_ACQUIRE:
        return "acquire";
    case VR_LEASE_RENEW:
        return "renew";
    case VR_LEASE_WAIT:
        return "wait";
    case VR_LEASE_LOST:
        return "lost";
    }
    return "unknown";
}

static bool record_equal(const struct vr_lease_record *a, const struct vr_lease_record *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->duration_s == b->duration_s &&
           a->acquire_us == b->acquire_us && a->renew_us == b->renew_us &&
           a->transitions == b->transitions;
}

void vr_lease_observe(struct vr_lease_obs *obs, const struct vr_lease_record *rec,
                      uint64_t now_ms)
{
    if (obs->have && record_equal(&obs->rec, rec))
        return;
    obs->have = true;
    obs->rec = *rec;
    obs->observed_ms = now_ms;
}

static void new_record(struct vr_lease_record *r, const char *identity, int64_t duration_s,
                       int64_t now_us, int64_t transitions)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->holder, sizeof(r->holder), "%s", identity);
    r->duration_s = duration_s;
    r->acquire_us = now_us;
    r->renew_us = now_us;
    r->transitions = transitions;
}

void vr_lease_decide(const struct vr_lease_obs *obs, bool found, const char *identity,
                     bool leading, uint64_t now_ms, int64_t now_us, int64_t duration_s,
                     struct vr_lease_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (!found || !obs->have) {
        plan->action = VR_LEASE_CREATE;
        new_record(&plan->rec, identity, duration_s, now_us, 0);
        return;
    }
    const struct vr_lease_record *o = &obs->rec;
    bool mine = strcmp(o->holder, identity) == 0;
    int64_t dur = o->duration_s > 0 ? o->duration_s : 0;
    uint64_t expires = obs->observed_ms + (uint64_t)dur * 1000;
    /* client-go: valid while observedTime + leaseDuration > now, on the local clock. */
    if (o->holder[0] && !mine && expires > now_ms) {
        plan->action = leading ? VR_LEASE_LOST : VR_LEASE_WAIT;
        plan->expires_ms = expires;
        return;
    }
    if (mine) {
        plan->action = VR_LEASE_RENEW;
        new_record(&plan->rec, identity, duration_s, now_us, o->transitions);
        if (o->acquire_us)
            plan->rec.acquire_us = o->acquire_us;
    } else {
        plan->action = VR_LEASE_ACQUIRE;
        new_record(&plan->rec, identity, duration_s, now_us, o->transitions + 1);
    }
}

void vr_lease_release_record(const struct vr_lease_record *cur, int64_t now_us,
                             struct vr_lease_record *out)
{
    new_record(out, "", 1, now_us, cur->transitions);
}

/* ---- MicroTime ---- */

void vr_lease_format_time(int64_t us, char *out, size_t cap)
{
    vr_time_format_rfc3339_us(us, out, cap);
}

int vr_lease_parse_time(const char *s, int64_t *out)
{
    int64_t secs;
    int32_t us;
    int rc = vr_time_parse_rfc3339(s, s ? strlen(s) : 0, 0, &secs, &us);
    if (rc == 0)
        *out = secs * 1000000 + us;
    return rc;
}

/* ---- JSON ---- */

static int time_field(const cJSON *spec, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, name);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return VR_EPARSE;
    return vr_lease_parse_time(v->valuestring, out);
}

static int int_field(const cJSON *spec, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, name);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < -2147483648.0 || v->valuedouble > 2147483647.0)
        return VR_EPARSE;
    *out = (int64_t)v->valuedouble;
    return 0;
}

int vr_lease_record_from_json(const cJSON *lease, struct vr_lease_record *out)
{
    struct vr_lease_record r;
    memset(&r, 0, sizeof(r));
    if (!cJSON_IsObject(lease))
        return VR_EPARSE;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (spec && !cJSON_IsNull(spec)) {
        if (!cJSON_IsObject(spec))
            return VR_EPARSE;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity");
        if (h && !cJSON_IsNull(h) &&
            (!cJSON_IsString(h) || strlen(h->valuestring) >= sizeof(r.holder)))
            return VR_EPARSE;
        if (cJSON_IsString(h))
            snprintf(r.holder, sizeof(r.holder), "%s", h->valuestring);
        if (int_field(spec, "leaseDurationSeconds", &r.duration_s) < 0 ||
            int_field(spec, "leaseTransitions", &r.transitions) < 0 ||
            time_field(spec, "acquireTime", &r.acquire_us) < 0 ||
            time_field(spec, "renewTime", &r.renew_us) < 0)
            return VR_EPARSE;
    }
    *out = r;
    return 0;
}

static void set_item(cJSON *obj, const char *name, cJSON *item)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item);
    else
        cJSON_AddItemToObject(obj, name, item);
}

static cJSON *time_item(int64_t us)
{
    char t[40];
    if (!us)
        return cJSON_CreateNull();
    vr_lease_format_time(us, t, sizeof(t));
    return cJSON_CreateString(t);
}

void vr_lease_record_to_json(const struct vr_lease_record *rec, cJSON *lease)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (!cJSON_IsObject(spec)) {
        spec = cJSON_CreateObject();
        set_item(lease, "spec", spec);
    }
    set_item(spec, "holderIdentity", cJSON_CreateString(rec->holder));
    set_item(spec, "leaseDurationSeconds", cJSON_CreateNumber((double)rec->duration_s));
    set_item(spec, "acquireTime", time_item(rec->acquire_us));
    set_item(spec, "renewTime", time_item(rec->renew_us));
    set_item(spec, "leaseTransitions", cJSON_CreateNumber((double)rec->transitions));
}

int vr_lease_identity(char *out, size_t cap)
{
    char host[256];
    unsigned char u[16];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    int rc = uv_random(NULL, NULL, u, sizeof(u), 0, NULL);
    if (rc < 0)
        return rc;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, cap,
             "%s_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", host,
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
    return 0;
}
