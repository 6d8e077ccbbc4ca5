/*
 * S3 SigV4 presigning: published vectors (test/fixtures/sigv4/vectors.json), key encoding,
 * host and port rules, BSL config parsing, the expiry clamp and the signing-key cache.
 *
 * Run with --stdin-cases it is instead the C side of the botocore cross-check
 * (test/integration/presign_crosscheck_test.py): one JSON case per stdin line, one JSON
 * result per stdout line (see run_stdin_cases).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/common.h"
#include "store/presign.h"
#include "store/s3.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T_20130524 INT64_C(1369353600)
#define AWS_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
#define URL_CAP (64 * 1024)

/* ---- one vector case, from JSON ---- */

struct vcase {
    struct vr_sigv4_request req;
    struct vr_aws_creds creds;
    struct vr_sigv4_param *params;
    const char *name;
};

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* Pointers borrow from o; free c->params with vr_free. */
static void vcase_from_json(const cJSON *o, struct vcase *c)
{
    memset(c, 0, sizeof(*c));
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "params");
    size_t n = cJSON_IsArray(params) ? (size_t)cJSON_GetArraySize(params) : 0;
    c->params = vr_xcalloc(n + 1, sizeof(*c->params));
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(params, (int)i);
        c->params[i].name = cJSON_GetArrayItem(p, 0)->valuestring;
        c->params[i].value = cJSON_GetArrayItem(p, 1)->valuestring;
    }
    c->name = jstr(o, "name");
    c->creds.access_key_id = (char *)jstr(o, "access_key_id");
    c->creds.secret_access_key = (char *)jstr(o, "secret_access_key");
    c->creds.session_token = (char *)jstr(o, "session_token");
    c->req = (struct vr_sigv4_request){
        .method = jstr(o, "method"),
        .scheme = jstr(o, "scheme"),
        .host = jstr(o, "host"),
        .path = jstr(o, "path"),
        .params = c->params,
        .nparams = n,
        .service = jstr(o, "service"),
        .region = jstr(o, "region"),
        .payload_hash = jstr(o, "payload_hash"),
        .creds = &c->creds,
        .token_after_signing =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "token_after_signing")),
        .expires_s = jint(o, "expires"),
        .now_s = jint(o, "now_s"),
    };
}

static const char *url_signature(const char *url)
{
    const char *s = strstr(url, "X-Amz-Signature=");
    return s ? s + 16 : NULL;
}

static cJSON *load_vectors(void)
{
    size_t len;
    char *text = vr_test_read_fixture("sigv4/vectors.json", &len);
    assert_non_null(text);
    const char *end = NULL;
    cJSON *arr = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    vr_free(text);
    assert_non_null(arr);
    return arr;
}

static void check_vector(const cJSON *o)
{
    struct vcase c;
    struct vr_buf url, cr, sts;
    vcase_from_json(o, &c);
    vr_buf_init(&url, URL_CAP);
    vr_buf_init(&cr, URL_CAP);
    vr_buf_init(&sts, URL_CAP);
    int rc = vr_sigv4_presign(&c.req, NULL, &url, &cr, &sts);
    if (rc != 0)
        fail_msg("%s: %s", c.name, vr_err_name(rc));
    const char *sig = url_signature(url.p);
    assert_non_null(sig);
    if (strncmp(sig, jstr(o, "signature"), 64) != 0)
        fail_msg("%s: signature %.64s, want %s\n%s", c.name, sig, jstr(o, "signature"), cr.p);
    if (jstr(o, "canonical_request"))
        assert_string_equal(cr.p, jstr(o, "canonical_request"));
    if (jstr(o, "string_to_sign"))
        assert_string_equal(sts.p, jstr(o, "string_to_sign"));
    if (jstr(o, "url"))
        assert_string_equal(url.p, jstr(o, "url"));
    vr_buf_cleanup(&url);
    vr_buf_cleanup(&cr);
    vr_buf_cleanup(&sts);
    vr_free(c.params);
}

static void test_vectors(void **state)
{
    (void)state;
    cJSON *arr = load_vectors();
    const cJSON *o;
    int n = 0;
    cJSON_ArrayForEach(o, arr)
    {
        check_vector(o);
        n++;
    }
    assert_int_equal(n, 16);
    cJSON_Delete(arr);
}

/* ---- BSL-level helpers ---- */

static struct vr_aws_creds test_creds(void)
{
    struct vr_aws_creds c = {.access_key_id = (char *)AKID, .secret_access_key = (char *)SECRET};
    return c;
}

static int parse_cfg(const char *json, const char *bucket, const char *prefix,
                     struct vr_s3_config *cfg, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *o = json ? cJSON_ParseWithLengthOpts(json, strlen(json), &end, 0) : NULL;
    if (json)
        assert_non_null(o);
    int rc = vr_s3_config_parse(o, bucket, prefix, cfg, err, errlen);
    cJSON_Delete(o);
    return rc;
}

