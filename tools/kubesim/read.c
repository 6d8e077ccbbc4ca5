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

/* All of rs's entries sorted by namespace/name (etcd key order), rs->count of them: kept
 * in rs->sorted until an insert or remove, so a paginated list sorts once, not per page. */
static struct ks_entry **sorted_entries(struct ks_rstate *rs)
{
    if (rs->sorted)
        return rs->sorted;
    struct ks_entry **v = vr_xmalloc((rs->count ? rs->count : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < rs->nbuckets; i++)
        for (struct ks_entry *e = rs->buckets[i]; e; e = e->next)
            v[k++] = e;
    qsort(v, k, sizeof(*v), entry_cmp);
    rs->sorted = v;
    return v;
}

/* The entries sel matches, sorted by namespace/name. A private copy (caller frees): the
 * watch callbacks that walk it may change the store. */
static struct ks_entry **matching_sorted(struct ks_rstate *rs, const struct ks_selector *sel,
                                         size_t *n)
{
    struct ks_entry **all = sorted_entries(rs);
    struct ks_entry **v = vr_xmalloc((rs->count ? rs->count : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < rs->count; i++)
        if (vr__ks_sel_match(sel, all[i]->ns, all[i]->name, all[i]->ver->obj))
            v[k++] = all[i];
    *n = k;
    return v;
}

static cJSON *list_new(const struct ks_resource *res, uint64_t rv)
{
    char av[96], rvs[24];
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "apiVersion", vr__ks_api_version(res, av, sizeof(av)));
    cJSON_AddStringToObject(list, "kind", res->list_kind);
    snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(list, "metadata"), "resourceVersion", rvs);
    return list;
}

static const char msg_expired[] =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.";

/* Decodes and checks a continue token. 0, or -1 with st (400 or 410). */
static int cont_check(struct ks_store *s, struct ks_rstate *rs, const char *tok,
                      struct ks_cont *c, struct ks_status *st)
{
    if (vr__ks_cont_decode(tok, c) < 0) {
        vr__ks_status(st, 400, "BadRequest", "", "continue key is not valid: %s",
                      "not a token this server issued");
        return -1;
    }
    /* The list RV is gone once history up to it is compacted: no consistent remainder. */
    if (c->compactions != s->compactions || c->rv < rs->compacted_rv || c->rv > s->rv) {
        vr__ks_status(st, 410, "Expired", "", "%s", msg_expired);
        return -1;
    }
    return 0;
}

/* Whether entry e sorts after the token's last key. */
static bool after_key(const struct ks_entry *e, const struct ks_cont *c)
{
    int d = strcmp(e->ns, c->ns);
    return d > 0 || (d == 0 && strcmp(e->name, c->name) > 0);
}

/* The index of the first of v[0..n) (sorted) after the token's last key: binary search. */
static size_t first_after(struct ks_entry *const *v, size_t n, const struct ks_cont *c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (after_key(v[mid], c))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Whether any of v[i..n) matches sel. */
static bool any_match(struct ks_entry *const *v, size_t i, size_t n,
                      const struct ks_selector *sel)
{
    for (; i < n; i++)
        if (vr__ks_sel_match(sel, v[i]->ns, v[i]->name, v[i]->ver->obj))
            return true;
    return false;
}

/* Adds the token for the rest when items remain after v[last]. */
static void add_continue(cJSON *list, const struct ks_entry *last, uint64_t rv,
                         uint64_t compactions)
{
    struct ks_cont c = {.rv = rv, .compactions = compactions};
    snprintf(c.ns, sizeof(c.ns), "%s", last->ns);
    snprintf(c.name, sizeof(c.name), "%s", last->name);
    char *tok = vr__ks_cont_encode(&c);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(list, "metadata"), "continue", tok);
    vr_free(tok);
}

int ks_store_list_page(struct ks_store *s, const struct ks_resource *res,
                       const struct ks_selector *sel, unsigned limit, const char *cont,
                       cJSON **out, struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    struct ks_cont c = {.rv = s->rv};
    bool resume = cont && cont[0];
    if (resume && cont_check(s, rs, cont, &c, st) < 0)
        return -1;
    struct ks_entry **v = sorted_entries(rs);
    size_t n = rs->count, i = resume ? first_after(v, n, &c) : 0, taken = 0;
    const struct ks_entry *last = NULL;
    /* Later pages show current objects under the first page's RV (no snapshot reads). */
    cJSON *list = list_new(res, c.rv);
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    for (; i < n && (limit == 0 || taken < limit); i++) {
        if (!vr__ks_sel_match(sel, v[i]->ns, v[i]->name, v[i]->ver->obj))
            continue;
        cJSON_AddItemToArray(items, cJSON_Duplicate(v[i]->ver->obj, true));
        last = v[i];
        taken++;
    }
    if (last && any_match(v, i, n, sel))
        add_continue(list, last, c.rv, s->compactions);
    *out = list;
    return 0;
}

int ks_store_list(struct ks_store *s, const struct ks_resource *res,
                  const struct ks_selector *sel, cJSON **out, struct ks_status *st)
{
    return ks_store_list_page(s, res, sel, 0, NULL, out, st);
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
