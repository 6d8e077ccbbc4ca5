/* kubesim admin API (contract.md §9): /kubesim/faults, drop-watches, compact, stats. No
 * auth; JSON bodies. Fault rules match API paths only (sim.c applies them). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vreq/mem.h"
#include "core/common.h"

#include "sim_int.h"

#define DELAY_MAX_MS 600000

static const char *const class_names[KS_REQ_COUNTED] = {
    [KS_REQ_GET] = "GET",     [KS_REQ_LIST] = "LIST", [KS_REQ_WATCH] = "WATCH",
    [KS_REQ_POST] = "POST",   [KS_REQ_PATCH] = "PATCH", [KS_REQ_PUT] = "PUT",
    [KS_REQ_DELETE] = "DELETE",
};

static void admin_error(struct vr_http_req *req, int code, const char *reason, const char *msg)
{
    struct ks_status st;
    ks__status_set(&st, code, reason, "%s", msg);
    ks__respond_status(req, &st, NULL, 0);
}

/* ---- rules ---- */

static void fault_free(struct ks_fault *f)
{
    vr_free(f->path_prefix);
    vr_free(f);
}

void ks__faults_clear(struct ks_sim *sim)
{
    while (sim->faults) {
        struct ks_fault *f = sim->faults;
        sim->faults = f->next;
        fault_free(f);
    }
}

static bool method_matches(const struct ks_fault *f, const char *method, enum ks_req_class cls)
{
    if (strcmp(f->method, "*") == 0 || strcasecmp(f->method, method) == 0)
        return true;
    /* LIST and WATCH name request classes, so a rule can target them alone. */
    return cls < KS_REQ_COUNTED && cls != KS_REQ_GET && strcasecmp(f->method, class_names[cls]) == 0;
}

bool ks__fault_take(struct ks_sim *sim, const char *method, enum ks_req_class cls,
                    struct vr_str path, struct ks_fault *out)
{
    struct ks_fault **pp = &sim->faults;
    for (; *pp; pp = &(*pp)->next) {
        struct ks_fault *f = *pp;
        if (!method_matches(f, method, cls) || !vr_str_starts_with(path, f->path_prefix))
            continue;
        *out = *f;
        out->next = NULL;
        out->path_prefix = NULL;
        if (--f->count <= 0) {
            *pp = f->next;
            fault_free(f);
        }
        return true;
    }
    return false;
}

/* An optional integer field in [min, max]; def when absent. -1 on a bad value. */
static int int_field(const cJSON *body, const char *key, int min, int max, int def, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        v->valuedouble != (double)(int)v->valuedouble)
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

static int str_field(const cJSON *body, const char *key, const char *def, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsString(v))
        return -1;
    *out = v->valuestring;
    return 0;
}

/* Fills f from a rule document; returns an error message or NULL. */
static const char *fault_parse(const cJSON *body, struct ks_fault *f, const char **prefix)
{
    const char *method;
    int delay;
    if (!cJSON_IsObject(body))
        return "the body must be a JSON object";
    if (str_field(body, "method", "*", &method) < 0 || !method[0] ||
        strlen(method) >= sizeof(f->method))
        return "method must be an HTTP method or \"*\"";
    snprintf(f->method, sizeof(f->method), "%s", method);
    if (str_field(body, "path_prefix", "/", prefix) < 0)
        return "path_prefix must be a string";
    if (int_field(body, "code", 0, 599, 0, &f->code) < 0 || (f->code && f->code < 100))
        return "code must be an HTTP status code";
    if (int_field(body, "count", 1, 1000000, 1, &f->count) < 0)
        return "count must be a positive integer";
    if (int_field(body, "retry_after", 0, 86400, 0, &f->retry_after) < 0)
        return "retry_after must be a number of seconds";
    if (int_field(body, "delay_ms", 0, DELAY_MAX_MS, 0, &delay) < 0)
        return "delay_ms must be between 0 and 600000";
    f->delay_ms = (unsigned)delay;
    const cJSON *plain = cJSON_GetObjectItemCaseSensitive(body, "plain");
    if (plain && !cJSON_IsBool(plain))
        return "plain must be a boolean";
    f->plain = cJSON_IsTrue(plain);
    if (f->plain && f->code != 429)
        return "plain is only for code 429";
    if (!f->code && !f->delay_ms)
        return "a rule needs code or delay_ms";
    return NULL;
}

static cJSON *fault_json(const struct ks_fault *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", f->method);
    cJSON_AddStringToObject(o, "path_prefix", f->path_prefix);
    cJSON_AddNumberToObject(o, "code", f->code);
    cJSON_AddNumberToObject(o, "count", f->count);
    cJSON_AddNumberToObject(o, "retry_after", f->retry_after);
    cJSON_AddNumberToObject(o, "delay_ms", f->delay_ms);
    cJSON_AddBoolToObject(o, "plain", f->plain);
    return o;
}

static void fault_add(struct ks_sim *sim, struct vr_http_req *req)
{
    struct vr_str b = vr_http_req_body(req);
    cJSON *body = cJSON_ParseWithLengthOpts(b.p ? b.p : "", b.n, NULL, false);
    struct ks_fault *f = vr_xcalloc(1, sizeof(*f));
    const char *prefix = NULL;
    const char *err = body ? fault_parse(body, f, &prefix) : "the body is not JSON";
    if (err) {
        admin_error(req, 400, "BadRequest", err);
        goto out;
    }
    f->path_prefix = vr_xstrdup(prefix);
    struct ks_fault **pp = &sim->faults;
    while (*pp)
        pp = &(*pp)->next;
    *pp = f;
    cJSON *doc = fault_json(f);
    ks__respond_obj(req, 201, doc);
    cJSON_Delete(doc);
    f = NULL;
out:
    vr_free(f);
    cJSON_Delete(body);
}

