/* Unit tests for services/archive/config: defaults, the mode, errors that
 * name the variable, secrets never printed. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#include "../../../services/archive/config.h"

#define UCF_SECRET "unit-s3-secret-never-printed"

static struct archive_config ucf;
static char ucf_err[512];

static void ucf_setup(void) {
    static const char *const vars[] = {
        "ARCHIVE_MODE",
        "ARCHIVE_MAX_IN_FLIGHT",
        "ARCHIVE_BATCH_MAX",
        "ARCHIVE_BATCH_AGE",
        "ARCHIVE_MAX_ATTEMPTS",
        "ARCHIVE_RETRY_BASE",
        "ARCHIVE_RETRY_CAP",
        "ARCHIVE_TOPIC",
        "ARCHIVE_GROUP",
        "S3_BUCKET",
        "LOG_LEVEL",
        "S3_SECRET_KEY_FILE",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("KAFKA_BOOTSTRAP", "127.0.0.1:9092", 1);
    setenv("S3_ENDPOINT", "http://127.0.0.1:9000", 1);
    setenv("S3_ACCESS_KEY", "archive", 1);
    setenv("S3_SECRET_KEY", UCF_SECRET, 1);
}

static void ucf_teardown(void) {
    archive_config_free(&ucf);
}

TestSuite(archive_config, .init = ucf_setup, .fini = ucf_teardown);

Test(archive_config, defaults_follow_the_agreed_names) {
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), 0, "%s", ucf_err);
    cr_assert_str_eq(ucf.topic, "orders.archive");
    cr_assert_str_eq(ucf.group, "archive");
    cr_assert_str_eq(ucf.s3_bucket, "orders-archive");
    cr_assert_eq(ucf.mode, ARCHIVE_MODE_OBJECT);
    cr_assert_eq(ucf.max_attempts, 3);
}

Test(archive_config, batch_mode) {
    setenv("ARCHIVE_MODE", "batch", 1);
    setenv("ARCHIVE_BATCH_AGE", "2s", 1);
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), 0, "%s", ucf_err);
    cr_assert_eq(ucf.mode, ARCHIVE_MODE_BATCH);
    cr_assert_eq(ucf.batch_age_ms, 2000);
}

Test(archive_config, errors_name_the_variable) {
    setenv("ARCHIVE_MODE", "stream", 1);
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), -1);
    cr_assert_not_null(strstr(ucf_err, "ARCHIVE_MODE"), "%s", ucf_err);
    unsetenv("ARCHIVE_MODE");
    setenv("ARCHIVE_RETRY_BASE", "2s", 1);
    setenv("ARCHIVE_RETRY_CAP", "1s", 1);
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), -1);
    cr_assert_not_null(strstr(ucf_err, "ARCHIVE_RETRY_CAP"), "%s", ucf_err);
    unsetenv("S3_SECRET_KEY");
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), -1);
}

Test(archive_config, secret_is_redacted_in_the_description) {
    struct strbuf sb;
    cr_assert_eq(archive_config_load(&ucf, ucf_err, sizeof ucf_err), 0, "%s", ucf_err);
    strbuf_init(&sb, 1 << 16);
    archive_config_describe(&ucf, &sb);
    cr_assert_null(strstr(strbuf_str(&sb), UCF_SECRET));
    cr_assert_not_null(strstr(strbuf_str(&sb), "\"S3_SECRET_KEY\":\"<redacted>\""), "%s",
                       strbuf_str(&sb));
    strbuf_release(&sb);
}
