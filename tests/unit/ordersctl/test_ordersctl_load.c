/* Unit tests for ordersctl load and send: schedule, exit codes, runs against a fake ingress. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "../../../services/ordersctl/args.h"
#include "../../../services/ordersctl/load.h"
#include "../../../services/ordersctl/send.h"
#include "ordersctl_fake_server.h"

#define LOAD_TEST_SECRET "dev-only-loadtest-secret"

static struct ordersctl_fake load_test_srv;
static struct ordersctl_load_stats *load_test_st;
static struct ordersctl_load_params load_test_p;
static char load_test_url[64];
static char load_test_err[256];

static void load_test_setup(void) {
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    memset(&load_test_srv, 0, sizeof(load_test_srv));
    load_test_srv.secret = LOAD_TEST_SECRET;
    load_test_st = malloc(sizeof(*load_test_st));
    cr_assert_not_null(load_test_st);
    load_test_p = (struct ordersctl_load_params){
        .client_id = "loadtest",
        .secret = LOAD_TEST_SECRET,
        .secretlen = strlen(LOAD_TEST_SECRET),
        .prefix = "unit",
        .count = 100,
        .rate = 0,
        .connections = 4,
        .duration_limit_s = 20,
        .timeout_s = 10,
    };
}

static void load_test_teardown(void) {
    ordersctl_fake_stop(&load_test_srv);
    ordersctl_fake_release(&load_test_srv);
    free(load_test_st);
    curl_global_cleanup();
}

TestSuite(ordersctl_load, .init = load_test_setup, .fini = load_test_teardown);

/* Starts the fake server and points the load at it. */
static void load_test_serve(enum ordersctl_fake_mode mode, unsigned delay_ms) {
    load_test_srv.mode = mode;
    load_test_srv.delay_ms = delay_ms;
    cr_assert_eq(ordersctl_fake_start(&load_test_srv), 0);
    load_test_p.url = ordersctl_fake_url(&load_test_srv, load_test_url, sizeof(load_test_url));
}

static double load_test_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- schedule -------------------------------------------------------------- */

Test(ordersctl_load, due_times) {
    cr_assert_eq(ordersctl_load_due_ns(0, 0, 1000), 0);
    cr_assert_eq(ordersctl_load_due_ns(5000, 5, 1000), 5000 + 5000000);
    cr_assert_eq(ordersctl_load_due_ns(0, 1, 3), 333333333);
    cr_assert_eq(ordersctl_load_due_ns(0, 2, 3), 666666666);
    cr_assert_eq(ordersctl_load_due_ns(0, 3, 3), 1000000000);
    cr_assert_eq(ordersctl_load_due_ns(0, 1, 0.5), 2000000000);
    cr_assert_eq(ordersctl_load_due_ns(0, 999999999, 1000000), 999999999000LL);
    cr_assert_eq(ordersctl_load_due_ns(7, 1000000000ULL, 1), 7 + 1000000000LL * 1000000000LL);
}

Test(ordersctl_load, due_counts) {
    const int64_t t0 = 1000000;
    cr_assert_eq(ordersctl_load_due_count(t0, t0 - 1, 1000, 10), 0);
    cr_assert_eq(ordersctl_load_due_count(t0, t0, 1000, 10), 1);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 999999, 1000, 10), 1);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 1000000, 1000, 10), 2);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 333333332, 3, 10), 1);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 333333333, 3, 10), 2);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 1000000000, 3, 10), 4);
    cr_assert_eq(ordersctl_load_due_count(t0, t0 + 100000000000LL, 1000, 10), 10);
    /* Agrees with due_ns at every instant: due(n-1) <= now < due(n). */
    const double rates[] = {1, 3, 7.5, 1000, 33333, 1e6};
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (int64_t now = t0; now < t0 + 3000000000LL; now += 9999991) {
            uint64_t n = ordersctl_load_due_count(t0, now, rates[r], UINT64_MAX);
            cr_assert_gt(n, 0);
            cr_assert_leq(ordersctl_load_due_ns(t0, n - 1, rates[r]), now);
            cr_assert_gt(ordersctl_load_due_ns(t0, n, rates[r]), now, "rate %g now %lld", rates[r],
                         (long long)now);
        }
    }
}

Test(ordersctl_load, exit_codes) {
    memset(load_test_st, 0, sizeof(*load_test_st));
    load_test_st->completed = 10;
    cr_assert_eq(ordersctl_load_exit_code(load_test_st, 10, 0), ORDERSCTL_EXIT_OK);
    load_test_st->errors = 1;
    cr_assert_eq(ordersctl_load_exit_code(load_test_st, 10, 0), ORDERSCTL_EXIT_FAIL);
    cr_assert_eq(ordersctl_load_exit_code(load_test_st, 10, 1), ORDERSCTL_EXIT_OK);
    load_test_st->completed = 9; /* stopped early */
    cr_assert_eq(ordersctl_load_exit_code(load_test_st, 10, 1), ORDERSCTL_EXIT_FAIL);
}

/* ---- runs against the fake ingress ------------------------------------------ */

