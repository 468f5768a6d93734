/* Unit tests for common/admin: a real server on 127.0.0.1, queried with libcurl. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "metrics.h"
#include "strbuf.h"

struct admin_test_state {
    atomic_int ready;
    const char *why;
    atomic_int calls;
};

static struct admin_test_state state;
static struct metrics_registry *reg;
static struct metrics_counter *requests;
static struct admin_server *srv;

struct admin_test_reply {
    long status;
    char ctype[128];
    struct strbuf body;
    struct strbuf headers;
};

static int admin_test_ready(void *ctx, struct strbuf *why) {
    struct admin_test_state *st = ctx;
    atomic_fetch_add(&st->calls, 1);
    if (atomic_load(&st->ready))
        return 1;
    if (st->why)
        strbuf_puts(why, st->why);
    return 0;
}

static void admin_setup(void) {
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    atomic_store(&state.ready, 0);
    atomic_store(&state.calls, 0);
    state.why = "kafka: not connected";
    reg = metrics_registry_create();
    cr_assert_not_null(reg);
    requests = metrics_counter_new(reg, "orders_requests_total", "Requests seen.", 0, NULL);
    cr_assert_not_null(requests);
    metrics_counter_add(requests, 7, NULL);
    char err[256] = "";
    srv = admin_server_start("127.0.0.1", 0, reg, admin_test_ready, &state, err, sizeof err);
    cr_assert_not_null(srv, "start failed: %s", err);
    cr_assert_neq(admin_server_port(srv), 0);
}

static void admin_teardown(void) {
    admin_server_stop(srv);
    srv = NULL;
    metrics_registry_destroy(reg);
    reg = NULL;
    curl_global_cleanup();
}

static size_t admin_test_collect(char *data, size_t size, size_t nmemb, void *userdata) {
    return strbuf_append(userdata, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* Performs `method path` against a server port; fills r (release with
 * admin_test_release). Fails the test on a transport error. */
static void admin_test_request_port(uint16_t port, const char *method, const char *path,
                                    struct admin_test_reply *r) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    memset(r, 0, sizeof *r);
    strbuf_init(&r->body, 1 << 20);
    strbuf_init(&r->headers, 1 << 16);
    CURL *curl = curl_easy_init();
    cr_assert_not_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, admin_test_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, admin_test_collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r->headers);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{\"x\":1}");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(curl);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    curl_easy_cleanup(curl);
}

static void admin_test_request(const char *method, const char *path, struct admin_test_reply *r) {
    admin_test_request_port(admin_server_port(srv), method, path, r);
}

static void admin_test_release(struct admin_test_reply *r) {
    strbuf_release(&r->body);
    strbuf_release(&r->headers);
}

/* Asserts status and exact body of `method path`. */
static void admin_test_expect(const char *method, const char *path, long status, const char *body) {
    struct admin_test_reply r;
    admin_test_request(method, path, &r);
    cr_assert_eq(r.status, status, "%s %s: status %ld", method, path, r.status);
    cr_assert_str_eq(strbuf_str(&r.body), body, "%s %s", method, path);
    admin_test_release(&r);
}

TestSuite(admin, .init = admin_setup, .fini = admin_teardown);