/* Presigns key with static credentials, expires 600 at 2013-05-24; returns the URL. */
static char *bsl_url(const char *json, const char *bucket, const char *region, const char *key)
{
    struct vr_s3_config cfg;
    char err[512];
    struct vr_aws_creds creds = test_creds();
    struct vr_buf url;
    int64_t e = 0;
    if (parse_cfg(json, bucket, NULL, &cfg, err, sizeof(err)) != 0)
        fail_msg("config %s: %s", json, err);
    vr_buf_init(&url, URL_CAP);
    int rc = vr_s3_presign_get(&cfg, region, &creds, key, 600, T_20130524, NULL, &url, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(e, 600);
    vr_s3_config_cleanup(&cfg);
    return vr_buf_take(&url, NULL);
}

/* The URL the low-level signer gives for exactly this scheme, signed host and path. */
static char *direct_url(const char *scheme, const char *host, const char *path, const char *region)
{
    struct vr_aws_creds creds = test_creds();
    struct vr_sigv4_request req = {
        .method = "GET",
        .scheme = scheme,
        .host = host,
        .path = path,
        .service = "s3",
        .region = region,
        .payload_hash = "UNSIGNED-PAYLOAD",
        .creds = &creds,
        .expires_s = 600,
        .now_s = T_20130524,
    };
    struct vr_buf url;
    vr_buf_init(&url, URL_CAP);
    assert_int_equal(vr_sigv4_presign(&req, NULL, &url, NULL, NULL), 0);
    return vr_buf_take(&url, NULL);
}

/* Asserts that the BSL config signs key at exactly scheme://host + path. */
static void expect_target(const char *json, const char *bucket, const char *key, const char *scheme,
                          const char *host, const char *path)
{
    char *got = bsl_url(json, bucket, NULL, key);
    char *want = direct_url(scheme, host, path, "us-east-1");
    if (strcmp(got, want) != 0)
        fail_msg("config %s bucket %s key %s:\n got %s\nwant %s", json, bucket, key, got, want);
    vr_free(got);
    vr_free(want);
}

#define REG "{\"region\":\"us-east-1\""

static void test_aws_example_bsl(void **state)
{
    (void)state;
    struct vr_s3_config cfg;
    char err[256];
    struct vr_aws_creds creds = test_creds();
    struct vr_buf url;
    assert_int_equal(parse_cfg(REG ",\"s3Url\":\"https://s3.amazonaws.com\"}", "examplebucket",
                               NULL, &cfg, err, sizeof(err)),
                     0);
    vr_buf_init(&url, URL_CAP);
    assert_int_equal(
        vr_s3_presign_get(&cfg, NULL, &creds, "test.txt", 86400, T_20130524, NULL, &url, NULL), 0);
    assert_string_equal(
        url.p, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
               "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
               "&X-Amz-Signature=" AWS_SIG);
    vr_buf_cleanup(&url);
    vr_s3_config_cleanup(&cfg);
}

static void test_uri_encode(void **state)
{
    (void)state;
    struct vr_buf b;
    vr_buf_init(&b, 1024);
    const char *key = "dir/a b+c~d!'()*\xc3\xbc%.txt";
    assert_int_equal(vr_sigv4_uri_encode(&b, key, strlen(key), true), 0);
    assert_string_equal(b.p, "dir/a%20b%2Bc~d%21%27%28%29%2A%C3%BC%25.txt");
    vr_buf_reset(&b);
    assert_int_equal(vr_sigv4_uri_encode(&b, key, strlen(key), false), 0);
    assert_string_equal(b.p, "dir%2Fa%20b%2Bc~d%21%27%28%29%2A%C3%BC%25.txt");
    vr_buf_reset(&b);
    const char all[] = "=&;:@$,?#[]\"<>\\^`{|}\x01\x7f\xff-._~AZaz09";
    assert_int_equal(vr_sigv4_uri_encode(&b, all, sizeof(all) - 1, true), 0);
    assert_string_equal(b.p, "%3D%26%3B%3A%40%24%2C%3F%23%5B%5D%22%3C%3E%5C%5E%60%7B%7C%7D%01%7F"
                             "%FF-._~AZaz09");
    vr_buf_reset(&b);
    const char nul[] = {'a', '\0', 'b'};
    assert_int_equal(vr_sigv4_uri_encode(&b, nul, sizeof(nul), true), 0);
    assert_string_equal(b.p, "a%00b");
    vr_buf_cleanup(&b);
}

static void test_key_encoding(void **state)
{
    (void)state;
    const char *ps = REG ",\"s3Url\":\"http://minio:9000\",\"s3ForcePathStyle\":\"true\"}";
    expect_target(ps, "bkt", "dir/a b+c~d!'()*\xc3\xbc%.txt", "http", "minio:9000",
                  "/bkt/dir/a b+c~d!'()*\xc3\xbc%.txt");
    char *u = bsl_url(ps, "bkt", NULL, "dir/a b+c~d!'()*\xc3\xbc%.txt");
    const char *want = "http://minio:9000/bkt/dir/a%20b%2Bc~d%21%27%28%29%2A%C3%BC%25.txt?";
    assert_true(strncmp(u, want, strlen(want)) == 0);
    vr_free(u);
    struct {
        const char *key, *prefix;
    } cases[] = {
        {"a=b", "/bkt/a%3Db?"},
        {"a//b", "/bkt/a//b?"},
        {"dir/", "/bkt/dir/?"},
        {"", "/bkt/?"},
        {"/lead", "/bkt//lead?"},
        {"x/./y/../z", "/bkt/x/./y/../z?"},
        {"%2F", "/bkt/%252F?"},
        {"sp ace+plus", "/bkt/sp%20ace%2Bplus?"},
        {"\xe6\x97\xa5\xe6\x9c\xac", "/bkt/%E6%97%A5%E6%9C%AC?"},
    };
    for (size_t i = 0; i < VR_ARRAY_SIZE(cases); i++) {
        u = bsl_url(ps, "bkt", NULL, cases[i].key);
        const char *path = u + strlen("http://minio:9000");
        if (strncmp(path, cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fail_msg("key '%s': %s", cases[i].key, u);
        vr_free(u);
    }
    /* Virtual-hosted with an empty key signs "/". */
    expect_target(REG "}", "bkt", "", "https", "bkt.s3.us-east-1.amazonaws.com", "/");
}

static void test_hosts_ports(void **state)
{
    (void)state;
    const char *pfx = REG ",\"s3ForcePathStyle\":\"true\",\"s3Url\":";
    char json[256];
    struct {
        const char *url, *scheme, *host, *path;
    } ps[] = {
        {"http://h.example:80", "http", "h.example", "/bkt/k"},
        {"https://h.example:443", "https", "h.example", "/bkt/k"},
        {"http://h.example:9000", "http", "h.example:9000", "/bkt/k"},
        {"https://h.example:80", "https", "h.example:80", "/bkt/k"},
        {"http://h.example:443/", "http", "h.example:443", "/bkt/k"},
        {"HTTPS://MinIO.Example.COM", "https", "minio.example.com", "/bkt/k"},
        {"http://[::1]:9000", "http", "[::1]:9000", "/bkt/k"},
        {"http://[fd00::1]:80", "http", "[fd00::1]", "/bkt/k"},
        {"http://user:pw@h.example:9000", "http", "h.example:9000", "/bkt/k"},
        {"https://h.example/base/path/", "https", "h.example", "/base/path/bkt/k"},
        {"https://h.example/a%20b", "https", "h.example", "/a b/bkt/k"},
        {"http://h.example:9000?x=1", "http", "h.example:9000", "/bkt/k"},
    };
    for (size_t i = 0; i < VR_ARRAY_SIZE(ps); i++) {
        snprintf(json, sizeof(json), "%s\"%s\"}", pfx, ps[i].url);
        expect_target(json, "bkt", "k", ps[i].scheme, ps[i].host, ps[i].path);
    }
}

static void test_addressing(void **state)
{
    (void)state;
    /* Default endpoint: regional, virtual-hosted. */
    expect_target(REG "}", "bkt", "k", "https", "bkt.s3.us-east-1.amazonaws.com", "/k");
    char *u = bsl_url("{\"region\":\"eu-west-1\"}", "bkt", NULL, "k");
    assert_true(strncmp(u, "https://bkt.s3.eu-west-1.amazonaws.com/k?", 41) == 0);
    assert_non_null(strstr(u, "%2Feu-west-1%2Fs3%2F"));
    vr_free(u);
    /* The region argument wins over the config's (a discovered region). */
    u = bsl_url("{}", "bkt", "ap-south-1", "k");
    assert_true(strncmp(u, "https://bkt.s3.ap-south-1.amazonaws.com/k?", 42) == 0);
    vr_free(u);
    /* Custom endpoint, not forced: virtual-hosted on a name, path-style on an IP. */
    expect_target(REG ",\"s3Url\":\"http://minio.local:9000\"}", "bkt", "k", "http",
                  "bkt.minio.local:9000", "/k");
    expect_target(REG ",\"s3Url\":\"http://127.0.0.1:9000\"}", "bkt", "k", "http", "127.0.0.1:9000",
                  "/bkt/k");
    expect_target(REG ",\"s3Url\":\"http://[::1]:9000\"}", "bkt", "k", "http", "[::1]:9000",
                  "/bkt/k");
    /* DNS-unsafe buckets fall back to path style. */
    expect_target(REG "}", "my.bucket", "k", "https", "s3.us-east-1.amazonaws.com", "/my.bucket/k");
    expect_target(REG ",\"s3Url\":\"http://minio.local\"}", "my.bucket", "k", "http", "minio.local",
                  "/my.bucket/k");
    expect_target(REG "}", "Bad_Bucket", "k", "https", "s3.us-east-1.amazonaws.com",
                  "/Bad_Bucket/k");
    /* Endpoint path prefix kept in both styles. */
    expect_target(REG ",\"s3Url\":\"https://gw.example/s3/\"}", "bkt", "k", "https",
                  "bkt.gw.example", "/s3/k");
    /* publicUrl wins over s3Url, with the same path-style setting. */
    expect_target(REG ",\"s3Url\":\"http://minio.velero.svc:9000\",\"publicUrl\":"
                      "\"https://minio.example.com\",\"s3ForcePathStyle\":\"true\"}",
                  "velero", "backups/b/b.tar.gz", "https", "minio.example.com",
                  "/velero/backups/b/b.tar.gz");
}

static void test_virtual_hostable(void **state)
{
    (void)state;
    assert_true(vr_s3_bucket_is_virtual_hostable("bkt"));
    assert_true(vr_s3_bucket_is_virtual_hostable("my-bucket-01"));
    assert_true(vr_s3_bucket_is_virtual_hostable("123"));
    assert_false(vr_s3_bucket_is_virtual_hostable("a.b"));
    assert_false(vr_s3_bucket_is_virtual_hostable("192.168.1.1"));
    assert_false(vr_s3_bucket_is_virtual_hostable("ab"));
    assert_false(vr_s3_bucket_is_virtual_hostable("Upper"));
    assert_false(vr_s3_bucket_is_virtual_hostable("under_score"));
    assert_false(vr_s3_bucket_is_virtual_hostable("-dash"));
    assert_false(vr_s3_bucket_is_virtual_hostable("dash-"));
    assert_true(vr_s3_bucket_is_virtual_hostable(
        "a12345678901234567890123456789012345678901234567890123456789012"));
    assert_false(vr_s3_bucket_is_virtual_hostable(
        "a123456789012345678901234567890123456789012345678901234567890123"));
    assert_false(vr_s3_bucket_is_virtual_hostable(NULL));
}

static void expect_config_error(const char *json, const char *bucket, const char *want)
{
    struct vr_s3_config cfg;
    char err[1024] = "";
    memset(&cfg, 0x5a, sizeof(cfg));
    int rc = parse_cfg(json, bucket, NULL, &cfg, err, sizeof(err));
    if (rc != VR_ECONFIG || !strstr(err, want))
        fail_msg("config %s: rc %s, err '%s', want '%s'", json, vr_err_name(rc), err, want);
    /* Out-param untouched on error. */
    assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("{\"region\":\"x\",\"foo\":\"1\",\"bar\":\"2\"}", "b",
                        "config has invalid keys [foo bar]; valid keys are [bucket caCert ");
    expect_config_error("{\"Region\":\"x\"}", "b", "invalid keys [Region]");
    expect_config_error("{\"s3ForcePathStyle\":true}", "b",
                        "config key s3ForcePathStyle must be a string");
    expect_config_error("{\"region\":1}", "b", "config key region must be a string");
    expect_config_error("{\"s3ForcePathStyle\":\"yes\"}", "b",
                        "could not parse s3ForcePathStyle (expected bool): strconv.ParseBool: "
                        "parsing \"yes\": invalid syntax");
    expect_config_error("{\"insecureSkipTLSVerify\":\"tRUE\"}", "b",
                        "could not parse insecureSkipTLSVerify (expected bool)");
    expect_config_error("{\"s3Url\":\"ftp://h\"}", "b",
                        "Invalid s3 url ftp://h, URL must be valid according to "
                        "https://golang.org/pkg/net/url/#Parse and start with http:// or https://");
    expect_config_error("{\"s3Url\":\"minio:9000\"}", "b", "Invalid s3 url minio:9000,");
    expect_config_error("{\"s3Url\":\"http://\"}", "b", "Invalid s3 url http://,");
    expect_config_error("{\"s3Url\":\"http://h:99999\"}", "b", "Invalid s3 url");
    expect_config_error("{\"s3Url\":\"http://h:x\"}", "b", "Invalid s3 url");
    expect_config_error("{\"s3Url\":\"http://[::1\"}", "b", "Invalid s3 url");
    expect_config_error("{\"s3Url\":\"http://h h\"}", "b", "Invalid s3 url");
    expect_config_error("{\"publicUrl\":\"s3.example.com\"}", "b", "Invalid s3 url s3.example.com");
    expect_config_error("{\"signatureVersion\":\"2\"}", "b", "invalid signature version: 2");
    expect_config_error("{\"checksumAlgorithm\":\"MD5\"}", "b", "invalid checksum algorithm: MD5");
    expect_config_error("{\"kmsKeyId\":\"k\",\"customerKeyEncryptionFile\":\"/f\"}", "b",
                        "you cannot use kmsKeyId and customerKeyEncryptionFile at the same time");
    expect_config_error("{}", NULL, "bucket is required");
    expect_config_error("{}", "///", "bucket is required");
    expect_config_error("[]", "b", "config must be an object");
}

static void test_config_ok(void **state)
{
    (void)state;
    struct vr_s3_config cfg;
    char err[256];
    const char *all =
        "{\"region\":\"r\",\"s3Url\":\"http://m:9000\",\"publicUrl\":\"https://p\","
        "\"kmsKeyId\":\"\",\"s3ForcePathStyle\":\"T\",\"signatureVersion\":\"4\","
        "\"credentialsFile\":\"/c\",\"profile\":\"p\",\"serverSideEncryption\":\"AES256\","
        "\"insecureSkipTLSVerify\":\"1\",\"customerKeyEncryptionFile\":\"/k\","
        "\"customerKeyEncryptionSecret\":\"s\",\"enableSharedConfig\":\"true\","
        "\"tagging\":\"a=b\",\"checksumAlgorithm\":\"\",\"bucket\":\"cb\","
        "\"prefix\":\"/cp/\",\"caCert\":\"PEM\"}";
    assert_int_equal(parse_cfg(all, "/bkt/", "/pfx/a/", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.bucket, "bkt");
    assert_string_equal(cfg.prefix, "pfx/a");
    assert_string_equal(cfg.region, "r");
    assert_true(cfg.force_path_style);
    assert_true(cfg.insecure_skip_tls_verify);
    assert_null(cfg.kms_key_id);
    assert_null(cfg.checksum_algorithm);
    assert_string_equal(cfg.profile, "p");
    assert_string_equal(cfg.ca_cert, "PEM");
    assert_string_equal(cfg.s3_ep.host, "m:9000");
    assert_false(cfg.s3_ep.https);
    assert_string_equal(cfg.public_ep.host, "p");
    assert_true(cfg.public_ep.https);
    assert_false(vr_s3_config_needs_region(&cfg));
    vr_s3_config_cleanup(&cfg);

    /* Bucket and prefix from the config when the BSL passes none; no config at all. */
    assert_int_equal(
        parse_cfg("{\"bucket\":\"cb\",\"prefix\":\"cp\",\"s3ForcePathStyle\":\"False\"}", NULL,
                  NULL, &cfg, err, sizeof(err)),
        0);
    assert_string_equal(cfg.bucket, "cb");
    assert_string_equal(cfg.prefix, "cp");
    assert_false(cfg.force_path_style);
    assert_true(vr_s3_config_needs_region(&cfg));
    vr_s3_config_cleanup(&cfg);
    assert_int_equal(parse_cfg(NULL, "b", "", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.prefix, "");
    assert_null(cfg.s3_ep.host);
    vr_s3_config_cleanup(&cfg);
}

static void test_expiry_clamp(void **state)
{
    (void)state;
    struct vr_s3_config cfg;
    char err[256];
    struct vr_aws_creds creds = test_creds();
    struct vr_buf url;
    int64_t e = -1;
    assert_int_equal(parse_cfg(REG "}", "bkt", NULL, &cfg, err, sizeof(err)), 0);
    vr_buf_init(&url, URL_CAP);
    creds.session_token = (char *)"tok/en+=";
    creds.expiration_s = T_20130524 + 300;
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 600, T_20130524, NULL, &url, &e),
                     0);
    assert_int_equal(e, 240);
    assert_non_null(strstr(url.p, "&X-Amz-Expires=240&"));
    assert_non_null(strstr(url.p, "&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders="));
    vr_buf_reset(&url);
    /* Nothing left inside the margin, or already expired. */
    creds.expiration_s = T_20130524 + VR_S3_CRED_MARGIN_S;
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 600, T_20130524, NULL, &url, &e),
                     VR_EUNAUTH);
    creds.expiration_s = T_20130524 - 10;
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 600, T_20130524, NULL, &url, &e),
                     VR_EUNAUTH);
    /* Requested lifetime shorter than the credentials: unchanged. */
    creds.expiration_s = T_20130524 + 3600;
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 600, T_20130524, NULL, &url, &e),
                     0);
    assert_int_equal(e, 600);
    vr_buf_reset(&url);
    /* Static credentials: up to seven days, not beyond. */
    creds = test_creds();
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 604800, T_20130524, NULL, &url, &e),
                     0);
    assert_int_equal(e, 604800);
    vr_buf_reset(&url);
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 604801, T_20130524, NULL, &url, &e),
                     VR_EINVAL);
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 0, T_20130524, NULL, &url, &e),
                     VR_EINVAL);
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, NULL, "k", 600, T_20130524, NULL, &url, &e),
                     VR_EUNAUTH);
    assert_int_equal(url.len, 0);
    vr_s3_config_cleanup(&cfg);
    /* No region configured nor passed. */
    assert_int_equal(parse_cfg("{}", "bkt", NULL, &cfg, err, sizeof(err)), 0);
    assert_int_equal(vr_s3_presign_get(&cfg, NULL, &creds, "k", 600, T_20130524, NULL, &url, &e),
                     VR_EINVAL);
    assert_int_equal(
        vr_s3_presign_get(&cfg, "bad region", &creds, "k", 600, T_20130524, NULL, &url, &e),
        VR_EINVAL);
    vr_s3_config_cleanup(&cfg);
    vr_buf_cleanup(&url);
}