Test(ordersctl_load, closed_loop_signed_unique_keepalive) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 0);
    load_test_p.count = 300;
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    ordersctl_fake_stop(&load_test_srv);
    const struct ordersctl_load_stats *st = load_test_st;
    cr_assert_eq(st->sent, 300);
    cr_assert_eq(st->completed, 300);
    cr_assert_eq(st->accepted, 300);
    cr_assert_eq(st->errors, 0);
    cr_assert_eq(st->replays, 0);
    cr_assert_eq(st->latency.total, 300);
    cr_assert_eq(load_test_srv.requests, 300);
    cr_assert_eq(load_test_srv.bad_signature, 0);
    cr_assert_eq(load_test_srv.bad_request, 0);
    cr_assert_eq(load_test_srv.nids, 300);
    cr_assert_eq(ordersctl_fake_duplicates(&load_test_srv), 0);
    cr_assert_str_eq(load_test_srv.ids[0], "unit-1"); /* sorted: unit-1, unit-10, ... */
    cr_assert_leq(load_test_srv.connections, 4, "%lu connections for 4 slots",
                  load_test_srv.connections);
    cr_assert_eq(ordersctl_load_exit_code(st, 300, 0), ORDERSCTL_EXIT_OK);
}

/* 40 requests at 200/s: the last is due at 195 ms, so the run cannot be shorter. */
Test(ordersctl_load, open_loop_keeps_the_schedule) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 0);
    load_test_p.count = 40;
    load_test_p.rate = 200;
    load_test_p.connections = 2;
    double start = load_test_now();
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    double took = load_test_now() - start;
    cr_assert_eq(load_test_st->accepted, 40);
    cr_assert_geq(load_test_st->send_span_s, 0.195);
    cr_assert_geq(took, 0.195);
    cr_assert_lt(took, 5.0);
    cr_assert_eq(load_test_st->send_lag.total, 40);
}

/* A server slower than the schedule: latency counts from the due time, so it
 * grows with the queue (coordinated omission would hide that). */
Test(ordersctl_load, latency_includes_queueing) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 20); /* 20 ms per request, one connection */
    load_test_p.count = 10;
    load_test_p.rate = 1000; /* all due within 9 ms */
    load_test_p.connections = 1;
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    cr_assert_eq(load_test_st->accepted, 10);
    /* The 10th was due at 9 ms and answered after about 10 x 20 ms. */
    cr_assert_geq(load_test_st->latency.max, 180000, "max %llu us",
                  (unsigned long long)load_test_st->latency.max);
    cr_assert_geq(load_test_st->late_conn, 8);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(ordersctl_load_warn_lag(&load_test_p, load_test_st, f), 1);
    fclose(f);
    cr_assert(strstr(text, "all 1 connections were busy") != NULL, "%s", text);
    free(text);
}

Test(ordersctl_load, errors_by_status_and_report) {
    load_test_serve(ORDERSCTL_FAKE_EVERY_10TH_503, 0);
    load_test_p.count = 100;
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    const struct ordersctl_load_stats *st = load_test_st;
    cr_assert_eq(st->completed, 100);
    cr_assert_eq(st->accepted, 90);
    cr_assert_eq(st->errors, 10);
    cr_assert_eq(st->by_status[503], 10);
    cr_assert_eq(st->transport_errors, 0);
    cr_assert_eq(st->first_error_status, 503);
    cr_assert_str_eq(st->first_error,
                     "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}");
    cr_assert_eq(ordersctl_load_exit_code(st, 100, 0), ORDERSCTL_EXIT_FAIL);
    cr_assert_eq(ordersctl_load_exit_code(st, 100, 1), ORDERSCTL_EXIT_OK);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ordersctl_load_report(&load_test_p, st, f);
    fclose(f);
    cr_assert(strstr(text, "sent               100\n") != NULL, "%s", text);
    cr_assert(strstr(text, "accepted (202)     90\n") != NULL, "%s", text);
    cr_assert(strstr(text, "errors             10\n") != NULL, "%s", text);
    cr_assert(strstr(text, "  HTTP 503         10\n") != NULL, "%s", text);
    cr_assert(strstr(text, "order ids          unit-1 .. unit-100\n") != NULL, "%s", text);
    cr_assert(strstr(text, "latency (ms)") != NULL, "%s", text);
    cr_assert_null(strstr(text, "transport"), "%s", text);
    free(text);
}

Test(ordersctl_load, replays_are_counted) {
    load_test_serve(ORDERSCTL_FAKE_REPLAY, 0);
    load_test_p.count = 20;
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    cr_assert_eq(load_test_st->replays, 20);
    cr_assert_eq(load_test_st->accepted, 0);
    cr_assert_eq(load_test_st->errors, 0);
}

Test(ordersctl_load, wrong_secret_gets_401) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 0);
    load_test_p.count = 5;
    load_test_p.secret = "not-the-secret";
    load_test_p.secretlen = strlen("not-the-secret");
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    cr_assert_eq(load_test_st->by_status[401], 5);
    cr_assert_eq(load_test_st->errors, 5);
}

