/*
 * AWS shared credentials / config INI parser (pure: no I/O, no clock, no logging; the caller
 * reads the file). Velero hands the plugin one file that the SDK reads in both formats, so a
 * profile "x" is taken from sections "[x]" (credentials format) and "[profile x]" (config
 * format); keys from "[x]" win over keys from "[profile x]", and within one section a later
 * key wins. "[default]" and "[profile default]" both name the default profile.
 *
 * Accepted syntax (botocore's and aws-sdk-go-v2's common ground): "[name]" section headers
 * (spaces inside the brackets trimmed), "key = value" lines (spaces around '=' trimmed,
 * keys compared case-insensitively), whole-line comments starting with '#' or ';', blank
 * lines, CRLF line ends, a leading UTF-8 BOM, and indented lines after a key (an "s3 ="
 * sub-key block or a continuation), which are skipped. There are no inline comments: a '#'
 * after a value is part of the value, as in botocore. Unknown keys are ignored.
 */
#ifndef VR_STORE_CRED_INI_H
#define VR_STORE_CRED_INI_H

#include <stddef.h>

/* The keys of one profile that vreq uses; every member is NULL when absent. Heap strings. */
struct vr_aws_profile {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret */
    char *region;
    char *role_arn;
    char *web_identity_token_file;
    char *role_session_name;
};

/* Parses text (len bytes, no NUL needed) and extracts profile (NULL or "" = "default").
 * 0: *out filled (the caller releases it with vr_aws_profile_cleanup). VR_ECONFIG: err gets
 * one sentence without secrets, naming the line for syntax errors ("line 3: ...") or the
 * missing profile; *out untouched. err may be NULL when errcap is 0. */
int vr_cred_ini_parse(const char *text, size_t len, const char *profile,
                      struct vr_aws_profile *out, char *err, size_t errcap);

/* Wipes the secrets, frees every string and zeroes p. */
void vr_aws_profile_cleanup(struct vr_aws_profile *p);

#endif