/* contract §3: s3Url without region signs for us-east-1, with no lookup. */
static void test_s3url_default_region(void **state)
{
    (void)state;
    struct vr_s3_config cfg;
    char err[256];
    assert_int_equal(parse_cfg("{\"s3Url\":\"http://127.0.0.1:9000\"}", "bkt", NULL, &cfg, err,
                               sizeof(err)),
                     0);
    assert_false(vr_s3_config_needs_region(&cfg));
    vr_s3_config_cleanup(&cfg);
    char *got = bsl_url("{\"s3Url\":\"http://127.0.0.1:9000\"}", "bkt", NULL, "a/b");
    char *want = direct_url("http", "127.0.0.1:9000", "/bkt/a/b", "us-east-1");
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "%2Fus-east-1%2Fs3%2Faws4_request"));
    vr_free(got);
    vr_free(want);
}

static void test_key_cache(void **state)
{
    (void)state;
    struct vr_sigv4_key_cache cache;
    struct vr_aws_creds creds = test_creds();
    struct vr_sigv4_request req = {
        .method = "GET",
        .scheme = "https",
        .host = "examplebucket.s3.amazonaws.com",
        .path = "/test.txt",
        .service = "s3",
        .region = "us-east-1",
        .payload_hash = "UNSIGNED-PAYLOAD",
        .creds = &creds,
        .expires_s = 86400,
        .now_s = T_20130524,
    };
    struct vr_buf a, b;
    vr_buf_init(&a, URL_CAP);
    vr_buf_init(&b, URL_CAP);
    vr_sigv4_key_cache_init(&cache);
    for (int i = 0; i < 3; i++) {
        vr_buf_reset(&a);
        assert_int_equal(vr_sigv4_presign(&req, &cache, &a, NULL, NULL), 0);
        assert_string_equal(url_signature(a.p), AWS_SIG);
    }
    assert_int_equal(cache.misses, 1);
    assert_int_equal(cache.hits, 2);
    /* Later the same day: hit, same result as uncached. */
    req.now_s += 3600;
    vr_buf_reset(&a);
    assert_int_equal(vr_sigv4_presign(&req, &cache, &a, NULL, NULL), 0);
    assert_int_equal(vr_sigv4_presign(&req, NULL, &b, NULL, NULL), 0);
    assert_string_equal(a.p, b.p);
    assert_int_equal(cache.hits, 3);
    /* A new day, a new region, a new secret (same length) each derive again. */
    const char *secrets[] = {SECRET, SECRET, "xJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
    const char *regions[] = {"us-east-1", "eu-west-1", "eu-west-1"};
    int64_t times[] = {T_20130524 + 86400, T_20130524 + 86400, T_20130524 + 86400};
    for (size_t i = 0; i < 3; i++) {
        creds.secret_access_key = (char *)secrets[i];
        req.region = regions[i];
        req.now_s = times[i];
        vr_buf_reset(&a);
        vr_buf_reset(&b);
        assert_int_equal(vr_sigv4_presign(&req, &cache, &a, NULL, NULL), 0);
        assert_int_equal(vr_sigv4_presign(&req, NULL, &b, NULL, NULL), 0);
        assert_string_equal(a.p, b.p);
        assert_int_equal(cache.misses, 2 + i);
    }
    vr_sigv4_key_cache_cleanup(&cache);
    assert_null(cache.secret);
    assert_false(cache.valid);
    vr_buf_cleanup(&a);
    vr_buf_cleanup(&b);
}

static void test_query_sort_and_token(void **state)
{
    (void)state;
    struct vr_aws_creds creds = test_creds();
    creds.session_token = (char *)"T";
    struct vr_sigv4_param params[] = {
        {"x-id", "GetObject"},
        {"a-b", "1"},
        {"a", "2"},
        {"a", "1"},
        {"response-content-disposition", "attachment; filename=\"x y.txt\""},
        {"e", NULL},
    };
    struct vr_sigv4_request req = {
        .method = "GET",
        .scheme = "https",
        .host = "h",
        .path = "",
        .params = params,
        .nparams = VR_ARRAY_SIZE(params),
        .service = "s3",
        .region = "us-east-1",
        .payload_hash = "UNSIGNED-PAYLOAD",
        .creds = &creds,
        .expires_s = 1,
        .now_s = 0,
    };
    struct vr_buf url, cr;
    vr_buf_init(&url, URL_CAP);
    vr_buf_init(&cr, URL_CAP);
    assert_int_equal(vr_sigv4_presign(&req, NULL, &url, &cr, NULL), 0);
    assert_string_equal(
        cr.p, "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" AKID
              "%2F19700101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=19700101T000000Z"
              "&X-Amz-Expires=1&X-Amz-Security-Token=T&X-Amz-SignedHeaders=host&a=1&a=2&a-b=1&e="
              "&response-content-disposition=attachment%3B%20filename%3D%22x%20y.txt%22"
              "&x-id=GetObject\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    assert_true(strncmp(url.p, "https://h/?X-Amz-Algorithm=", 27) == 0);
    /* The token signed inside the query; with token_after_signing it follows the signature. */
    req.token_after_signing = true;
    req.nparams = 0;
    vr_buf_reset(&url);
    vr_buf_reset(&cr);
    assert_int_equal(vr_sigv4_presign(&req, NULL, &url, &cr, NULL), 0);
    assert_null(strstr(cr.p, "Security-Token"));
    const char *sig = strstr(url.p, "&X-Amz-Signature=");
    assert_non_null(sig);
    assert_string_equal(sig + 17 + 64, "&X-Amz-Security-Token=T");
    vr_buf_cleanup(&url);
    vr_buf_cleanup(&cr);
}

static void test_bad_requests(void **state)
{
    (void)state;
    struct vr_aws_creds creds = test_creds();
    struct vr_sigv4_request ok = {
        .method = "GET",
        .scheme = "https",
        .host = "h",
        .path = "/k",
        .service = "s3",
        .region = "us-east-1",
        .payload_hash = "UNSIGNED-PAYLOAD",
        .creds = &creds,
        .expires_s = 60,
        .now_s = T_20130524,
    };
    struct vr_sigv4_request r;
    struct vr_buf url;
    vr_buf_init(&url, URL_CAP);
    r = ok;
    r.host = NULL;
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_EINVAL);
    r = ok;
    r.expires_s = 604801;
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_EINVAL);
    r = ok;
    r.now_s = -1;
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_EINVAL);
    r = ok;
    r.now_s = INT64_C(253402300800);
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_EINVAL);
    r = ok;
    creds.secret_access_key = (char *)"";
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_EINVAL);
    creds = test_creds();
    assert_int_equal(url.len, 0);
    /* A URL longer than the caller's cap. */
    struct vr_buf small;
    vr_buf_init(&small, 64);
    assert_int_equal(vr_sigv4_presign(&ok, NULL, &small, NULL, NULL), VR_ETOOBIG);
    assert_int_equal(small.len, 0);
    /* A key larger than the internal scratch cap. */
    size_t big = VR_SIGV4_SCRATCH_MAX;
    char *path = vr_xmalloc(big + 1);
    memset(path, ' ', big);
    path[big] = '\0';
    r = ok;
    r.path = path;
    assert_int_equal(vr_sigv4_presign(&r, NULL, &url, NULL, NULL), VR_ETOOBIG);
    vr_free(path);
    vr_buf_cleanup(&small);
    vr_buf_cleanup(&url);
}

