/* The metrics registry and the Prometheus text exposition (see metrics.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "server/metrics.h"
#include "vreq/err.h"

#define LABEL_VALUE_MAX 1024

struct vr_metric {
    struct vr_metric *next;
    struct vr_metric_family *fam;
    char *labels;     /* escaped `a="x",b="y"`, "" without labels */
    double value;     /* counter and gauge value; histogram sum */
    uint64_t count;   /* histogram observations */
    uint64_t *bucket; /* histogram: observations per bound (not cumulative) */
};

struct vr_metric_family {
    struct vr_metric_family *next;
    enum vr_metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *label_names[VR_METRICS_LABELS_MAX];
    size_t nbuckets;
    double bounds[VR_METRICS_BUCKETS_MAX];
    char le[VR_METRICS_BUCKETS_MAX][32]; /* formatted bounds */
    struct vr_metric *first;
    struct vr_metric **tail;
};

struct collector {
    vr_metrics_collect_cb cb;
    void *arg;
};

struct vr_metrics {
    struct vr_metric_family *first;
    struct vr_metric_family **tail;
    struct collector *collectors;
    size_t ncollectors;
};

const char *vr_metric_type_name(enum vr_metric_type t)
{
    switch (t) {
    case VR_METRIC_COUNTER:
        return "counter";
    case VR_METRIC_GAUGE:
        return "gauge";
    case VR_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "unknown";
}

struct vr_metrics *vr_metrics_new(void)
{
    struct vr_metrics *r = vr_xcalloc(1, sizeof(*r));
    r->tail = &r->first;
    return r;
}

static void family_free(struct vr_metric_family *f)
{
    struct vr_metric *m = f->first;
    while (m) {
        struct vr_metric *next = m->next;
        vr_free(m->labels);
        vr_free(m->bucket);
        vr_free(m);
        m = next;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        vr_free(f->label_names[i]);
    vr_free(f->name);
    vr_free(f->help);
    vr_free(f);
}

void vr_metrics_free(struct vr_metrics *r)
{
    if (!r)
        return;
    struct vr_metric_family *f = r->first;
    while (f) {
        struct vr_metric_family *next = f->next;
        family_free(f);
        f = next;
    }
    vr_free(r->collectors);
    vr_free(r);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, or without ':' for label names. */
static bool valid_name(const char *s, bool colon)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > VR_METRICS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_labels(enum vr_metric_type type, const char *const *names, size_t n)
{
    if (n > VR_METRICS_LABELS_MAX || (n > 0 && !names))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(names[i], false) || strncmp(names[i], "__", 2) == 0)
            return false;
        if (type == VR_METRIC_HISTOGRAM && strcmp(names[i], "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return false;
    }
    return true;
}

static bool valid_buckets(enum vr_metric_type type, const double *b, size_t n)
{
    if (type != VR_METRIC_HISTOGRAM)
        return n == 0;
    if (n == 0 || n > VR_METRICS_BUCKETS_MAX || !b)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1])))
            return false;
    }
    return true;
}

