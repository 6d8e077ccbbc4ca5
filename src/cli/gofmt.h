/*
 * Go formatting rules that Velero's text output depends on, for byte-exact describe
 * output: time.Duration's String() and time.Time's String() of a Kubernetes timestamp in
 * the local time zone. Parsing (metav1.Duration, RFC 3339) is core/timefmt.h's. Pure (the
 * local zone comes from the C library's TZ handling).
 */
#ifndef VR_CLI_GOFMT_H
#define VR_CLI_GOFMT_H
#include <stddef.h>
#include <stdint.h>

/* Formats ns like Go's Duration.String ("720h0m0s", "1.5s", "300ms", "0s") into out
 * (at least 32 bytes). */
void vr_go_format_duration(int64_t ns, char *out, size_t outlen);
/* Formats Unix seconds in the local zone like Go's Time.String() without fraction:
 * "2006-01-02 15:04:05 -0700 MST" into out (at least 64 bytes). */
void vr_go_format_time(int64_t t, char *out, size_t outlen);

#endif