static void test_presigner_table(void **state)
{
    (void)state;
    const struct vr_presigner_ops *ops = vr_presigner_find("aws");
    assert_non_null(ops);
    assert_ptr_equal(vr_presigner_find("velero.io/aws"), ops);
    assert_null(vr_presigner_find("gcp"));
    assert_null(vr_presigner_find("velero.io/"));
    assert_null(vr_presigner_find(NULL));
    const char *end = NULL;
    const char *json = REG ",\"s3Url\":\"https://s3.amazonaws.com\"}";
    cJSON *o = cJSON_ParseWithLengthOpts(json, strlen(json), &end, 0);
    void *cfg = NULL;
    char err[128];
    assert_int_equal(ops->config_new(o, "examplebucket", "", &cfg, err, sizeof(err)), 0);
    struct vr_aws_creds creds = test_creds();
    struct vr_presign_args a = {
        .key = "test.txt", .expires_s = 86400, .now_s = T_20130524, .creds = &creds};
    struct vr_buf url;
    int64_t e = 0;
    vr_buf_init(&url, URL_CAP);
    assert_int_equal(ops->presign_get(cfg, &a, &url, &e), 0);
    assert_int_equal(e, 86400);
    assert_string_equal(url_signature(url.p), AWS_SIG);
    ops->config_free(cfg);
    ops->config_free(NULL);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "nope", "x");
    cfg = NULL;
    assert_int_equal(ops->config_new(o, "b", "", &cfg, err, sizeof(err)), VR_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(err, "[nope]"));
    cJSON_Delete(o);
    vr_buf_cleanup(&url);
}

