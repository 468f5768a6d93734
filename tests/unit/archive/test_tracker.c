/* Unit tests for services/archive/tracker: commits stop at the first
 * unfinished record, whatever order records finish in. */
#include <criterion/criterion.h>

#include "../../../services/archive/tracker.h"

static struct archive_tracker *utr;

static void utr_setup(void) {
    utr = archive_tracker_create();
    cr_assert_not_null(utr);
}

static void utr_teardown(void) {
    archive_tracker_destroy(utr);
}

TestSuite(archive_tracker, .init = utr_setup, .fini = utr_teardown);

Test(archive_tracker, nothing_finished_nothing_to_commit) {
    cr_assert_eq(archive_tracker_add(utr, 0, 10), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0), -1);
    cr_assert_eq(archive_tracker_committable(utr, 7), -1, "unknown partition");
}

Test(archive_tracker, a_hole_holds_the_commit_back_until_filled) {
    for (int64_t o = 100; o < 105; o++)
        cr_assert_eq(archive_tracker_add(utr, 2, o), 0);
    cr_assert_eq(archive_tracker_done(utr, 2, 101), 0);
    cr_assert_eq(archive_tracker_done(utr, 2, 103), 0);
    cr_assert_eq(archive_tracker_done(utr, 2, 104), 0);
    cr_assert_eq(archive_tracker_committable(utr, 2), -1, "100 is not stored");
    cr_assert_eq(archive_tracker_done(utr, 2, 100), 0);
    cr_assert_eq(archive_tracker_committable(utr, 2), 102, "up to the hole at 102");
    cr_assert_eq(archive_tracker_pending_partition(utr, 2), 3);
    cr_assert_eq(archive_tracker_done(utr, 2, 102), 0);
    cr_assert_eq(archive_tracker_committable(utr, 2), 105);
    cr_assert_eq(archive_tracker_pending(utr), 0);
}

Test(archive_tracker, offset_gaps_from_transaction_markers_are_not_holes) {
    /* 5 and 6 are commit markers: never delivered, never waited for */
    cr_assert_eq(archive_tracker_add(utr, 0, 4), 0);
    cr_assert_eq(archive_tracker_add(utr, 0, 7), 0);
    cr_assert_eq(archive_tracker_done(utr, 0, 4), 0);
    cr_assert_eq(archive_tracker_done(utr, 0, 7), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0), 8);
}

Test(archive_tracker, partitions_are_independent) {
    cr_assert_eq(archive_tracker_add(utr, 0, 1), 0);
    cr_assert_eq(archive_tracker_add(utr, 1, 1), 0);
    cr_assert_eq(archive_tracker_done(utr, 1, 1), 0);
    cr_assert_eq(archive_tracker_committable(utr, 1), 2);
    cr_assert_eq(archive_tracker_committable(utr, 0), -1);
}

Test(archive_tracker, committed_position_is_not_offered_again) {
    cr_assert_eq(archive_tracker_add(utr, 0, 1), 0);
    cr_assert_eq(archive_tracker_done(utr, 0, 1), 0);
    archive_tracker_committed(utr, 0, 2);
    cr_assert_eq(archive_tracker_committable(utr, 0), -1);
    archive_tracker_committed(utr, 0, -1); /* a failed async commit */
    cr_assert_eq(archive_tracker_committable(utr, 0), 2, "offered again after a failure");
}

Test(archive_tracker, refuses_non_increasing_and_unknown_offsets) {
    cr_assert_eq(archive_tracker_add(utr, 0, 5), 0);
    cr_assert_eq(archive_tracker_add(utr, 0, 5), -1, "redelivered duplicate");
    cr_assert_eq(archive_tracker_add(utr, 0, 3), -1);
    cr_assert_eq(archive_tracker_add(utr, 0, -1), -1);
    cr_assert_eq(archive_tracker_done(utr, 0, 6), -1);
    cr_assert_eq(archive_tracker_done(utr, 9, 5), -1);
}

Test(archive_tracker, grows_past_its_first_ring_and_wraps) {
    for (int64_t o = 0; o < 1000; o++)
        cr_assert_eq(archive_tracker_add(utr, 0, o * 2), 0);
    for (int64_t o = 999; o >= 1; o--) /* finish backwards: nothing commits */
        cr_assert_eq(archive_tracker_done(utr, 0, o * 2), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0), -1);
    cr_assert_eq(archive_tracker_done(utr, 0, 0), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0), 1999);
}

Test(archive_tracker, removed_partition_starts_over) {
    cr_assert_eq(archive_tracker_add(utr, 0, 5), 0);
    archive_tracker_remove(utr, 0);
    cr_assert_eq(archive_tracker_pending(utr), 0);
    cr_assert_eq(archive_tracker_add(utr, 0, 3), 0, "reassigned: the commit may be earlier");
}
