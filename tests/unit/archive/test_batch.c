/* Unit tests for services/archive/batch: when a batch is sealed. */
#include <criterion/criterion.h>

#include "../../../services/archive/batch.h"

TestSuite(archive_batch);

Test(archive_batch, full_batches_are_sealed_at_exactly_batch_max) {
    cr_assert_eq(archive_batch_due(100, 100, 0, 5000, 0), 100);
    cr_assert_eq(archive_batch_due(250, 100, 0, 5000, 0), 100, "never more than batch_max");
    cr_assert_eq(archive_batch_due(99, 100, 0, 5000, 0), 0, "not full, not old");
}

Test(archive_batch, an_old_partial_batch_is_sealed_by_age) {
    cr_assert_eq(archive_batch_due(7, 100, 4999, 5000, 0), 0);
    cr_assert_eq(archive_batch_due(7, 100, 5000, 5000, 0), 7);
}

Test(archive_batch, shutdown_seals_what_is_there) {
    cr_assert_eq(archive_batch_due(7, 100, 0, 5000, 1), 7);
    cr_assert_eq(archive_batch_due(0, 100, 99999, 5000, 1), 0, "nothing to seal");
}

Test(archive_batch, one_uncommitted_batch_per_partition_at_most) {
    cr_assert_eq(archive_batch_may_seal(-1, -1), 1, "first batch");
    cr_assert_eq(archive_batch_may_seal(199, -1), 0, "stored, nothing committed");
    cr_assert_eq(archive_batch_may_seal(199, 199), 0, "commit short of the batch");
    cr_assert_eq(archive_batch_may_seal(199, 200), 1, "commit past its last offset");
}