/* ---- --stdin-cases: the C side of the botocore cross-check ----
 * Each input line is a JSON object. "mode":"sigv4" takes the vectors.json fields and
 * answers {"url","canonical_request","string_to_sign"}; "mode":"bsl" takes "config" (an
 * object), "bucket", "prefix", "region" (optional), "key", the credential fields,
 * "cred_expiration", "expires", "now_s" and answers {"url","expires"}. Failures answer
 * {"error": "<VR_E name>", "message": "..."}. */

static void emit(cJSON *out)
{
    char *s = cJSON_PrintUnformatted(out);
    fputs(s, stdout);
    fputc('\n', stdout);
    cJSON_free(s);
    cJSON_Delete(out);
}

static cJSON *error_json(int rc, const char *msg)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "error", vr_err_name(rc));
    cJSON_AddStringToObject(out, "message", msg ? msg : vr_strerror(rc));
    return out;
}

static cJSON *run_sigv4_case(const cJSON *in)
{
    struct vcase c;
    struct vr_buf url, cr, sts;
    vcase_from_json(in, &c);
    vr_buf_init(&url, URL_CAP);
    vr_buf_init(&cr, URL_CAP);
    vr_buf_init(&sts, URL_CAP);
    int rc = vr_sigv4_presign(&c.req, NULL, &url, &cr, &sts);
    cJSON *out = rc < 0 ? error_json(rc, NULL) : cJSON_CreateObject();
    if (rc == 0) {
        cJSON_AddStringToObject(out, "url", url.p);
        cJSON_AddStringToObject(out, "canonical_request", cr.p);
        cJSON_AddStringToObject(out, "string_to_sign", sts.p);
    }
    vr_buf_cleanup(&url);
    vr_buf_cleanup(&cr);
    vr_buf_cleanup(&sts);
    vr_free(c.params);
    return out;
}