Test(ordersctl_load, transport_errors) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 0);
    ordersctl_fake_stop(&load_test_srv); /* the port is now closed */
    load_test_p.count = 6;
    load_test_p.connections = 2;
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    cr_assert_eq(load_test_st->completed, 6);
    cr_assert_eq(load_test_st->transport_errors, 6);
    cr_assert_eq(load_test_st->errors, 6);
    cr_assert_eq(load_test_st->first_error_status, -1);
    cr_assert(strstr(load_test_st->first_error, "onnect") != NULL, "%s", load_test_st->first_error);
    cr_assert_eq(load_test_st->latency.total, 0);
}

/* The run stops by itself at the duration limit, whatever is in flight. */
Test(ordersctl_load, duration_limit_stops_the_run) {
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 300);
    load_test_p.count = 1000;
    load_test_p.rate = 100;
    load_test_p.connections = 1;
    load_test_p.duration_limit_s = 0.5;
    double start = load_test_now();
    cr_assert_eq(
        ordersctl_load_execute(&load_test_p, load_test_st, load_test_err, sizeof(load_test_err)), 0,
        "%s", load_test_err);
    double took = load_test_now() - start;
    cr_assert_eq(load_test_st->hit_duration_limit, 1);
    cr_assert_lt(load_test_st->completed, 1000);
    cr_assert_leq(load_test_st->sent, 3);
    cr_assert_eq(load_test_st->aborted, load_test_st->sent - load_test_st->completed);
    cr_assert_lt(took, 2.0, "took %.3f s", took);
    cr_assert_eq(ordersctl_load_exit_code(load_test_st, 1000, 1), ORDERSCTL_EXIT_FAIL);
}

/* ---- send --------------------------------------------------------------------- */

Test(ordersctl_load, send_once_captures_headers) {
    static const char body[] = "{\"order_id\":\"s-1\"}";
    struct ordersctl_response res;
    load_test_serve(ORDERSCTL_FAKE_EVERY_10TH_503, 0);
    ordersctl_response_init(&res);
    cr_assert_eq(ordersctl_send_once(load_test_p.url, "demo", LOAD_TEST_SECRET,
                                     strlen(LOAD_TEST_SECRET), (long long)time(NULL), body,
                                     strlen(body), 5, &res, load_test_err, sizeof(load_test_err)),
                 0, "%s", load_test_err);
    cr_assert_eq(res.status, 202);
    cr_assert_str_eq(res.request_id, "req-fake-1");
    cr_assert_str_eq(res.replayed, "");
    cr_assert_str_eq(strbuf_str(&res.body), "{\"status\":\"accepted\"}");
    ordersctl_response_release(&res);
    cr_assert_eq(load_test_srv.bad_signature, 0);
    cr_assert_eq(load_test_srv.nids, 1);
    cr_assert_str_eq(load_test_srv.ids[0], "s-1");
}

Test(ordersctl_load, send_once_retry_after_and_replay) {
    static const char body[] = "{\"order_id\":\"s-2\"}";
    struct ordersctl_response res;
    load_test_serve(ORDERSCTL_FAKE_EVERY_10TH_503, 0);
    for (int i = 1; i <= 10; i++) {
        ordersctl_response_init(&res);
        cr_assert_eq(ordersctl_send_once(load_test_p.url, "demo", LOAD_TEST_SECRET,
                                         strlen(LOAD_TEST_SECRET), 1795000000LL, body, strlen(body),
                                         5, &res, load_test_err, sizeof(load_test_err)),
                     0, "%s", load_test_err);
        if (i < 10)
            ordersctl_response_release(&res);
    }
    cr_assert_eq(res.status, 503);
    cr_assert_str_eq(res.retry_after, "1");
    ordersctl_response_release(&res);
    ordersctl_fake_stop(&load_test_srv);
    ordersctl_fake_release(&load_test_srv);

    memset(&load_test_srv, 0, sizeof(load_test_srv));
    load_test_srv.secret = LOAD_TEST_SECRET;
    load_test_serve(ORDERSCTL_FAKE_REPLAY, 0);
    ordersctl_response_init(&res);
    cr_assert_eq(ordersctl_send_once(load_test_p.url, "demo", LOAD_TEST_SECRET,
                                     strlen(LOAD_TEST_SECRET), 1795000000LL, body, strlen(body), 5,
                                     &res, load_test_err, sizeof(load_test_err)),
                 0, "%s", load_test_err);
    cr_assert_eq(res.status, 202);
    cr_assert_str_eq(res.replayed, "true");
    ordersctl_response_release(&res);
}

Test(ordersctl_load, send_once_transport_error) {
    struct ordersctl_response res;
    load_test_serve(ORDERSCTL_FAKE_ACCEPT, 0);
    ordersctl_fake_stop(&load_test_srv);
    ordersctl_response_init(&res);
    cr_assert_eq(ordersctl_send_once(load_test_p.url, "demo", "s", 1, 1, "{}", 2, 5, &res,
                                     load_test_err, sizeof(load_test_err)),
                 -1);
    cr_assert_eq(res.status, 0);
    cr_assert(strstr(load_test_err, load_test_url) != NULL, "%s", load_test_err);
    ordersctl_response_release(&res);
}
