/*
 * Column alignment with the semantics of Go's text/tabwriter as Velero's describers
 * configure it (minwidth 0, tabwidth 8, padding 2, pad with spaces, no flags), so vreq's
 * describe output lines up byte for byte with Velero's.
 *
 * Text is split into cells by '\t'; a line is terminated by '\n'. The last cell of a line
 * is not part of a column. A column block is a run of consecutive lines that all have a
 * cell in that column; every cell of the block is padded to the widest cell of the block
 * plus 2 spaces (width counted in UTF-8 code points). A line without any '\t' ends every
 * block, and the buffered text is written out then. Pure: no I/O.
 */
#ifndef VR_CLI_TABW_H
#define VR_CLI_TABW_H
#include <stddef.h>
#include "vreq/buf.h"

struct vr_tw_cell {
    size_t off;   /* into text */
    size_t size;  /* bytes */
    size_t width; /* code points */
};

struct vr_tw {
    struct vr_buf *out;        /* borrowed destination */
    struct vr_buf text;        /* cell bytes of the buffered lines */
    struct vr_tw_cell *cells;  /* all cells of all buffered lines, in order */
    size_t ncells, acells;
    size_t *line_end;          /* line i owns cells [line_end[i-1], line_end[i]) */
    size_t nlines, alines;
    size_t cell_start;         /* offset in text where the open cell starts */
    size_t *widths;            /* column widths while formatting (a stack) */
    size_t nwidths, awidths;
    int err;                   /* first error (VR_ETOOBIG from out or text) */
    size_t minwidth, padding;  /* 0 and 2 for describers */
};

/* Initialises *tw writing to out (borrowed; must outlive tw). Allocates nothing. */
void vr_tw_init(struct vr_tw *tw, struct vr_buf *out);
/* The same with another minimal cell width and padding (kubectl's tables use 6 and 3). */
void vr_tw_init_opts(struct vr_tw *tw, struct vr_buf *out, size_t minwidth, size_t padding);
/* Frees the buffers (without flushing). */
void vr_tw_cleanup(struct vr_tw *tw);
/* Appends n bytes of text. Errors are sticky and reported by vr_tw_flush. */
void vr_tw_write(struct vr_tw *tw, const char *p, size_t n);
/* printf then vr_tw_write. */
void vr_tw_printf(struct vr_tw *tw, const char *fmt, ...) VR_PRINTF(2, 3);
/* Formats and writes everything buffered (a last line without '\n' is written as is).
 * 0, or the first error seen (VR_ETOOBIG when out reached its cap). */
int vr_tw_flush(struct vr_tw *tw);

#endif