static cJSON *run_bsl_case(const cJSON *in, struct vr_sigv4_key_cache *cache)
{
    struct vr_s3_config cfg;
    char err[1024];
    int rc = vr_s3_config_parse(cJSON_GetObjectItemCaseSensitive(in, "config"), jstr(in, "bucket"),
                                jstr(in, "prefix"), &cfg, err, sizeof(err));
    if (rc < 0)
        return error_json(rc, err);
    struct vr_aws_creds creds = {
        .access_key_id = (char *)jstr(in, "access_key_id"),
        .secret_access_key = (char *)jstr(in, "secret_access_key"),
        .session_token = (char *)jstr(in, "session_token"),
        .expiration_s = jint(in, "cred_expiration") > 0 ? jint(in, "cred_expiration") : 0,
    };
    struct vr_buf url;
    int64_t e = 0;
    vr_buf_init(&url, URL_CAP);
    rc = vr_s3_presign_get(&cfg, jstr(in, "region"), &creds, jstr(in, "key"), jint(in, "expires"),
                           jint(in, "now_s"), cache, &url, &e);
    cJSON *out = rc < 0 ? error_json(rc, NULL) : cJSON_CreateObject();
    if (rc == 0) {
        cJSON_AddStringToObject(out, "url", url.p);
        cJSON_AddNumberToObject(out, "expires", (double)e);
    }
    vr_buf_cleanup(&url);
    vr_s3_config_cleanup(&cfg);
    return out;
}