static struct vr_metric_family *find_family(const struct vr_metrics *r, const char *name)
{
    for (struct vr_metric_family *f = r->first; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

struct vr_metric_family *vr_metrics_find(const struct vr_metrics *r, const char *name)
{
    return name ? find_family(r, name) : NULL;
}

int vr_metrics_add_family(struct vr_metrics *r, enum vr_metric_type type, const char *name,
                          const char *help, const char *const *label_names, size_t nlabels,
                          const double *buckets, size_t nbuckets, struct vr_metric_family **out)
{
    if (!r || !valid_name(name, true) || !help || !valid_labels(type, label_names, nlabels) ||
        !valid_buckets(type, buckets, nbuckets))
        return VR_EINVAL;
    if (find_family(r, name))
        return VR_EEXIST;
    struct vr_metric_family *f = vr_xcalloc(1, sizeof(*f));
    f->type = type;
    f->name = vr_xstrdup(name);
    f->help = vr_xstrdup(help);
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        f->label_names[i] = vr_xstrdup(label_names[i]);
    f->nbuckets = nbuckets;
    for (size_t i = 0; i < nbuckets; i++) {
        f->bounds[i] = buckets[i];
        vr_metrics_format_value(buckets[i], f->le[i], sizeof(f->le[i]));
    }
    f->tail = &f->first;
    *r->tail = f;
    r->tail = &f->next;
    if (out)
        *out = f;
    return 0;
}

/* Appends `name="value"` with the value escaped as the text format requires. */
static int append_label(struct vr_buf *b, const char *name, const char *value)
{
    int rc = vr_buf_printf(b, "%s%s=\"", b->len ? "," : "", name);
    for (const char *p = value; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = vr_buf_append(b, "\\\\", 2);
        else if (*p == '"')
            rc = vr_buf_append(b, "\\\"", 2);
        else if (*p == '\n')
            rc = vr_buf_append(b, "\\n", 2);
        else
            rc = vr_buf_putc(b, *p);
    }
    return rc < 0 ? rc : vr_buf_putc(b, '"');
}

static int render_labels(const struct vr_metric_family *f, const char *const *values,
                         char **out)
{
    struct vr_buf b;
    vr_buf_init(&b, VR_METRICS_LABELS_MAX * (LABEL_VALUE_MAX * 2 + VR_METRICS_NAME_MAX + 8));
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values || !values[i] || strlen(values[i]) > LABEL_VALUE_MAX ||
            append_label(&b, f->label_names[i], values[i]) < 0) {
            vr_buf_cleanup(&b);
            return VR_EINVAL;
        }
    }
    *out = vr_buf_take(&b, NULL);
    return 0;
}

int vr_metrics_series(struct vr_metric_family *f, const char *const *values,
                      struct vr_metric **out)
{
    char *labels;
    if (!f || render_labels(f, values, &labels) < 0)
        return VR_EINVAL;
    for (struct vr_metric *m = f->first; m; m = m->next) {
        if (strcmp(m->labels, labels) == 0) {
            vr_free(labels);
            *out = m;
            return 0;
        }
    }
    struct vr_metric *m = vr_xcalloc(1, sizeof(*m));
    m->fam = f;
    m->labels = labels;
    if (f->type == VR_METRIC_HISTOGRAM)
        m->bucket = vr_xcalloc(f->nbuckets, sizeof(*m->bucket));
    *f->tail = m;
    f->tail = &m->next;
    *out = m;
    return 0;
}

void vr_metric_inc(struct vr_metric *m)
{
    vr_metric_add(m, 1.0);
}

void vr_metric_add(struct vr_metric *m, double v)
{
    switch (m->fam->type) {
    case VR_METRIC_COUNTER:
        if (v > 0)
            m->value += v;
        return;
    case VR_METRIC_GAUGE:
        m->value += v;
        return;
    case VR_METRIC_HISTOGRAM:
        return;
    }
}

void vr_metric_set(struct vr_metric *m, double v)
{
    switch (m->fam->type) {
    case VR_METRIC_COUNTER:
        if (v > m->value)
            m->value = v;
        return;
    case VR_METRIC_GAUGE:
        m->value = v;
        return;
    case VR_METRIC_HISTOGRAM:
        return;
    }
}

void vr_metric_observe(struct vr_metric *m, double v)
{
    struct vr_metric_family *f = m->fam;
    if (f->type != VR_METRIC_HISTOGRAM)
        return;
    /* A value above every bound (or NaN) lands only in the implicit +Inf bucket. */
    for (size_t i = 0; i < f->nbuckets; i++) {
        if (v <= f->bounds[i]) {
            m->bucket[i]++;
            break;
        }
    }
    m->count++;
    m->value += v;
}

double vr_metric_value(const struct vr_metric *m)
{
    return m->fam->type == VR_METRIC_HISTOGRAM ? (double)m->count : m->value;
}

