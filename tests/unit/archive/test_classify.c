/* Unit tests for services/archive/classify: which store answers are
 * retried forever, which become poison, and when poison is dead-lettered. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../../../services/archive/classify.h"

static struct s3_result ucl(long status, const char *code) {
    struct s3_result r;
    memset(&r, 0, sizeof r);
    r.http_status = status;
    snprintf(r.error_code, sizeof r.error_code, "%s", code);
    return r;
}

static enum archive_outcome ucl_of(long status, const char *code) {
    struct s3_result r = ucl(status, code);
    return archive_classify_put(&r);
}

TestSuite(archive_classify);

Test(archive_classify, success) {
    cr_assert_eq(ucl_of(200, ""), ARCHIVE_OUTCOME_OK);
}

Test(archive_classify, outages_and_throttling_are_transient) {
    cr_assert_eq(ucl_of(0, ""), ARCHIVE_OUTCOME_TRANSIENT, "connection refused / timeout");
    cr_assert_eq(ucl_of(500, "InternalError"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(503, "SlowDown"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(429, ""), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(408, ""), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(400, "RequestTimeout"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(0, S3_CLIENT_OUT_OF_MEMORY), ARCHIVE_OUTCOME_TRANSIENT);
}

Test(archive_classify, misconfiguration_is_transient_not_poison) {
    cr_assert_eq(ucl_of(403, "AccessDenied"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(403, ""), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(403, "SignatureDoesNotMatch"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(401, ""), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(404, "NoSuchBucket"), ARCHIVE_OUTCOME_TRANSIENT);
    cr_assert_eq(ucl_of(400, "InvalidAccessKeyId"), ARCHIVE_OUTCOME_TRANSIENT);
}

Test(archive_classify, other_client_errors_are_permanent) {
    cr_assert_eq(ucl_of(400, "InvalidArgument"), ARCHIVE_OUTCOME_PERMANENT);
    cr_assert_eq(ucl_of(400, "KeyTooLongError"), ARCHIVE_OUTCOME_PERMANENT);
    cr_assert_eq(ucl_of(413, "EntityTooLarge"), ARCHIVE_OUTCOME_PERMANENT);
    cr_assert_eq(ucl_of(411, ""), ARCHIVE_OUTCOME_PERMANENT);
    cr_assert_eq(ucl_of(0, S3_CLIENT_INVALID_ARGUMENT), ARCHIVE_OUTCOME_PERMANENT);
}

Test(archive_classify, transient_never_reaches_the_dlq) {
    for (uint32_t a = 1; a < 1000; a++)
        cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_TRANSIENT, a, 3), ARCHIVE_STEP_RETRY);
}

Test(archive_classify, permanent_is_dead_lettered_after_exactly_max_attempts) {
    cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_PERMANENT, 1, 3), ARCHIVE_STEP_RETRY);
    cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_PERMANENT, 2, 3), ARCHIVE_STEP_RETRY);
    cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_PERMANENT, 3, 3), ARCHIVE_STEP_DLQ);
    cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_PERMANENT, 1, 1), ARCHIVE_STEP_DLQ);
    cr_assert_eq(archive_next_step(ARCHIVE_OUTCOME_OK, 1, 3), ARCHIVE_STEP_DONE);
}

Test(archive_classify, names) {
    cr_assert_str_eq(archive_outcome_name(ARCHIVE_OUTCOME_OK), "ok");
    cr_assert_str_eq(archive_outcome_name(ARCHIVE_OUTCOME_TRANSIENT), "transient");
    cr_assert_str_eq(archive_outcome_name(ARCHIVE_OUTCOME_PERMANENT), "permanent");
}
