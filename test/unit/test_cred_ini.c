/* The pure parts of the AWS credential providers: the INI parser, ISO 8601 times, the STS
 * form body and answers, credential JSON and the container URL policy. */
#include <string.h>

#include "store/cred_ini.h"
#include "store/cred_parse.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static int parse(const char *text, const char *profile, struct vr_aws_profile *p, char *err)
{
    memset(p, 0, sizeof(*p));
    return vr_cred_ini_parse(text, strlen(text), profile, p, err, 256);
}

static void test_ini_both_formats(void **state)
{
    (void)state;
    const char *ini = "\xEF\xBB\xBF# comment\r\n"
                      "; another\n"
                      "[default]\r\n"
                      "aws_access_key_id   =   AKIDDEF  \r\n"
                      "AWS_Secret_Access_Key=sec/ret+x#notacomment\n"
                      "\n"
                      "[profile prod]\n"
                      "region = eu-west-1\n"
                      "aws_access_key_id = FROMCONFIG\n"
                      "s3 =\n"
                      "  addressing_style = path\n"
                      "  aws_access_key_id = NOTTHIS\n"
                      "[ prod ]\n"
                      "aws_access_key_id = FROMCREDS\n"
                      "aws_secret_access_key = S2\n"
                      "aws_session_token = TOK\n"
                      "[other]\n"
                      "aws_access_key_id = OTHER\n";
    struct vr_aws_profile p;
    char err[256];
    assert_int_equal(parse(ini, NULL, &p, err), 0);
    assert_string_equal(p.access_key_id, "AKIDDEF");
    assert_string_equal(p.secret_access_key, "sec/ret+x#notacomment");
    assert_null(p.session_token);
    vr_aws_profile_cleanup(&p);

    assert_int_equal(parse(ini, "prod", &p, err), 0);
    assert_string_equal(p.access_key_id, "FROMCREDS"); /* [prod] wins over [profile prod] */
    assert_string_equal(p.secret_access_key, "S2");
    assert_string_equal(p.session_token, "TOK");
    assert_string_equal(p.region, "eu-west-1"); /* only in [profile prod] */
    vr_aws_profile_cleanup(&p);
    assert_null(p.access_key_id);
}

static void test_ini_web_identity_profile(void **state)
{
    (void)state;
    const char *ini = "[profile irsa]\nrole_arn = arn:aws:iam::1:role/r\n"
                      "web_identity_token_file = /var/run/tok\nrole_session_name = s1\n";
    struct vr_aws_profile p;
    char err[256];
    assert_int_equal(parse(ini, "irsa", &p, err), 0);
    assert_string_equal(p.role_arn, "arn:aws:iam::1:role/r");
    assert_string_equal(p.web_identity_token_file, "/var/run/tok");
    assert_string_equal(p.role_session_name, "s1");
    assert_null(p.access_key_id);
    vr_aws_profile_cleanup(&p);
}