static int run_stdin_cases(void)
{
    static char line[256 * 1024];
    struct vr_sigv4_key_cache cache;
    vr_sigv4_key_cache_init(&cache);
    while (fgets(line, sizeof(line), stdin)) {
        size_t len = strlen(line);
        const char *end = NULL;
        cJSON *in = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        const char *mode = in ? jstr(in, "mode") : NULL;
        if (!mode)
            emit(error_json(VR_EPARSE, "bad input line"));
        else if (strcmp(mode, "bsl") == 0)
            emit(run_bsl_case(in, &cache));
        else
            emit(run_sigv4_case(in));
        cJSON_Delete(in);
        fflush(stdout);
    }
    vr_sigv4_key_cache_cleanup(&cache);
    return 0;
}

int main(int argc, char **argv)
{
    vr_mem_init_cjson();
    if (argc > 1 && strcmp(argv[1], "--stdin-cases") == 0)
        return run_stdin_cases();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),          cmocka_unit_test(test_aws_example_bsl),
        cmocka_unit_test(test_uri_encode),       cmocka_unit_test(test_key_encoding),
        cmocka_unit_test(test_hosts_ports),      cmocka_unit_test(test_addressing),
        cmocka_unit_test(test_virtual_hostable), cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_ok),        cmocka_unit_test(test_expiry_clamp),
        cmocka_unit_test(test_s3url_default_region),
        cmocka_unit_test(test_key_cache),        cmocka_unit_test(test_query_sort_and_token),
        cmocka_unit_test(test_bad_requests),     cmocka_unit_test(test_presigner_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
