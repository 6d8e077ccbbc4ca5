/*
 * The --plugins-file parser: YAML and JSON lists of {name, kind}, errors that name the
 * entry (or the YAML position), the default list, loading from a file, the JSON array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/plugins.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static int parse(const char *text, struct vr_plugins *out, char *err, size_t errlen)
{
    return vr_plugins_parse(text, strlen(text), out, err, errlen);
}

static void test_yaml_and_json(void **state)
{
    (void)state;
    struct vr_plugins p;
    char err[256] = "";
    assert_int_equal(parse("- name: velero.io/aws\n  kind: ObjectStore\n"
                           "- {name: velero.io/aws, kind: VolumeSnapshotter, extra: 1}\n"
                           "- name: velero.io/pod\n  kind: BackupItemAction\n",
                           &p, err, sizeof(err)),
                     0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0].name, "velero.io/aws");
    assert_string_equal(p.v[0].kind, "ObjectStore");
    assert_string_equal(p.v[1].kind, "VolumeSnapshotter");
    assert_string_equal(p.v[2].name, "velero.io/pod");
    cJSON *j = vr_plugins_to_json(&p);
    char *s = cJSON_PrintUnformatted(j);
    assert_string_equal(s, "[{\"name\":\"velero.io/aws\",\"kind\":\"ObjectStore\"},"
                           "{\"name\":\"velero.io/aws\",\"kind\":\"VolumeSnapshotter\"},"
                           "{\"name\":\"velero.io/pod\",\"kind\":\"BackupItemAction\"}]");
    cJSON_free(s);
    cJSON_Delete(j);
    vr_plugins_cleanup(&p);
    assert_int_equal(p.n, 0);

    assert_int_equal(parse("[{\"name\": \"velero.io/gcp\", \"kind\": \"ObjectStore\"}]", &p, err,
                           sizeof(err)),
                     0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.v[0].name, "velero.io/gcp");
    vr_plugins_cleanup(&p);
    assert_int_equal(parse("[]", &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 0);
    vr_plugins_cleanup(&p);
}

static void expect_error(const char *text, const char *want)
{
    struct vr_plugins p = {0};
    char err[256] = "";
    assert_int_equal(parse(text, &p, err, sizeof(err)), VR_ECONFIG);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
    assert_int_equal(p.n, 0);
}

static void test_errors_name_the_entry(void **state)
{
    (void)state;
    expect_error("- {name: a, kind: ObjectStore}\n- {name: b, kind: Foo}\n",
                 "entry 2 (b): kind \"Foo\" is not a Velero plugin kind");
    expect_error("- {name: a, kind: ObjectStore}\n- {kind: ObjectStore}\n",
                 "entry 2: name is missing or empty");
    expect_error("- {name: a}\n", "entry 1 (a): kind is missing or empty");
    expect_error("- {name: \"\", kind: ObjectStore}\n", "entry 1: name is missing or empty");
    expect_error("- {name: [x], kind: ObjectStore}\n", "entry 1: name and kind must be strings");
    expect_error("- just a string\n", "entry 1: not a mapping");
    expect_error("{name: a, kind: ObjectStore}\n", "expected a list");
    expect_error("", "empty file");
    expect_error("- {name: a, kind: ObjectStore\n", "line ");
}

static void test_default_and_copy(void **state)
{
    (void)state;
    struct vr_plugins d, c;
    vr_plugins_default(&d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].name, "velero.io/aws");
    assert_string_equal(d.v[0].kind, "ObjectStore");
    vr_plugins_copy(&d, &c);
    vr_plugins_cleanup(&d);
    assert_string_equal(c.v[0].name, "velero.io/aws");
    vr_plugins_cleanup(&c);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/vr_plugins_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "- name: velero.io/aws\n  kind: ObjectStore\n- {name: x, kind: Nope}\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct vr_plugins p;
    char err[512] = "";
    assert_int_equal(vr_plugins_load(path, &p, err, sizeof(err)), VR_ECONFIG);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "entry 2 (x)"));
    unlink(path);
    assert_int_equal(vr_plugins_load(path, &p, err, sizeof(err)), VR_ECONFIG);
    assert_non_null(strstr(err, "cannot read"));
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_and_json),
        cmocka_unit_test(test_errors_name_the_entry),
        cmocka_unit_test(test_default_and_copy),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