void vr_metrics_add_collector(struct vr_metrics *r, vr_metrics_collect_cb cb, void *arg)
{
    r->collectors = vr_xrealloc(r->collectors, (r->ncollectors + 1) * sizeof(*r->collectors));
    r->collectors[r->ncollectors].cb = cb;
    r->collectors[r->ncollectors].arg = arg;
    r->ncollectors++;
}

void vr_metrics_remove_collector(struct vr_metrics *r, vr_metrics_collect_cb cb, void *arg)
{
    for (size_t i = 0; i < r->ncollectors; i++) {
        if (r->collectors[i].cb == cb && r->collectors[i].arg == arg) {
            memmove(&r->collectors[i], &r->collectors[i + 1],
                    (r->ncollectors - i - 1) * sizeof(*r->collectors));
            r->ncollectors--;
            return;
        }
    }
}

void vr_metrics_collect(struct vr_metrics *r)
{
    for (size_t i = 0; i < r->ncollectors; i++)
        r->collectors[i].cb(r, r->collectors[i].arg);
}

/* ---- exposition ---- */

/* Go's FormatFloat(v, 'g', -1, 64): the fewest significant digits that read back as v; the
 * exponent form only when the decimal exponent is < -4 or >= 6 (Go's rule for shortest). */
char *vr_metrics_format_value(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return out;
    }
    if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
        return out;
    }
    char e[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec - 1, v);
    const char *x = strchr(e, 'e');
    int exp10 = x ? (int)strtol(x + 1, NULL, 10) : 0;
    if (exp10 < -4 || exp10 >= 6)
        snprintf(out, cap, "%s", e);
    else
        snprintf(out, cap, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
    return out;
}

static int render_help(const struct vr_metric_family *f, struct vr_buf *b)
{
    int rc = vr_buf_printf(b, "# HELP %s ", f->name);
    for (const char *p = f->help; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = vr_buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            rc = vr_buf_append(b, "\\n", 2);
        else
            rc = vr_buf_putc(b, *p);
    }
    if (rc == 0)
        rc = vr_buf_printf(b, "\n# TYPE %s %s\n", f->name, vr_metric_type_name(f->type));
    return rc;
}

/* One sample line: name[suffix]{labels[,extra]} value */
static int sample(struct vr_buf *b, const char *name, const char *suffix, const char *labels,
                  const char *extra, double v)
{
    char num[32];
    vr_metrics_format_value(v, num, sizeof(num));
    bool any = labels[0] || extra;
    return vr_buf_printf(b, "%s%s%s%s%s%s%s %s\n", name, suffix, any ? "{" : "", labels,
                         labels[0] && extra ? "," : "", extra ? extra : "", any ? "}" : "",
                         num);
}

static int render_histogram(const struct vr_metric_family *f, const struct vr_metric *m,
                            struct vr_buf *b)
{
    char le[48];
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->nbuckets; i++) {
        cum += m->bucket[i];
        snprintf(le, sizeof(le), "le=\"%s\"", f->le[i]);
        rc = sample(b, f->name, "_bucket", m->labels, le, (double)cum);
    }
    if (rc == 0)
        rc = sample(b, f->name, "_bucket", m->labels, "le=\"+Inf\"", (double)m->count);
    if (rc == 0)
        rc = sample(b, f->name, "_sum", m->labels, NULL, m->value);
    if (rc == 0)
        rc = sample(b, f->name, "_count", m->labels, NULL, (double)m->count);
    return rc;
}

static int render_family(const struct vr_metric_family *f, struct vr_buf *b)
{
    int rc = render_help(f, b);
    for (const struct vr_metric *m = f->first; rc == 0 && m; m = m->next) {
        if (f->type == VR_METRIC_HISTOGRAM)
            rc = render_histogram(f, m, b);
        else
            rc = sample(b, f->name, "", m->labels, NULL, m->value);
    }
    return rc;
}

int vr_metrics_render(const struct vr_metrics *r, struct vr_buf *out)
{
    for (const struct vr_metric_family *f = r->first; f; f = f->next) {
        int rc = render_family(f, out);
        if (rc < 0) {
            vr_buf_cleanup(out);
            return rc;
        }
    }
    return 0;
}
