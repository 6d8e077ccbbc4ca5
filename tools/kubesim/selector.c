/* fieldSelector / labelSelector parsing and matching (kube-api.md §8.3, §9.1). */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "vreq/str.h"

/* Copies s into dst (cap bytes); false when it does not fit. */
static bool put(char *dst, size_t cap, struct vr_str s)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* Splits "k=v" or "k==v"; false for any other operator. */
static bool split_eq(struct vr_str term, struct vr_str *k, struct vr_str *v)
{
    if (!vr_str_split(term, '=', k, v))
        return false;
    if (v->n > 0 && v->p[0] == '=')
        *v = vr_str_make(v->p + 1, v->n - 1);
    if (k->n > 0 && k->p[k->n - 1] == '!')
        return false;
    *k = vr_str_trim(*k);
    *v = vr_str_trim(*v);
    if (v->n == 0)
        return k->n > 0;
    return k->n > 0 && memchr(v->p, '=', v->n) == NULL && memchr(v->p, '!', v->n) == NULL;
}

static int field_term(struct ks_selector *sel, struct vr_str term, struct ks_status *st)
{
    struct vr_str k, v;
    bool ok = split_eq(term, &k, &v);
    if (ok && vr_str_eq_c(k, "metadata.name"))
        ok = put(sel->field_name, sizeof(sel->field_name), v);
    else if (ok && vr_str_eq_c(k, "metadata.namespace"))
        ok = put(sel->field_namespace, sizeof(sel->field_namespace), v);
    else
        ok = false;
    if (!ok) {
        vr__ks_status(st, 400, "BadRequest", "", "field label not supported: %.*s",
                      (int)(k.n < 200 ? k.n : 200), k.p ? k.p : "");
        return -1;
    }
    return 0;
}

static int parse_fields(struct ks_selector *sel, const char *fs, struct ks_status *st)
{
    struct vr_str rest = vr_str_c(fs);
    while (rest.n > 0) {
        struct vr_str term, tail;
        bool more = vr_str_split(rest, ',', &term, &tail);
        term = vr_str_trim(term);
        if (term.n > 0 && field_term(sel, term, st) < 0)
            return -1;
        rest = more ? tail : vr_str_make(NULL, 0);
    }
    return 0;
}

static int parse_labels(struct ks_selector *sel, const char *ls, struct ks_status *st)
{
    struct vr_str all = vr_str_trim(vr_str_c(ls));
    if (all.n == 0)
        return 0;
    struct vr_str k, v;
    if (memchr(all.p, ',', all.n) == NULL && split_eq(all, &k, &v) &&
        put(sel->label_key, sizeof(sel->label_key), k) &&
        put(sel->label_value, sizeof(sel->label_value), v) && v.n > 0)
        return 0;
    vr__ks_status(st, 400, "BadRequest", "",
                  "unable to parse requirement: kubesim supports one equality term k=v, got "
                  "\"%.200s\"",
                  ls);
    return -1;
}

int ks_selector_parse(struct ks_selector *sel, const char *field_selector,
                      const char *label_selector, struct ks_status *st)
{
    struct ks_selector tmp = *sel;
    tmp.field_name[0] = tmp.field_namespace[0] = tmp.label_key[0] = tmp.label_value[0] = '\0';
    if (field_selector && parse_fields(&tmp, field_selector, st) < 0)
        return -1;
    if (label_selector && parse_labels(&tmp, label_selector, st) < 0)
        return -1;
    *sel = tmp;
    return 0;
}

bool vr__ks_sel_has_labels(const struct ks_selector *sel)
{
    return sel && sel->label_key[0] != '\0';
}

bool vr__ks_sel_match(const struct ks_selector *sel, const char *ns, const char *name,
                      const cJSON *obj)
{
    if (!sel)
        return true;
    if (sel->ns[0] && strcmp(sel->ns, ns) != 0)
        return false;
    if (sel->field_namespace[0] && strcmp(sel->field_namespace, ns) != 0)
        return false;
    if (sel->field_name[0] && strcmp(sel->field_name, name) != 0)
        return false;
    if (!sel->label_key[0])
        return true;
    const cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, sel->label_key);
    return cJSON_IsString(v) && strcmp(v->valuestring, sel->label_value) == 0;
}
