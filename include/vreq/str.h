/*
 * Byte slices: struct vr_str { p, n } never relies on a NUL (curl and http-parser hand
 * out unterminated fragments). Pure helpers; no allocation unless the name says so.
 */
#ifndef VREQ_STR_H
#define VREQ_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vr_str {
    const char *p;
    size_t n;
};

#define VR_STR_LIT(s) ((struct vr_str){(s), sizeof(s) - 1})

static inline struct vr_str vr_str_make(const char *p, size_t n)
{
    struct vr_str s = {p, n};
    return s;
}

static inline struct vr_str vr_str_c(const char *s)
{
    struct vr_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool vr_str_eq(struct vr_str a, struct vr_str b);
bool vr_str_eq_c(struct vr_str a, const char *b);
/* ASCII case-insensitive comparison. */
bool vr_str_caseeq_c(struct vr_str a, const char *b);
bool vr_str_starts_with(struct vr_str s, const char *prefix);
/* Trims ASCII spaces and tabs (and CR/LF) on both sides. */
struct vr_str vr_str_trim(struct vr_str s);
/* Splits at the first occurrence of c: *head gets the part before, the return value is
 * true and *tail the part after; false and *head = s when c is absent. */
bool vr_str_split(struct vr_str s, char c, struct vr_str *head, struct vr_str *tail);
/* Heap copy, NUL-terminated; free with vr_free. */
char *vr_str_dup(struct vr_str s);

/* Parses a decimal integer in [min, max], the whole slice, optional leading '-'.
 * 0 (out written), VR_EPARSE or VR_ETOOBIG (out of range). */
int vr_parse_int64(struct vr_str s, int64_t min, int64_t max, int64_t *out);
int vr_parse_uint64(struct vr_str s, uint64_t max, uint64_t *out);

/* The value of one hex digit (either case), or -1. */
int vr_hex_digit(char c);

/* Decodes %XX escapes (and '+' as space when plus_space) into out (cap outcap bytes,
 * NUL-terminated). 0, VR_EPARSE (bad escape) or VR_ETOOBIG. */
int vr_url_decode(struct vr_str s, bool plus_space, char *out, size_t outcap, size_t *outlen);

#endif
