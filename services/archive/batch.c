/* batch: sealing decisions of batch mode (see batch.h for why). */
#include "batch.h"

size_t archive_batch_due(size_t backlog_n, size_t batch_max, int64_t oldest_age_ms, int64_t age_ms,
                         int draining) {
    if (backlog_n == 0 || batch_max == 0)
        return 0;
    if (backlog_n >= batch_max)
        return batch_max;
    return draining || oldest_age_ms >= age_ms ? backlog_n : 0;
}

int archive_batch_may_seal(int64_t prev_last_offset, int64_t committed_next) {
    return prev_last_offset < 0 || committed_next > prev_last_offset;
}
