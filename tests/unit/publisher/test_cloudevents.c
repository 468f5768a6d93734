/* Unit tests for services/publisher/cloudevents: every header, exactly. */
#include <criterion/criterion.h>

#include <string.h>

#include "../../../services/publisher/cloudevents.h"

static const struct publisher_ce_event pce_event = {
    .event_id = "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11",
    .client_id = "example-client",
    .order_id = "ord-2024-0001",
    .ce_time = "2024-05-01T12:34:56.789Z",
    .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
};

TestSuite(publisher_cloudevents);

Test(publisher_cloudevents, headers_exact_names_values_and_order) {
    static const char *const want[][2] = {
        {"ce_specversion", "1.0"},
        {"ce_id", "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11"},
        {"ce_source", "/clients/example-client"},
        {"ce_type", "orders.order.accepted.v1"},
        {"ce_time", "2024-05-01T12:34:56.789Z"},
        {"ce_subject", "ord-2024-0001"},
        {"ce_clientid", "example-client"},
        {"content-type", "application/json"},
        {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    };
    rd_kafka_headers_t *h = publisher_ce_headers(&pce_event);
    cr_assert_not_null(h);
    cr_assert_eq(rd_kafka_header_cnt(h), sizeof want / sizeof want[0]);
    cr_assert_eq(rd_kafka_header_cnt(h), PUBLISHER_CE_NHEADERS);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *name;
        const void *value;
        size_t size;
        cr_assert_eq(rd_kafka_header_get_all(h, i, &name, &value, &size),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
        cr_assert_str_eq(name, want[i][0]);
        cr_assert_eq(size, strlen(want[i][1]), "%s size", name);
        cr_assert(memcmp(value, want[i][1], size) == 0, "%s = %.*s", name, (int)size,
                  (const char *)value);
    }
    rd_kafka_headers_destroy(h);
}

Test(publisher_cloudevents, headers_refuse_missing_or_oversized_attributes) {
    struct publisher_ce_event ev = pce_event;
    ev.traceparent = NULL;
    cr_assert_null(publisher_ce_headers(&ev));
    char long_client[100];
    memset(long_client, 'a', sizeof long_client - 1);
    long_client[sizeof long_client - 1] = '\0';
    ev = pce_event;
    ev.client_id = long_client;
    cr_assert_null(publisher_ce_headers(&ev));
}

Test(publisher_cloudevents, key_is_client_slash_order) {
    char key[PUBLISHER_CE_KEY_MAX + 1];
    cr_assert_eq(publisher_ce_key("example-client", "ord-2024-0001", key, sizeof key), 28);
    cr_assert_str_eq(key, "example-client/ord-2024-0001");
    char small[8];
    cr_assert_eq(publisher_ce_key("example-client", "o", small, sizeof small), -1);
    cr_assert_str_eq(small, "");
}

Test(publisher_cloudevents, time_is_rfc3339_utc_with_milliseconds) {
    char out[PUBLISHER_CE_TIME_LEN + 1];
    struct timespec ts = {.tv_sec = 1714566896, .tv_nsec = 789999999};
    cr_assert_eq(publisher_ce_format_time(&ts, out), 0);
    cr_assert_str_eq(out, "2024-05-01T12:34:56.789Z");
    ts.tv_sec = 0;
    ts.tv_nsec = 1000000;
    cr_assert_eq(publisher_ce_format_time(&ts, out), 0);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.001Z");
    ts.tv_nsec = 1000000000L;
    cr_assert_eq(publisher_ce_format_time(&ts, out), -1);
    cr_assert_str_eq(out, "");
}

Test(publisher_cloudevents, identifiers) {
    cr_assert(publisher_ce_client_id_valid("example-client"));
    cr_assert(publisher_ce_client_id_valid("a.b_c-D9"));
    cr_assert_not(publisher_ce_client_id_valid(""));
    cr_assert_not(publisher_ce_client_id_valid(NULL));
    cr_assert_not(publisher_ce_client_id_valid("a/b"));
    cr_assert_not(publisher_ce_client_id_valid("a b"));
    char id[66];
    memset(id, 'x', 64);
    id[64] = '\0';
    cr_assert(publisher_ce_client_id_valid(id));
    cr_assert(publisher_ce_order_id_valid(id));
    id[64] = 'x';
    id[65] = '\0';
    cr_assert_not(publisher_ce_client_id_valid(id));
    cr_assert_not(publisher_ce_order_id_valid(id));
    cr_assert(publisher_ce_order_id_valid("ord_2024-0001"));
    cr_assert_not(publisher_ce_order_id_valid("ord.1"));
}

Test(publisher_cloudevents, traceparent_validation_table) {
    static const struct {
        const char *tp;
        int valid;
    } cases[] = {
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1},
        {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 1},
        {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0},
        {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 0},
        {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", 0},
        {"", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(publisher_ce_traceparent_valid(cases[i].tp), cases[i].valid, "case %zu: %s", i,
                     cases[i].tp ? cases[i].tp : "(null)");
}

Test(publisher_cloudevents, new_traceparent_is_valid_and_random) {
    char a[PUBLISHER_TRACEPARENT_LEN + 1], b[PUBLISHER_TRACEPARENT_LEN + 1];
    cr_assert_eq(publisher_ce_traceparent_new(a), 0);
    cr_assert_eq(publisher_ce_traceparent_new(b), 0);
    cr_assert(publisher_ce_traceparent_valid(a), "%s", a);
    cr_assert_eq(strncmp(a, "00-", 3), 0);
    cr_assert_str_eq(a + 52, "-01");
    cr_assert_str_neq(a, b);
}

Test(publisher_cloudevents, trace_id_extraction) {
    char id[PUBLISHER_TRACE_ID_LEN + 1];
    cr_assert_eq(publisher_ce_trace_id(pce_event.traceparent, id), 0);
    cr_assert_str_eq(id, "4bf92f3577b34da6a3ce929d0e0e4736");
    cr_assert_eq(publisher_ce_trace_id("garbage", id), -1);
    cr_assert_str_eq(id, "");
}
