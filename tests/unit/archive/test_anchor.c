/* Unit tests for services/archive/anchor: the commit metadata round trip
 * and where a partition resumes from a committed position. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../services/archive/anchor.h"
#include "kafka_anchor.h"

TestSuite(archive_anchor);

Test(archive_anchor, metadata_round_trips_and_rejects_anything_else) {
    char hex[ARCHIVE_ANCHOR_HEX + 1];
    uint64_t v = 0;
    archive_anchor_format(UINT64_C(0x00ab00cd00ef0012), hex);
    cr_assert_str_eq(hex, "00ab00cd00ef0012");
    cr_assert_eq(archive_anchor_parse(hex, strlen(hex), &v), 0);
    cr_assert_eq(v, UINT64_C(0x00ab00cd00ef0012));
    archive_anchor_format(UINT64_MAX, hex);
    cr_assert_eq(archive_anchor_parse(hex, ARCHIVE_ANCHOR_HEX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(archive_anchor_parse(NULL, 0, &v), -1, "no metadata");
    cr_assert_eq(archive_anchor_parse("", 0, &v), -1);
    cr_assert_eq(archive_anchor_parse("00ab00cd00ef001", 15, &v), -1, "too short");
    cr_assert_eq(archive_anchor_parse("00ab00cd00ef00120", 17, &v), -1, "too long");
    cr_assert_eq(archive_anchor_parse("00AB00CD00EF0012", 16, &v), -1, "not ours: upper case");
    cr_assert_eq(archive_anchor_parse("00ab00cd00ef001g", 16, &v), -1);
}

Test(archive_anchor, positions_outside_the_log_restart_at_its_start) {
    const char *reason = NULL;
    cr_assert_eq(archive_anchor_plan(50, 1, 0, 10, &reason), ARCHIVE_START_BEGINNING);
    cr_assert_str_eq(reason, KAFKA_RESET_BEYOND_END, "recreated, still shorter");
    reason = NULL;
    cr_assert_eq(archive_anchor_plan(50, 0, 0, 10, &reason), ARCHIVE_START_BEGINNING,
                 "without an anchor too");
    cr_assert_str_eq(reason, KAFKA_RESET_BEYOND_END);
    reason = NULL;
    cr_assert_eq(archive_anchor_plan(5, 1, 20, 30, &reason), ARCHIVE_START_BEGINNING);
    cr_assert_str_eq(reason, KAFKA_RESET_BEFORE_START, "records expired unread");
}

Test(archive_anchor, positions_inside_the_log_are_checked_when_they_can_be) {
    const char *reason = NULL;
    cr_assert_eq(archive_anchor_plan(50, 1, 0, 100, &reason), ARCHIVE_START_VERIFY);
    cr_assert_eq(archive_anchor_plan(100, 1, 0, 100, &reason), ARCHIVE_START_VERIFY,
                 "at the log end: the anchor record is the last one");
    cr_assert_eq(archive_anchor_plan(50, 0, 0, 100, &reason), ARCHIVE_START_COMMITTED,
                 "an older commit without anchor");
    cr_assert_eq(archive_anchor_plan(20, 1, 20, 100, &reason), ARCHIVE_START_COMMITTED,
                 "the anchor record expired: nothing to compare");
    cr_assert_eq(archive_anchor_plan(0, 1, 0, 0, &reason), ARCHIVE_START_COMMITTED);
    cr_assert_null(reason);
}

Test(archive_anchor, only_the_same_record_at_the_same_offset_matches) {
    cr_assert(archive_anchor_matches(9, 77, 9, 77));
    cr_assert_not(archive_anchor_matches(9, 77, 9, 78), "another record at the offset");
    cr_assert_not(archive_anchor_matches(9, 77, 10, 77), "the offset was not there");
}

Test(archive_anchor, refused_positions_are_classified_by_the_watermarks) {
    cr_assert_null(archive_anchor_refused_reason(-1001, 1, 0, 10), "no commit: not a reset");
    cr_assert_null(archive_anchor_refused_reason(-2, 0, 0, 0));
    cr_assert_str_eq(archive_anchor_refused_reason(50, 1, 0, 10), KAFKA_RESET_BEYOND_END);
    cr_assert_str_eq(archive_anchor_refused_reason(5, 1, 20, 30), KAFKA_RESET_BEFORE_START);
    cr_assert_str_eq(archive_anchor_refused_reason(50, 0, -1, -1), KAFKA_RESET_BEYOND_END,
                     "watermarks unknown");
    cr_assert_str_eq(archive_anchor_refused_reason(5, 1, 0, 10), KAFKA_RESET_BEYOND_END,
                     "refused, then inside a refilled log");
}
