/* Unit tests for services/archive/tracker: commits stop at the first
 * unfinished record, whatever order records finish in; after a reset
 * (the partition's log regressed) records of the old log may still finish
 * but never move the new log's position. */
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

/* Adds offset o of partition p in the current epoch, anchor 1000 + o;
 * returns add's result. */
static int utr_add(int32_t p, int64_t o) {
    uint32_t epoch = 0;
    int rc = archive_tracker_add(utr, p, o, 1000 + (uint64_t)o, &epoch);
    if (rc == 0)
        cr_assert_eq(epoch, archive_tracker_epoch(utr, p));
    return rc;
}

/* Finishes offset o of partition p in the current epoch. */
static int utr_done(int32_t p, int64_t o) {
    return archive_tracker_done(utr, p, archive_tracker_epoch(utr, p), o);
}

static int64_t utr_next(int32_t p) {
    return archive_tracker_committable(utr, p, NULL);
}

TestSuite(archive_tracker, .init = utr_setup, .fini = utr_teardown);

Test(archive_tracker, nothing_finished_nothing_to_commit) {
    cr_assert_eq(utr_add(0, 10), 0);
    cr_assert_eq(utr_next(0), -1);
    cr_assert_eq(utr_next(7), -1, "unknown partition");
}

Test(archive_tracker, a_hole_holds_the_commit_back_until_filled) {
    for (int64_t o = 100; o < 105; o++)
        cr_assert_eq(utr_add(2, o), 0);
    cr_assert_eq(utr_done(2, 101), 0);
    cr_assert_eq(utr_done(2, 103), 0);
    cr_assert_eq(utr_done(2, 104), 0);
    cr_assert_eq(utr_next(2), -1, "100 is not stored");
    cr_assert_eq(utr_done(2, 100), 0);
    cr_assert_eq(utr_next(2), 102, "up to the hole at 102");
    cr_assert_eq(archive_tracker_pending_partition(utr, 2), 3);
    cr_assert_eq(utr_done(2, 102), 0);
    cr_assert_eq(utr_next(2), 105);
    cr_assert_eq(archive_tracker_pending(utr), 0);
}

Test(archive_tracker, the_anchor_is_the_record_before_the_position) {
    uint64_t anchor = 0;
    cr_assert_eq(utr_add(0, 4), 0);
    cr_assert_eq(utr_add(0, 9), 0);
    cr_assert_eq(utr_done(0, 4), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0, &anchor), 5);
    cr_assert_eq(anchor, 1004);
    cr_assert_eq(utr_done(0, 9), 0);
    cr_assert_eq(archive_tracker_committable(utr, 0, &anchor), 10);
    cr_assert_eq(anchor, 1009, "offset 9's anchor, not the last one added or finished first");
}

Test(archive_tracker, offset_gaps_from_transaction_markers_are_not_holes) {
    /* 5 and 6 are commit markers: never delivered, never waited for */
    cr_assert_eq(utr_add(0, 4), 0);
    cr_assert_eq(utr_add(0, 7), 0);
    cr_assert_eq(utr_done(0, 4), 0);
    cr_assert_eq(utr_done(0, 7), 0);
    cr_assert_eq(utr_next(0), 8);
}

Test(archive_tracker, partitions_are_independent) {
    cr_assert_eq(utr_add(0, 1), 0);
    cr_assert_eq(utr_add(1, 1), 0);
    cr_assert_eq(utr_done(1, 1), 0);
    cr_assert_eq(utr_next(1), 2);
    cr_assert_eq(utr_next(0), -1);
}

Test(archive_tracker, committed_position_is_not_offered_again) {
    cr_assert_eq(utr_add(0, 1), 0);
    cr_assert_eq(utr_done(0, 1), 0);
    archive_tracker_committed(utr, 0, 2);
    cr_assert_eq(utr_next(0), -1);
    archive_tracker_committed(utr, 0, -1); /* a failed async commit */
    cr_assert_eq(utr_next(0), 2, "offered again after a failure");
}

Test(archive_tracker, refuses_non_increasing_and_unknown_offsets) {
    cr_assert_eq(utr_add(0, 5), 0);
    cr_assert_eq(utr_add(0, 5), -1, "redelivered duplicate");
    cr_assert_eq(utr_add(0, 3), -1);
    cr_assert_eq(utr_add(0, -1), -1);
    cr_assert_eq(utr_done(0, 6), -1);
    cr_assert_eq(archive_tracker_done(utr, 9, 1, 5), -1);
}