static void expect_err(const char *ini, const char *profile, const char *msg)
{
    struct vr_aws_profile p;
    char err[256];
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(vr_cred_ini_parse(ini, strlen(ini), profile, &p, err, sizeof(err)),
                     VR_ECONFIG);
    assert_string_equal(err, msg);
    assert_ptr_equal(p.access_key_id, (char *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL); /* untouched */
}

static void test_ini_errors(void **state)
{
    (void)state;
    expect_err("[default]\naws_access_key_id = A\n", "nope", "profile \"nope\" not found");
    expect_err("", NULL, "profile \"default\" not found");
    expect_err("key = v\n[default]\n", NULL, "line 1: key outside of a section");
    expect_err("[default]\n\nsecret-without-equals\n", NULL, "line 3: expected \"key = value\"");
    expect_err("[default\n", NULL, "line 1: section header without ']'");
    expect_err("# c\n[ ]\n", NULL, "line 2: empty section name");
    expect_err("[a] junk\n", NULL, "line 1: unexpected text after the section header");
    expect_err("[a]\n = v\n", "a", "line 2: empty key name");
    const char nul[] = "[default]\na = b\0c\n";
    struct vr_aws_profile p;
    char err[256];
    assert_int_equal(vr_cred_ini_parse(nul, sizeof(nul) - 1, NULL, &p, err, sizeof(err)),
                     VR_ECONFIG);
    assert_string_equal(err, "line 2: NUL byte");
    /* Secrets never show in messages. */
    expect_err("[default]\nAKIASECRETVALUE\n", NULL, "line 2: expected \"key = value\"");
}

static void test_ini_edge(void **state)
{
    (void)state;
    struct vr_aws_profile p;
    char err[256];
    /* Empty values are unset; a later key wins; "[profile default]" is default too. */
    assert_int_equal(parse("[profile default]\naws_session_token =\naws_access_key_id=a\n"
                           "aws_access_key_id=b\n  indented = ignored\n[default] ; c\n",
                           "", &p, err),
                     0);
    assert_string_equal(p.access_key_id, "b");
    assert_null(p.session_token);
    vr_aws_profile_cleanup(&p);
    /* An indented first key of a section is a key. */
    assert_int_equal(parse("[x]\n  aws_access_key_id = i\n", "x", &p, err), 0);
    assert_string_equal(p.access_key_id, "i");
    vr_aws_profile_cleanup(&p);
    /* "[profile]" alone is a credentials-format profile named "profile". */
    assert_int_equal(parse("[profile]\naws_access_key_id = q\n", "profile", &p, err), 0);
    assert_string_equal(p.access_key_id, "q");
    vr_aws_profile_cleanup(&p);
    /* No trailing newline. */
    assert_int_equal(parse("[default]\naws_access_key_id = z", NULL, &p, err), 0);
    assert_string_equal(p.access_key_id, "z");
    vr_aws_profile_cleanup(&p);
}

static void test_time(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(vr__cred_parse_time(vr_str_c("1970-01-01T00:00:00Z"), &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01T10:30:05Z"), &t), 0);
    assert_int_equal(t, 1767263405);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01T10:30:05.123Z"), &t), 0);
    assert_int_equal(t, 1767263405);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01T12:30:05+02:00"), &t), 0);
    assert_int_equal(t, 1767263405);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2024-02-29T00:00:00Z"), &t), 0);
    assert_int_equal(t, 1709164800);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01 10:30:05Z"), &t), VR_EPARSE);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-13-01T10:30:05Z"), &t), VR_EPARSE);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01T10:30:05"), &t), VR_EPARSE);
    assert_int_equal(vr__cred_parse_time(vr_str_c("2026-01-01T10:30:05Zx"), &t), VR_EPARSE);
}

