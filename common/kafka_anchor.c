/* kafka_anchor: stored-position checks (see .h). */
#include "kafka_anchor.h"

#define KAFKA_ANCHOR_FNV_OFFSET UINT64_C(14695981039346656037)
#define KAFKA_ANCHOR_FNV_PRIME UINT64_C(1099511628211)

enum kafka_position kafka_position_check(int64_t stored, int64_t low, int64_t high) {
    if (stored > high)
        return KAFKA_POSITION_BEYOND_END;
    if (stored < low)
        return KAFKA_POSITION_BEFORE_START;
    return KAFKA_POSITION_OK;
}

const char *kafka_position_reason(enum kafka_position p) {
    switch (p) {
    case KAFKA_POSITION_BEYOND_END:
        return KAFKA_RESET_BEYOND_END;
    case KAFKA_POSITION_BEFORE_START:
        return KAFKA_RESET_BEFORE_START;
    default:
        return NULL;
    }
}

static uint64_t kafka_anchor_mix(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= KAFKA_ANCHOR_FNV_PRIME;
    }
    return h;
}

static uint64_t kafka_anchor_mix_u64(uint64_t h, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) /* fixed byte order: the value is stored */
        b[i] = (unsigned char)(v >> (8 * i));
    return kafka_anchor_mix(h, b, sizeof b);
}

uint64_t kafka_anchor_hash(int64_t timestamp, const void *key, size_t key_len, const void *value,
                           size_t value_len) {
    uint64_t h = kafka_anchor_mix_u64(KAFKA_ANCHOR_FNV_OFFSET, (uint64_t)timestamp);
    /* Lengths first, so key "ab" + value "c" differs from "a" + "bc". */
    h = kafka_anchor_mix_u64(h, key_len);
    h = kafka_anchor_mix_u64(h, value_len);
    if (key_len)
        h = kafka_anchor_mix(h, key, key_len);
    if (value_len)
        h = kafka_anchor_mix(h, value, value_len);
    return h;
}

uint64_t kafka_anchor_of(const rd_kafka_message_t *m) {
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);
    return kafka_anchor_hash(ts, m->key, m->key_len, m->payload, m->len);
}