Test(archive_tracker, grows_past_its_first_ring_and_wraps) {
    for (int64_t o = 0; o < 1000; o++)
        cr_assert_eq(utr_add(0, o * 2), 0);
    for (int64_t o = 999; o >= 1; o--) /* finish backwards: nothing commits */
        cr_assert_eq(utr_done(0, o * 2), 0);
    cr_assert_eq(utr_next(0), -1);
    cr_assert_eq(utr_done(0, 0), 0);
    cr_assert_eq(utr_next(0), 1999);
}

Test(archive_tracker, removed_partition_starts_over) {
    cr_assert_eq(utr_add(0, 5), 0);
    archive_tracker_remove(utr, 0);
    cr_assert_eq(archive_tracker_pending(utr), 0);
    cr_assert_eq(utr_add(0, 3), 0, "reassigned: the commit may be earlier");
}

/* The log of partition 0 is recreated while records 100..102 of the old log
 * are in flight: the new log's records restart at 0 and are accepted; the
 * old ones finishing afterwards (even at offsets the new log also has) are
 * ignored, so the new position only ever reflects new records. */
Test(archive_tracker, reset_old_records_never_move_the_new_position) {
    uint32_t old_epoch = archive_tracker_epoch(utr, 0);
    cr_assert_eq(old_epoch, 0, "unknown partition");
    for (int64_t o = 100; o < 103; o++)
        cr_assert_eq(utr_add(0, o), 0);
    old_epoch = archive_tracker_epoch(utr, 0);
    cr_assert_eq(utr_done(0, 100), 0);
    cr_assert_eq(utr_next(0), 101);

    cr_assert_eq(archive_tracker_reset(utr, 0), 0);
    cr_assert_neq(archive_tracker_epoch(utr, 0), old_epoch);
    cr_assert_eq(utr_next(0), -1, "no position in the new log yet");
    cr_assert_eq(archive_tracker_pending_partition(utr, 0), 0, "old records no longer held");

    cr_assert_eq(utr_add(0, 0), 0, "the new log starts at 0");
    cr_assert_eq(utr_add(0, 1), 0);
    cr_assert_eq(utr_add(0, 102), 0);
    /* old 101 and 102 finish: stale, not done in the new log */
    cr_assert_eq(archive_tracker_done(utr, 0, old_epoch, 101), 1);
    cr_assert_eq(archive_tracker_done(utr, 0, old_epoch, 102), 1);
    cr_assert_eq(utr_next(0), -1, "new 0 is not stored: nothing to commit");
    cr_assert_eq(archive_tracker_pending_partition(utr, 0), 3);
    cr_assert_eq(utr_done(0, 0), 0);
    cr_assert_eq(utr_next(0), 1, "new 1 is still pending");
    cr_assert_eq(utr_done(0, 1), 0);
    cr_assert_eq(utr_next(0), 2, "the old 102 did not finish the new 102");
    cr_assert_eq(utr_done(0, 102), 0);
    cr_assert_eq(utr_next(0), 103);
}

Test(archive_tracker, reset_forgets_the_commit_and_epochs_never_repeat) {
    cr_assert_eq(utr_add(0, 7), 0);
    cr_assert_eq(utr_done(0, 7), 0);
    archive_tracker_committed(utr, 0, 8);
    uint32_t e1 = archive_tracker_epoch(utr, 0);
    cr_assert_eq(archive_tracker_reset(utr, 0), 0);
    uint32_t e2 = archive_tracker_epoch(utr, 0);
    cr_assert_eq(utr_add(0, 7), 0, "the same offset again, in the new log");
    cr_assert_eq(utr_done(0, 7), 0);
    cr_assert_eq(utr_next(0), 8, "offered: the old commit of 8 was for another log");
    /* a partition removed and added again gets yet another epoch, and a
     * partition reset before it was ever seen is created */
    archive_tracker_remove(utr, 0);
    cr_assert_eq(utr_add(0, 1), 0);
    uint32_t e3 = archive_tracker_epoch(utr, 0);
    cr_assert(e3 != e1 && e3 != e2);
    cr_assert_eq(archive_tracker_done(utr, 0, e2, 7), 1, "e2 is over");
    cr_assert_eq(archive_tracker_reset(utr, 5), 0);
    cr_assert_neq(archive_tracker_epoch(utr, 5), 0);
}