static void test_sts_body(void **state)
{
    (void)state;
    struct vr_buf b;
    vr_buf_init(&b, 4096);
    assert_int_equal(vr__cred_sts_body(&b, "arn:aws:iam::123:role/r", "s n",
                                       vr_str_c("ey.J+/=~")),
                     0);
    assert_string_equal(b.p, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                             "&RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fr"
                             "&RoleSessionName=s%20n&WebIdentityToken=ey.J%2B%2F%3D~");
    vr_buf_cleanup(&b);
}

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:v:s</SubjectFromWebIdentityToken>\n"
    "    <Credentials>\n"
    "      <SessionToken>tok&amp;en</SessionToken>\n"
    "      <SecretAccessKey>sec&#x2F;ret</SecretAccessKey>\n"
    "      <Expiration>2026-01-01T11:30:05Z</Expiration>\n"
    "      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts_parse(void **state)
{
    (void)state;
    struct vr_aws_creds c;
    char err[256];
    assert_int_equal(vr__cred_parse_sts(200, vr_str_c(sts_ok), 5, &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "ASIAEXAMPLE");
    assert_string_equal(c.secret_access_key, "sec/ret");
    assert_string_equal(c.session_token, "tok&en");
    assert_int_equal(c.expiration_s, 1767267005);
    assert_string_equal(c.source, "web-identity");
    vr_aws_creds_cleanup(&c);

    const char *noexp = "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
                        "</SecretAccessKey><SessionToken>T</SessionToken></Credentials>";
    assert_int_equal(vr__cred_parse_sts(200, vr_str_c(noexp), 1000, &c, err, sizeof(err)), 0);
    assert_int_equal(c.expiration_s, 1900);
    vr_aws_creds_cleanup(&c);

    assert_int_equal(vr__cred_parse_sts(200, vr_str_c("<x/>"), 0, &c, err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(vr__cred_parse_sts(200, vr_str_c("<Credentials><AccessKeyId>&bogus;"
                                                      "</AccessKeyId><SecretAccessKey>S"
                                                      "</SecretAccessKey><SessionToken>T"
                                                      "</SessionToken></Credentials>"),
                                        0, &c, err, sizeof(err)),
                     VR_EPARSE);
    const char *e = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                    "<Message>bad jwt</Message></Error></ErrorResponse>";
    assert_int_equal(vr__cred_parse_sts(400, vr_str_c(e), 0, &c, err, sizeof(err)),
                     VR_EFORBIDDEN);
    assert_string_equal(err, "STS AssumeRoleWithWebIdentity: HTTP 400 InvalidIdentityToken: bad jwt");
    const char *idp = "<ErrorResponse><Error><Code>IDPCommunicationError</Code></Error>"
                      "</ErrorResponse>";
    assert_int_equal(vr__cred_parse_sts(400, vr_str_c(idp), 0, &c, err, sizeof(err)), VR_ESERVER);
    assert_int_equal(vr__cred_parse_sts(503, vr_str_c(""), 0, &c, err, sizeof(err)), VR_ESERVER);
}

static void test_json_parse(void **state)
{
    (void)state;
    struct vr_aws_creds c;
    char err[256];
    const char *ok = "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"A\","
                     "\"SecretAccessKey\":\"S\",\"Token\":\"T\","
                     "\"Expiration\":\"2026-01-01T10:30:05Z\"}\n";
    assert_int_equal(vr__cred_parse_json(vr_str_c(ok), "imds", 0, &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "A");
    assert_string_equal(c.secret_access_key, "S");
    assert_string_equal(c.session_token, "T");
    assert_int_equal(c.expiration_s, 1767263405);
    assert_string_equal(c.source, "imds");
    vr_aws_creds_cleanup(&c);
    assert_int_equal(vr__cred_parse_json(vr_str_c("{\"Code\":\"Failure\"}"), "imds", 0, &c, err,
                                         sizeof(err)),
                     VR_EPARSE);
    assert_string_equal(err, "imds credentials: Code is \"Failure\"");
    assert_int_equal(vr__cred_parse_json(vr_str_c("{\"AccessKeyId\":\"A\"}"), "container", 0, &c,
                                         err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(vr__cred_parse_json(vr_str_c("{} x"), "c", 0, &c, err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(vr__cred_parse_json(vr_str_c("[]"), "c", 0, &c, err, sizeof(err)), VR_EPARSE);
    assert_int_equal(vr__cred_parse_json(vr_str_c(""), "c", 0, &c, err, sizeof(err)), VR_EPARSE);
}

static void test_container_url(void **state)
{
    (void)state;
    assert_true(vr__cred_container_url_ok("http://127.0.0.1:8080/creds"));
    assert_true(vr__cred_container_url_ok("http://127.3.4.5/x"));
    assert_true(vr__cred_container_url_ok("http://localhost/x"));
    assert_true(vr__cred_container_url_ok("http://[::1]:9/x"));
    assert_true(vr__cred_container_url_ok("http://169.254.170.2/v2/x"));
    assert_true(vr__cred_container_url_ok("http://169.254.170.23/v1/credentials"));
    assert_true(vr__cred_container_url_ok("http://[fd00:ec2::23]/v1/credentials"));
    assert_true(vr__cred_container_url_ok("https://creds.example.com/x"));
    assert_false(vr__cred_container_url_ok("http://example.com/x"));
    assert_false(vr__cred_container_url_ok("http://127.0.0.1.evil.com/x"));
    assert_false(vr__cred_container_url_ok("http://169.254.169.254/x"));
    assert_false(vr__cred_container_url_ok("http://user@127.0.0.1/x"));
    assert_false(vr__cred_container_url_ok("ftp://127.0.0.1/x"));
    assert_false(vr__cred_container_url_ok(NULL));
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini_both_formats), cmocka_unit_test(test_ini_web_identity_profile),
        cmocka_unit_test(test_ini_errors),       cmocka_unit_test(test_ini_edge),
        cmocka_unit_test(test_time),             cmocka_unit_test(test_sts_body),
        cmocka_unit_test(test_sts_parse),        cmocka_unit_test(test_json_parse),
        cmocka_unit_test(test_container_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