static void faults_list(struct ks_sim *sim, struct vr_http_req *req)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "faults");
    for (const struct ks_fault *f = sim->faults; f; f = f->next)
        cJSON_AddItemToArray(arr, fault_json(f));
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

/* ---- other endpoints ---- */

static void respond_number(struct vr_http_req *req, const char *key, double n)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, key, n);
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

static void stats(struct ks_sim *sim, struct vr_http_req *req)
{
    char rv[24];
    cJSON *doc = cJSON_CreateObject();
    cJSON *counts = cJSON_AddObjectToObject(doc, "requests");
    for (int i = 0; i < KS_REQ_COUNTED; i++)
        cJSON_AddNumberToObject(counts, class_names[i], (double)sim->counts[i]);
    cJSON_AddNumberToObject(doc, "watches_open", sim->watches_open);
    snprintf(rv, sizeof(rv), "%" PRIu64, ks_store_rv(sim->store));
    cJSON_AddStringToObject(doc, "resource_version", rv);
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

static void compact(struct ks_sim *sim, struct vr_http_req *req)
{
    char rv[24];
    ks_store_compact(sim->store);
    snprintf(rv, sizeof(rv), "%" PRIu64, ks_store_rv(sim->store));
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "resource_version", rv);
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

/* POST /kubesim/token {"token":"T"}: replaces the bearer token ("" or null: auth off), so
 * tests can rotate it while clients run. */
static void set_token(struct ks_sim *sim, struct vr_http_req *req)
{
    struct vr_str b = vr_http_req_body(req);
    cJSON *body = cJSON_ParseWithLengthOpts(b.p ? b.p : "", b.n, NULL, false);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "token");
    if (!cJSON_IsObject(body) || (t && !cJSON_IsNull(t) && !cJSON_IsString(t))) {
        admin_error(req, 400, "BadRequest", "want {\"token\": \"...\"}");
        cJSON_Delete(body);
        return;
    }
    if (sim->token)
        vr_free_secret(sim->token, strlen(sim->token));
    sim->token = cJSON_IsString(t) && t->valuestring[0] ? vr_xstrdup(t->valuestring) : NULL;
    cJSON_Delete(body);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "auth", sim->token != NULL);
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

/* POST /kubesim/stall-watches {"ms":N}: holds every open watch stream for N ms. */
static void stall(struct ks_sim *sim, struct vr_http_req *req)
{
    struct vr_str b = vr_http_req_body(req);
    cJSON *body = cJSON_ParseWithLengthOpts(b.p ? b.p : "", b.n, NULL, false);
    int ms;
    if (!cJSON_IsObject(body) || !cJSON_GetObjectItemCaseSensitive(body, "ms") ||
        int_field(body, "ms", 1, DELAY_MAX_MS, 0, &ms) < 0)
        admin_error(req, 400, "BadRequest", "the body must be {\"ms\": 1..600000}");
    else
        respond_number(req, "stalled", ks__watch_stall_all(sim, (unsigned)ms));
    cJSON_Delete(body);
}

static void faults(struct ks_sim *sim, struct vr_http_req *req, const char *m)
{
    if (strcmp(m, "POST") == 0) {
        fault_add(sim, req);
    } else if (strcmp(m, "GET") == 0) {
        faults_list(sim, req);
    } else if (strcmp(m, "DELETE") == 0) {
        int n = 0;
        for (const struct ks_fault *f = sim->faults; f; f = f->next)
            n++;
        ks__faults_clear(sim);
        respond_number(req, "cleared", n);
    } else {
        admin_error(req, 405, "MethodNotAllowed", "use GET, POST or DELETE");
    }
}

void ks__admin_handle(struct ks_sim *sim, struct vr_http_req *req)
{
    struct vr_str path = vr_http_req_path(req);
    const char *m = vr_http_req_method(req);
    bool post = strcmp(m, "POST") == 0, get = strcmp(m, "GET") == 0;
    if (vr_str_eq_c(path, "/kubesim/faults"))
        faults(sim, req, m);
    else if (vr_str_eq_c(path, "/kubesim/drop-watches") && post)
        respond_number(req, "dropped", ks__watch_drop_all(sim));
    else if (vr_str_eq_c(path, "/kubesim/stall-watches") && post)
        stall(sim, req);
    else if (vr_str_eq_c(path, "/kubesim/compact") && post)
        compact(sim, req);
    else if (vr_str_eq_c(path, "/kubesim/stats") && get)
        stats(sim, req);
    else if (vr_str_eq_c(path, "/kubesim/token") && post)
        set_token(sim, req);
    else if (vr_str_eq_c(path, "/kubesim/drop-watches") || vr_str_eq_c(path, "/kubesim/compact") ||
             vr_str_eq_c(path, "/kubesim/stall-watches") ||
             vr_str_eq_c(path, "/kubesim/stats") || vr_str_eq_c(path, "/kubesim/token"))
        admin_error(req, 405, "MethodNotAllowed", "method not allowed on this admin endpoint");
    else
        admin_error(req, 404, "NotFound", "unknown kubesim admin endpoint");
}
