/* Reads: get, list, and watch start (synthetic ADDEDs or replay from the ring). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "vreq/err.h"

int ks_store_get(struct ks_store *s, const struct ks_resource *res, const char *ns,
                 const char *name, const cJSON **out, struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    struct ks_entry *e = vr__ks_lookup(rs, res->namespaced ? (ns ? ns : "") : "", name);
    if (!e) {
        vr__ks_not_found(st, res, name);
        return -1;
    }
    *out = e->ver->obj;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct ks_entry *x = *(const struct ks_entry *const *)a;
    const struct ks_entry *y = *(const struct ks_entry *const *)b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

/* The entries sel matches, sorted by namespace/name (etcd key order). Caller frees. */
static struct ks_entry **matching_sorted(struct ks_rstate *rs, const struct ks_selector *sel,
                                         size_t *n)
{
    struct ks_entry **v = vr_xmalloc((rs->count ? rs->count : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < rs->nbuckets; i++)
        for (struct ks_entry *e = rs->buckets[i]; e; e = e->next)
            if (vr__ks_sel_match(sel, e->ns, e->name, e->ver->obj))
                v[k++] = e;
    qsort(v, k, sizeof(*v), entry_cmp);
    *n = k;
    return v;
}

int ks_store_list(struct ks_store *s, const struct ks_resource *res,
                  const struct ks_selector *sel, cJSON **out, struct ks_status *st)
{
    (void)st;
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    size_t n;
    struct ks_entry **v = matching_sorted(rs, sel, &n);
    char av[96], rv[24];
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "apiVersion", vr__ks_api_version(res, av, sizeof(av)));
    cJSON_AddStringToObject(list, "kind", res->list_kind);
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)s->rv);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(list, "metadata"), "resourceVersion", rv);
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(items, cJSON_Duplicate(v[i]->ver->obj, true));
    vr_free(v);
    *out = list;
    return 0;
}

/* ---- watch ---- */

static void send_current(struct ks_rstate *rs, struct ks_watcher *w)
{
    size_t n;
    struct ks_entry **v = matching_sorted(rs, &w->sel, &n);
    for (size_t i = 0; i < n && !w->dead; i++) {
        struct ks_event ev = {.type = KS_EV_ADDED,
                              .rv = v[i]->rv,
                              .res = rs->res,
                              .ns = v[i]->ns,
                              .name = v[i]->name,
                              .obj = v[i]->ver->obj};
        char *line = vr__ks_event_line(KS_EV_ADDED, ev.obj, &ev.line_len);
        ev.line = line;
        w->cb(&ev, w->arg);
        vr_free(line);
    }
    vr_free(v);
}

static void replay(struct ks_rstate *rs, struct ks_watcher *w, uint64_t from)
{
    for (size_t i = 0; i < rs->ring_len && !w->dead; i++) {
        const struct ks_evrec *r = rs->ring[(rs->ring_head + i) % rs->ring_cap];
        if (r->ev.rv > from)
            vr__ks_deliver(w, r);
    }
}

/* Parses from_rv; 0 with *replay_from set, or -1 with st (400 / 410 / 504). */
static int watch_origin(struct ks_store *s, struct ks_rstate *rs, const char *from_rv,
                        bool *synthetic, uint64_t *from, struct ks_status *st)
{
    *synthetic = !from_rv || !from_rv[0] || strcmp(from_rv, "0") == 0;
    if (*synthetic)
        return 0;
    uint64_t n;
    if (vr_parse_uint64(vr_str_c(from_rv), UINT64_MAX, &n) < 0) {
        vr__ks_status(st, 400, "BadRequest", "", "invalid resource version: \"%.64s\"", from_rv);
        return -1;
    }
    if (n > s->rv) {
        vr__ks_status(st, 504, "Timeout", "",
                      "Timeout: Too large resource version: %llu, current: %llu",
                      (unsigned long long)n, (unsigned long long)s->rv);
        snprintf(st->cause, sizeof(st->cause), "ResourceVersionTooLarge");
        st->retry_after_s = 1;
        return -1;
    }
    if (n < rs->compacted_rv) {
        vr__ks_status(st, 410, "Expired", "", "too old resource version: %llu (%llu)",
                      (unsigned long long)n, (unsigned long long)rs->compacted_rv);
        return -1;
    }
    *from = n;
    return 0;
}

int ks_store_watch(struct ks_store *s, const struct ks_resource *res,
                   const struct ks_selector *sel, const char *from_rv, ks_watch_cb cb, void *arg,
                   struct ks_watcher **out, struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    bool synthetic;
    uint64_t from = 0;
    if (watch_origin(s, rs, from_rv, &synthetic, &from, st) < 0)
        return -1;
    struct ks_watcher *w = vr_xcalloc(1, sizeof(*w));
    w->rs = rs;
    if (sel)
        w->sel = *sel;
    w->cb = cb;
    w->arg = arg;
    vr__ks_dispatch_begin(s);
    if (synthetic)
        send_current(rs, w);
    else
        replay(rs, w, from);
    vr__ks_dispatch_end(s);
    w->next = rs->watchers;
    if (w->next)
        w->next->prev = w;
    rs->watchers = w;
    *out = w;
    return 0;
}
