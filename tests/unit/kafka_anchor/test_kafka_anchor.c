/* kafka_anchor: position classes and the record fingerprint. */
#include <criterion/criterion.h>
#include <string.h>

#include "kafka_anchor.h"

TestSuite(kafka_anchor);

Test(kafka_anchor, positions_inside_the_log_are_ok) {
    cr_assert_eq(kafka_position_check(0, 0, 0), KAFKA_POSITION_OK, "empty log, start");
    cr_assert_eq(kafka_position_check(5, 5, 9), KAFKA_POSITION_OK, "at the log start");
    cr_assert_eq(kafka_position_check(9, 5, 9), KAFKA_POSITION_OK, "at the log end");
    cr_assert_null(kafka_position_reason(KAFKA_POSITION_OK));
}

Test(kafka_anchor, beyond_the_end_is_a_recreated_or_truncated_log) {
    cr_assert_eq(kafka_position_check(176000, 0, 20), KAFKA_POSITION_BEYOND_END);
    cr_assert_eq(kafka_position_check(10, 0, 9), KAFKA_POSITION_BEYOND_END);
    cr_assert_str_eq(kafka_position_reason(KAFKA_POSITION_BEYOND_END), "beyond_end");
}

Test(kafka_anchor, before_the_start_is_records_deleted_unread) {
    cr_assert_eq(kafka_position_check(4, 5, 9), KAFKA_POSITION_BEFORE_START);
    cr_assert_str_eq(kafka_position_reason(KAFKA_POSITION_BEFORE_START), "before_start");
}

Test(kafka_anchor, same_record_same_anchor) {
    uint64_t a = kafka_anchor_hash(1700000000123, "k", 1, "{\"order\":1}", 11);
    cr_assert_eq(a, kafka_anchor_hash(1700000000123, "k", 1, "{\"order\":1}", 11));
}

Test(kafka_anchor, any_difference_changes_the_anchor) {
    uint64_t a = kafka_anchor_hash(1700000000123, "k", 1, "{\"order\":1}", 11);
    cr_assert_neq(a, kafka_anchor_hash(1700000000124, "k", 1, "{\"order\":1}", 11), "timestamp");
    cr_assert_neq(a, kafka_anchor_hash(1700000000123, "j", 1, "{\"order\":1}", 11), "key");
    cr_assert_neq(a, kafka_anchor_hash(1700000000123, "k", 1, "{\"order\":2}", 11), "value");
    cr_assert_neq(a, kafka_anchor_hash(1700000000123, NULL, 0, "{\"order\":1}", 11), "no key");
    /* The boundary between key and value counts. */
    cr_assert_neq(kafka_anchor_hash(0, "ab", 2, "c", 1), kafka_anchor_hash(0, "a", 1, "bc", 2));
}

Test(kafka_anchor, empty_record_has_a_fixed_anchor) {
    cr_assert_eq(kafka_anchor_hash(-1, NULL, 0, NULL, 0), kafka_anchor_hash(-1, "", 0, "", 0));
}
