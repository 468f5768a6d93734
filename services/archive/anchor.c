/* anchor: resume decisions from committed positions (see anchor.h). */
#include "anchor.h"

#include "kafka_anchor.h"

void archive_anchor_format(uint64_t anchor, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ARCHIVE_ANCHOR_HEX; i++)
        out[i] = hex[(anchor >> (4 * (ARCHIVE_ANCHOR_HEX - 1 - i))) & 0xf];
    out[ARCHIVE_ANCHOR_HEX] = '\0';
}

int archive_anchor_parse(const void *meta, size_t len, uint64_t *anchor) {
    const unsigned char *p = meta;
    uint64_t v = 0;
    if (!p || len != ARCHIVE_ANCHOR_HEX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (p[i] >= '0' && p[i] <= '9')
            d = (unsigned)(p[i] - '0');
        else if (p[i] >= 'a' && p[i] <= 'f')
            d = (unsigned)(p[i] - 'a' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *anchor = v;
    return 0;
}

enum archive_anchor_start archive_anchor_plan(int64_t stored, int has_anchor, int64_t low,
                                              int64_t high, const char **reason) {
    enum kafka_position pos = kafka_position_check(stored, low, high);
    if (pos != KAFKA_POSITION_OK) {
        *reason = kafka_position_reason(pos);
        return ARCHIVE_START_BEGINNING;
    }
    /* stored <= high, so stored - 1 < high: the anchored record is in the
     * log unless retention already removed it (stored - 1 < low) */
    if (!has_anchor || stored - 1 < low)
        return ARCHIVE_START_COMMITTED;
    return ARCHIVE_START_VERIFY;
}

int archive_anchor_matches(int64_t want_offset, uint64_t want_anchor, int64_t offset,
                           uint64_t anchor) {
    return offset == want_offset && anchor == want_anchor;
}

const char *archive_anchor_refused_reason(int64_t offset, int have_marks, int64_t low,
                                          int64_t high) {
    if (offset < 0)
        return NULL;
    if (have_marks) {
        const char *r = kafka_position_reason(kafka_position_check(offset, low, high));
        if (r)
            return r;
    }
    return KAFKA_RESET_BEYOND_END;
}