Test(admin, healthz_ok) {
    struct admin_test_reply r;
    admin_test_request("GET", "/healthz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(strbuf_str(&r.body), "ok");
    cr_assert_str_eq(r.ctype, "text/plain; charset=utf-8");
    cr_assert_not_null(strstr(strbuf_str(&r.headers), "Cache-Control: no-store\r\n"));
    admin_test_release(&r);
}

Test(admin, head_has_headers_but_no_body) {
    struct admin_test_reply r;
    admin_test_request("HEAD", "/healthz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(strbuf_str(&r.body), "");
    cr_assert_not_null(strstr(strbuf_str(&r.headers), "Content-Length: 2\r\n"), "%s",
                       strbuf_str(&r.headers));
    admin_test_release(&r);
    admin_test_request("HEAD", "/metrics", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    admin_test_release(&r);
}

Test(admin, readyz_follows_the_callback) {
    admin_test_expect("GET", "/readyz", 503, "kafka: not connected");
    state.why = NULL;
    admin_test_expect("GET", "/readyz", 503, "not ready");
    atomic_store(&state.ready, 1);
    admin_test_expect("GET", "/readyz", 200, "ready");
    atomic_store(&state.ready, 0);
    admin_test_expect("GET", "/readyz", 503, "not ready");
    cr_assert_eq(atomic_load(&state.calls), 4);
    /* Liveness does not depend on readiness. */
    admin_test_expect("GET", "/healthz", 200, "ok");
}

Test(admin, draining_fails_readiness_only) {
    atomic_store(&state.ready, 1);
    admin_server_set_draining(srv, 1);
    admin_test_expect("GET", "/readyz", 503, "draining");
    admin_test_expect("GET", "/healthz", 200, "ok");
    cr_assert_eq(atomic_load(&state.calls), 0); /* not even asked while draining */
    admin_server_set_draining(srv, 0);
    admin_test_expect("GET", "/readyz", 200, "ready");
}

Test(admin, metrics_exposition) {
    metrics_counter_inc(requests, NULL); /* updates after start are visible */
    struct admin_test_reply r;
    admin_test_request("GET", "/metrics", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    cr_assert_str_eq(strbuf_str(&r.body), "# HELP orders_requests_total Requests seen.\n"
                                          "# TYPE orders_requests_total counter\n"
                                          "orders_requests_total 8\n");
    admin_test_release(&r);
}

Test(admin, unknown_paths_404) {
    admin_test_expect("GET", "/", 404, "not found");
    admin_test_expect("GET", "/healthz/", 404, "not found");
    admin_test_expect("GET", "/metricsx", 404, "not found");
    admin_test_expect("POST", "/orders", 404, "not found");
    /* A query string does not change the path. */
    admin_test_expect("GET", "/healthz?verbose=1", 200, "ok");
}

Test(admin, other_methods_405_with_allow) {
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics"};
    for (size_t m = 0; m < 4; m++) {
        for (size_t p = 0; p < 3; p++) {
            struct admin_test_reply r;
            admin_test_request(methods[m], paths[p], &r);
            cr_assert_eq(r.status, 405, "%s %s", methods[m], paths[p]);
            cr_assert_not_null(strstr(strbuf_str(&r.headers), "\r\nAllow: GET, HEAD\r\n"), "%s",
                               strbuf_str(&r.headers));
            cr_assert_str_eq(strbuf_str(&r.body), "method not allowed");
            admin_test_release(&r);
        }
    }
}

Test(admin, null_callback_and_registry) {
    char err[256] = "";
    struct admin_server *s2 = admin_server_start("127.0.0.1", 0, NULL, NULL, NULL, err, sizeof err);
    cr_assert_not_null(s2, "%s", err);
    cr_assert_neq(admin_server_port(s2), admin_server_port(srv));
    struct admin_test_reply r;
    admin_test_request_port(admin_server_port(s2), "GET", "/readyz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(strbuf_str(&r.body), "ready");
    admin_test_release(&r);
    admin_test_request_port(admin_server_port(s2), "GET", "/metrics", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(strbuf_str(&r.body), "");
    admin_test_release(&r);
    admin_server_set_draining(s2, 1);
    admin_test_request_port(admin_server_port(s2), "GET", "/readyz", &r);
    cr_assert_eq(r.status, 503);
    admin_test_release(&r);
    admin_server_stop(s2);
}

Test(admin, start_errors_are_reported) {
    char err[256] = "";
    cr_assert_null(admin_server_start("localhost", 0, NULL, NULL, NULL, err, sizeof err));
    cr_assert_str_eq(err, "admin server: bind address 'localhost' is not a numeric IP address");
    err[0] = '\0';
    uint16_t busy = admin_server_port(srv);
    cr_assert_null(admin_server_start("127.0.0.1", busy, NULL, NULL, NULL, err, sizeof err));
    char prefix[96];
    snprintf(prefix, sizeof prefix,
             "admin server: cannot listen on 127.0.0.1 port %u: ", (unsigned)busy);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "err: %s", err);
    admin_server_stop(NULL);
    admin_server_set_draining(NULL, 1);
    cr_assert_eq(admin_server_port(NULL), 0);
}

Test(admin, ipv6_loopback) {
    char err[256] = "";
    struct admin_server *s6 = admin_server_start("::1", 0, NULL, NULL, NULL, err, sizeof err);
    if (!s6)
        cr_skip_test("no IPv6 loopback here: %s", err);
    char url[64];
    snprintf(url, sizeof url, "http://[::1]:%u/healthz", (unsigned)admin_server_port(s6));
    CURL *curl = curl_easy_init();
    struct strbuf body;
    strbuf_init(&body, 1024);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, admin_test_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    admin_server_stop(s6);
    cr_assert_eq(rc, CURLE_OK, "%s", curl_easy_strerror(rc));
    cr_assert_eq(status, 200);
    cr_assert_str_eq(strbuf_str(&body), "ok");
    strbuf_release(&body);
}
