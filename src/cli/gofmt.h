/*
 * Go formatting rules that Velero's text output depends on, for byte-exact describe
 * output: time.Duration's String(), metav1.Duration parsing, and time.Time's String() of a
 * Kubernetes timestamp in the local time zone. Pure (the local zone comes from the C
 * library's TZ handling).
 */
#ifndef VR_CLI_GOFMT_H
#define VR_CLI_GOFMT_H
#include <stddef.h>
#include <stdint.h>

/* Parses a Go duration ("720h0m0s", "1.5h", "-3m", "0", units ns us µs ms s m h) into
 * nanoseconds. 0 or VR_EPARSE (also on int64 overflow). */
int vr_go_parse_duration(const char *s, int64_t *out_ns);
/* Formats ns like Go's Duration.String ("720h0m0s", "1.5s", "300ms", "0s") into out
 * (at least 32 bytes). */
void vr_go_format_duration(int64_t ns, char *out, size_t outlen);
/* Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", optional fraction, "+01:00"
 * offsets) into Unix seconds. 0 or VR_EPARSE. */
int vr_go_parse_rfc3339(const char *s, int64_t *out_s);
/* Formats Unix seconds in the local zone like Go's Time.String() without fraction:
 * "2006-01-02 15:04:05 -0700 MST" into out (at least 64 bytes). */
void vr_go_format_time(int64_t t, char *out, size_t outlen);

#endif
