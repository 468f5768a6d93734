/* Unit tests for services/billing/batch: bounded by size and age, offsets
 * per partition, dropping a revoked partition, poison after max attempts. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "dlq.h"

#include "../../../services/billing/batch.h"

static int batch_freed;

static void batch_fake_free(rd_kafka_message_t *m) {
    batch_freed++;
    free(m);
}

static rd_kafka_message_t *batch_msg(int32_t partition, int64_t offset) {
    rd_kafka_message_t *m = calloc(1, sizeof *m);
    cr_assert_not_null(m);
    m->partition = partition;
    m->offset = offset;
    return m;
}

static struct billing_batch bb;

static void batch_setup(void) {
    batch_freed = 0;
    cr_assert_eq(billing_batch_init(&bb, 4, 100, batch_fake_free), 0);
}

static void batch_teardown(void) {
    billing_batch_release(&bb);
}

TestSuite(billing_batch, .init = batch_setup, .fini = batch_teardown);

Test(billing_batch, ready_when_full) {
    for (int i = 0; i < 3; i++) {
        cr_assert_not_null(billing_batch_add(&bb, batch_msg(0, i), 1000));
        cr_assert_not(billing_batch_ready(&bb, 1000));
    }
    cr_assert_not_null(billing_batch_add(&bb, batch_msg(0, 3), 1000));
    cr_assert(billing_batch_ready(&bb, 1000));
    rd_kafka_message_t *extra = batch_msg(0, 4);
    cr_assert_null(billing_batch_add(&bb, extra, 1000), "never more than max");
    free(extra);
}

Test(billing_batch, ready_when_the_oldest_waited_long_enough) {
    cr_assert_not(billing_batch_ready(&bb, 0), "empty is never ready");
    cr_assert_eq(billing_batch_wait(&bb, 0), 100);
    billing_batch_add(&bb, batch_msg(0, 0), 1000);
    billing_batch_add(&bb, batch_msg(0, 1), 1090);
    cr_assert_not(billing_batch_ready(&bb, 1099));
    cr_assert_eq(billing_batch_wait(&bb, 1040), 60, "counted from the oldest");
    cr_assert(billing_batch_ready(&bb, 1100));
    cr_assert_eq(billing_batch_wait(&bb, 1200), 0);
}

Test(billing_batch, next_offset_per_partition_in_first_seen_order) {
    billing_batch_add(&bb, batch_msg(3, 10), 0);
    billing_batch_add(&bb, batch_msg(1, 7), 0);
    billing_batch_add(&bb, batch_msg(3, 12), 0); /* gap: a transaction marker */
    billing_batch_add(&bb, batch_msg(1, 8), 0);
    struct billing_batch_offset off[4];
    cr_assert_eq(billing_batch_offsets(&bb, off, 4), 2);
    cr_assert_eq(off[0].partition, 3);
    cr_assert_eq(off[0].next, 13);
    cr_assert_eq(off[1].partition, 1);
    cr_assert_eq(off[1].next, 9);
    /* The record before each next offset: its anchor is stored with it. */
    cr_assert_eq(off[0].last, bb.e[2].msg);
    cr_assert_eq(off[1].last, bb.e[3].msg);
}

Test(billing_batch, dropping_a_partition_keeps_the_others_in_order) {
    billing_batch_add(&bb, batch_msg(0, 1), 0);
    billing_batch_add(&bb, batch_msg(2, 5), 0);
    billing_batch_add(&bb, batch_msg(0, 2), 0);
    billing_batch_add(&bb, batch_msg(2, 6), 0);
    cr_assert_eq(billing_batch_drop_partition(&bb, 0), 2);
    cr_assert_eq(batch_freed, 2);
    cr_assert_eq(bb.n, 2);
    cr_assert_eq(bb.e[0].msg->offset, 5);
    cr_assert_eq(bb.e[1].msg->offset, 6);
    cr_assert_eq(billing_batch_drop_partition(&bb, 9), 0);
    billing_batch_pop(&bb);
    cr_assert_eq(bb.n, 1);
    cr_assert_eq(bb.e[0].msg->offset, 5);
    billing_batch_clear(&bb);
    cr_assert_eq(bb.n, 0);
    cr_assert_eq(batch_freed, 4, "every message freed exactly once");
}

Test(billing_batch, undecodable_record_is_poison_after_max_attempts) {
    rd_kafka_message_t *m = batch_msg(0, 42);
    static char value[] = "not json";
    m->payload = value;
    m->len = strlen(value);
    struct billing_entry *e = billing_batch_add(&bb, m, 0);
    cr_assert_eq(billing_batch_decode(e, 3), 0);
    cr_assert_eq(e->state, BILLING_ENTRY_POISON);
    cr_assert_eq(e->attempts, 3);
    cr_assert_str_eq(e->reason, DLQ_REASON_UNDECODABLE);
    cr_assert_gt(strlen(e->why), 0);
    cr_assert_not(e->decoded);
    m->payload = NULL; /* static, not ours to free */
}
