/* Go text/tabwriter-compatible column alignment (see tabw.h). */
#include "cli/tabw.h"

#include <stdarg.h>
#include <string.h>

#include "vreq/err.h"

#define TW_MAX_COLUMNS 64u /* bounds the recursion depth of format() */

void vr_tw_init_opts(struct vr_tw *tw, struct vr_buf *out, size_t minwidth, size_t padding)
{
    memset(tw, 0, sizeof(*tw));
    tw->out = out;
    tw->minwidth = minwidth;
    tw->padding = padding;
    vr_buf_init(&tw->text, (size_t)1 << 30);
}

void vr_tw_init(struct vr_tw *tw, struct vr_buf *out)
{
    vr_tw_init_opts(tw, out, 0, 2);
}

void vr_tw_cleanup(struct vr_tw *tw)
{
    vr_buf_cleanup(&tw->text);
    vr_free(tw->cells);
    vr_free(tw->line_end);
    vr_free(tw->widths);
    tw->cells = NULL;
    tw->line_end = NULL;
    tw->widths = NULL;
    tw->ncells = tw->acells = tw->nlines = tw->alines = tw->nwidths = tw->awidths = 0;
}

static size_t utf8_width(const char *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0u) != 0x80u)
            w++;
    return w;
}

static void grow(void **p, size_t *alloc, size_t need, size_t elem)
{
    if (need <= *alloc)
        return;
    size_t n = *alloc ? *alloc * 2 : 16;
    while (n < need)
        n *= 2;
    *p = vr_xrealloc(*p, n * elem);
    *alloc = n;
}

/* Closes the open cell (text from cell_start to the end) into the current line. */
static void terminate_cell(struct vr_tw *tw)
{
    grow((void **)&tw->cells, &tw->acells, tw->ncells + 1, sizeof(*tw->cells));
    struct vr_tw_cell *c = &tw->cells[tw->ncells++];
    c->off = tw->cell_start;
    c->size = tw->text.len - tw->cell_start;
    c->width = utf8_width(tw->text.p ? tw->text.p + c->off : "", c->size);
    tw->cell_start = tw->text.len;
}

static size_t line_first(const struct vr_tw *tw, size_t i)
{
    return i == 0 ? 0 : tw->line_end[i - 1];
}

/* Cells of line i; the line after the last terminated one is the open line. */
static size_t line_ncells(const struct vr_tw *tw, size_t i)
{
    size_t end = i < tw->nlines ? tw->line_end[i] : tw->ncells;
    return end - line_first(tw, i);
}

static void out_write(struct vr_tw *tw, const char *p, size_t n)
{
    if (tw->err == 0 && n > 0)
        tw->err = vr_buf_append(tw->out, p, n);
}

static void out_pad(struct vr_tw *tw, size_t textw, size_t cellw)
{
    static const char spaces[] = "                                ";
    size_t n = cellw > textw ? cellw - textw : 0;
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        out_write(tw, spaces, k);
        n -= k;
    }
}

static void write_lines(struct vr_tw *tw, size_t line0, size_t line1)
{
    size_t total = tw->nlines + 1;
    for (size_t i = line0; i < line1; i++) {
        size_t first = line_first(tw, i), n = line_ncells(tw, i);
        for (size_t j = 0; j < n; j++) {
            const struct vr_tw_cell *c = &tw->cells[first + j];
            out_write(tw, tw->text.p + c->off, c->size);
            if (j < tw->nwidths)
                out_pad(tw, c->width, tw->widths[j]);
        }
        if (i + 1 < total)
            out_write(tw, "\n", 1);
    }
}

/* Go's tabwriter format(): finds the column blocks of column nwidths within
 * [line0, line1), pushes each block's width and recurses into the next column. */
static void format(struct vr_tw *tw, size_t line0, size_t line1)
{
    size_t column = tw->nwidths;
    for (size_t i = line0; i < line1; i++) {
        if (column + 1 >= line_ncells(tw, i) || column >= TW_MAX_COLUMNS)
            continue;
        write_lines(tw, line0, i);
        line0 = i;
        size_t width = tw->minwidth;
        for (; i < line1 && column + 1 < line_ncells(tw, i); i++) {
            size_t w = tw->cells[line_first(tw, i) + column].width + tw->padding;
            if (w > width)
                width = w;
        }
        grow((void **)&tw->widths, &tw->awidths, tw->nwidths + 1, sizeof(*tw->widths));
        tw->widths[tw->nwidths++] = width;
        format(tw, line0, i);
        tw->nwidths--;
        line0 = i;
        if (i == line1)
            break;
    }
    write_lines(tw, line0, line1);
}

static void flush_lines(struct vr_tw *tw)
{
    format(tw, 0, tw->nlines + 1);
    vr_buf_reset(&tw->text);
    tw->ncells = tw->nlines = tw->cell_start = 0;
}

void vr_tw_write(struct vr_tw *tw, const char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n && tw->err == 0; i++) {
        if (p[i] != '\t' && p[i] != '\n')
            continue;
        tw->err = vr_buf_append(&tw->text, p + start, i - start);
        start = i + 1;
        if (tw->err != 0)
            break;
        terminate_cell(tw);
        if (p[i] == '\t')
            continue;
        size_t ncells = line_ncells(tw, tw->nlines);
        grow((void **)&tw->line_end, &tw->alines, tw->nlines + 1, sizeof(*tw->line_end));
        tw->line_end[tw->nlines++] = tw->ncells;
        /* A line of one cell cannot affect the alignment of later lines. */
        if (ncells == 1)
            flush_lines(tw);
    }
    if (tw->err == 0 && start < n)
        tw->err = vr_buf_append(&tw->text, p + start, n - start);
}

void vr_tw_printf(struct vr_tw *tw, const char *fmt, ...)
{
    struct vr_buf tmp;
    va_list ap;
    vr_buf_init(&tmp, (size_t)1 << 30);
    va_start(ap, fmt);
    int rc = vr_buf_vprintf(&tmp, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        if (tw->err == 0)
            tw->err = rc;
    } else {
        vr_tw_write(tw, tmp.p ? tmp.p : "", tmp.len);
    }
    vr_buf_cleanup(&tmp);
}

int vr_tw_flush(struct vr_tw *tw)
{
    if (tw->err == 0 && tw->text.len > tw->cell_start)
        terminate_cell(tw);
    if (tw->err == 0)
        flush_lines(tw);
    return tw->err;
}
