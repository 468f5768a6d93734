/* Least privilege in the object store: the archive user may only PutObject
 * into the archive bucket; it can neither list, read nor delete. Runs against
 * the real local S3 server (versitygw). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../support/itest_env.h"
#include "s3.h"
#include "strbuf.h"

static struct s3_client *s3_as_archive;
static struct s3_client *s3_as_root;
static char s3_key[160];
static const char s3_body[] = "{\"specversion\":\"1.0\",\"id\":\"itest\"}";

static struct s3_client *s3_client_for(const char *access_var, const char *secret_var) {
    struct s3_settings s = {
        .endpoint = itest_env("S3_ENDPOINT"),
        .region = itest_env("S3_REGION"),
        .access_key = itest_env(access_var),
        .secret_key = itest_env(secret_var),
        .timeout_ms = 10000,
    };
    char err[256];
    struct s3_client *c = s3_client_create(&s, err, sizeof err);
    cr_assert(c, "s3 client: %s", err);
    return c;
}

static void s3_setup(void) {
    s3_as_archive = s3_client_for("S3_ARCHIVE_ACCESS_KEY", "S3_ARCHIVE_SECRET_KEY");
    s3_as_root = s3_client_for("S3_ROOT_ACCESS_KEY", "S3_ROOT_SECRET_KEY");
    char unique[96];
    snprintf(s3_key, sizeof s3_key, "itest/%s.json", itest_unique("acl", unique, sizeof unique));
    struct s3_result res;
    cr_assert_eq(s3_put_object(s3_as_archive, itest_env("S3_BUCKET"), s3_key, s3_body,
                               strlen(s3_body), "application/json", &res),
                 0, "put: %s", res.message);
    cr_assert_eq(res.http_status, 200, "archive may PutObject: %ld %s %s", res.http_status,
                 res.error_code, res.message);
}

static void s3_teardown(void) {
    struct s3_result res;
    if (s3_as_root)
        (void)s3_delete_object(s3_as_root, itest_env("S3_BUCKET"), s3_key, &res);
    s3_client_destroy(s3_as_archive);
    s3_client_destroy(s3_as_root);
}

TestSuite(s3_policy, .init = s3_setup, .fini = s3_teardown);

Test(s3_policy, root_reads_back_what_archive_wrote) {
    struct strbuf body;
    strbuf_init(&body, 1 << 20);
    struct s3_result res;
    cr_assert_eq(s3_get_object(s3_as_root, itest_env("S3_BUCKET"), s3_key, &body, &res), 0);
    cr_assert_eq(res.http_status, 200);
    cr_assert_str_eq(strbuf_str(&body), s3_body);
    strbuf_release(&body);
}

Test(s3_policy, archive_cannot_read) {
    struct s3_result res;
    cr_assert_eq(s3_get_object(s3_as_archive, itest_env("S3_BUCKET"), s3_key, NULL, &res), 0);
    cr_assert_eq(res.http_status, 403, "GetObject answered %ld", res.http_status);
    cr_assert_str_eq(res.error_code, "AccessDenied");
}

Test(s3_policy, archive_cannot_list) {
    struct s3_result res;
    cr_assert_eq(s3_list_objects(s3_as_archive, itest_env("S3_BUCKET"), "", NULL, NULL, &res), 0);
    cr_assert_eq(res.http_status, 403, "ListObjectsV2 answered %ld", res.http_status);
    cr_assert_str_eq(res.error_code, "AccessDenied");
}

Test(s3_policy, archive_cannot_delete) {
    struct s3_result res;
    cr_assert_eq(s3_delete_object(s3_as_archive, itest_env("S3_BUCKET"), s3_key, &res), 0);
    cr_assert_eq(res.http_status, 403, "DeleteObject answered %ld", res.http_status);
    struct strbuf body;
    strbuf_init(&body, 1 << 20);
    cr_assert_eq(s3_get_object(s3_as_root, itest_env("S3_BUCKET"), s3_key, &body, &res), 0);
    cr_assert_eq(res.http_status, 200, "the object survived");
    strbuf_release(&body);
}

Test(s3_policy, wrong_secret_is_refused) {
    struct s3_settings s = {
        .endpoint = itest_env("S3_ENDPOINT"),
        .region = itest_env("S3_REGION"),
        .access_key = itest_env("S3_ARCHIVE_ACCESS_KEY"),
        .secret_key = "not-the-secret",
    };
    char err[256];
    struct s3_client *c = s3_client_create(&s, err, sizeof err);
    cr_assert(c, "%s", err);
    struct s3_result res;
    cr_assert_eq(s3_put_object(c, itest_env("S3_BUCKET"), "itest/forged.json", "x", 1, NULL, &res),
                 0);
    cr_assert_eq(res.http_status, 403);
    s3_client_destroy(c);
}
