/* Integration: no secret and no request signature or Authorization value is
 * ever written to any service's log. The four real services run at debug
 * level (the most verbose) with known secrets: the client's HMAC secret,
 * the publisher token, the four Kafka SCRAM passwords, the Postgres billing
 * password, the Redis password and the S3 secret key. Good orders, a
 * replay, a bad signature, a stale timestamp, an unknown client, a
 * malformed signature and wrong publisher tokens are driven through them;
 * then every log line of every service is searched for each of those
 * values. Needs the local stack (make integration). */
#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../services/ordersctl/sign.h"
#include "../e2e/e2e.h"
#include "../ingress/iing.h"
#include "../support/itest_env.h"
#include "strbuf.h"

#define LOGS_ORDERS 8
#define LOGS_BAD_SECRET "itest-logs-not-the-client-secret-44c1"
#define LOGS_WRONG_TOKEN "itest-logs-wrong-publisher-token-93af"
#define LOGS_MAX_VALUES 64

/* Values that must never appear in a log, with a name for the message. */
struct logs_forbidden {
    size_t n;
    char what[LOGS_MAX_VALUES][48];
    char value[LOGS_MAX_VALUES][160];
};

static struct e2e_stack logs_stack;
static struct logs_forbidden logs_values;

static void logs_forbid(const char *what, const char *value) {
    cr_assert_lt(logs_values.n, (size_t)LOGS_MAX_VALUES);
    cr_assert(value && strlen(value) >= 8, "%s is too short to search for", what);
    cr_assert_lt(strlen(value), sizeof logs_values.value[0]);
    snprintf(logs_values.what[logs_values.n], sizeof logs_values.what[0], "%s", what);
    snprintf(logs_values.value[logs_values.n], sizeof logs_values.value[0], "%s", value);
    logs_values.n++;
}

static void logs_setup(void) {
    memset(&logs_values, 0, sizeof logs_values);
}

static void logs_teardown(void) {
    e2e_stack_cleanup(&logs_stack);
    e2e_billing_cleanup(logs_stack.client);
}

TestSuite(logs, .init = logs_setup, .fini = logs_teardown, .timeout = 300);

/* POSTs body signed with `secret` at ts (0: now) as `client`; the signature
 * sent is forbidden in the logs. Returns the HTTP status. */
static long logs_post(const char *client, const char *secret, long long ts, const char *body,
                      const char *what) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1], hc[128], ht[64], hs[128];
    struct iing_reply r;
    if (ts == 0)
        ts = (long long)time(NULL);
    cr_assert_eq(ordersctl_sign_hex(secret, strlen(secret), ts, body, strlen(body), hex), 0);
    logs_forbid(what, hex);
    snprintf(hc, sizeof hc, "X-Client-Id: %s", client);
    snprintf(ht, sizeof ht, "X-Timestamp: %lld", ts);
    snprintf(hs, sizeof hs, "X-Signature: sha256=%s", hex);
    const char *headers[] = {"Content-Type: application/json", hc, ht, hs, NULL};
    iing_request(logs_stack.front.ing_port, "POST", "/orders", headers, body, strlen(body), 0, &r);
    long status = r.status;
    iing_reply_release(&r);
    return status;
}

/* A request to the publisher itself with `auth` as Authorization. */
static long logs_publisher_with(const char *auth, const char *body) {
    char h[200];
    struct iing_reply r;
    snprintf(h, sizeof h, "Authorization: %s", auth);
    const char *headers[] = {"Content-Type: application/json", h, NULL};
    iing_request(logs_stack.front.pub_port, "POST", "/v1/publish", headers, body, strlen(body), 0,
                 &r);
    long status = r.status;
    iing_reply_release(&r);
    return status;
}

/* Reads a whole log file (malloc'd, NUL-terminated). */
static char *logs_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    struct strbuf sb;
    strbuf_init(&sb, (size_t)256 << 20);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        cr_assert_eq(strbuf_append(&sb, buf, n), 0, "%s too large", path);
    fclose(f);
    *len = sb.len;
    char *s = strdup(strbuf_str(&sb));
    strbuf_release(&sb);
    cr_assert_not_null(s);
    return s;
}

/* Asserts the log of `p` has debug lines and none of the forbidden values. */
static void logs_check(const struct itest_proc *p) {
    size_t len;
    char *text = logs_read(p->log, &len);
    cr_assert_gt(len, 0, "%s wrote no log at %s", p->name, p->log);
    cr_assert_not_null(strstr(text, "\"level\":\"debug\""),
                       "%s logged nothing at debug level: the check would prove little", p->name);
    for (size_t i = 0; i < logs_values.n; i++) {
        const char *hit = strstr(text, logs_values.value[i]);
        if (hit) {
            const char *bol = hit;
            while (bol > text && bol[-1] != '\n')
                bol--;
            const char *eol = strchr(hit, '\n');
            cr_assert_fail("%s logged the %s (%s): %.*s", p->name, logs_values.what[i], p->log,
                           (int)((eol ? eol : hit + strlen(hit)) - bol), bol);
        }
    }
    free(text);
}

Test(logs, no_secret_signature_or_token_in_any_service_log) {
    struct e2e_order *o = e2e_orders_make(LOGS_ORDERS);
    /* debug: the most the services ever log; the children inherit it */
    cr_assert_eq(setenv("LOG_LEVEL", "debug", 1), 0);
    e2e_stack_start(&logs_stack);
    const char *client = logs_stack.client;
    time_t from = time(NULL) - 1;

    logs_forbid("client HMAC secret", E2E_SECRET);
    logs_forbid("wrong client secret", LOGS_BAD_SECRET);
    logs_forbid("publisher token", IING_TOKEN);
    logs_forbid("wrong publisher token", LOGS_WRONG_TOKEN);
    logs_forbid("Kafka publisher password", itest_env("KAFKA_PUBLISHER_PASSWORD"));
    logs_forbid("Kafka billing password", itest_env("KAFKA_BILLING_PASSWORD"));
    logs_forbid("Kafka archive password", itest_env("KAFKA_ARCHIVE_PASSWORD"));
    logs_forbid("Kafka admin password", itest_env("KAFKA_ADMIN_PASSWORD"));
    logs_forbid("Postgres billing password", itest_env("PG_BILLING_PASSWORD"));
    logs_forbid("Redis ingress password", itest_env("REDIS_INGRESS_PASSWORD"));
    logs_forbid("S3 archive secret key", itest_env("S3_ARCHIVE_SECRET_KEY"));
    /* the S3 access key is an identifier (here the user name "archive"),
     * like the Kafka and Postgres user names: only the secret key counts */

    /* good orders, each signed */
    for (size_t i = 0; i < LOGS_ORDERS; i++)
        cr_assert_eq(logs_post(client, E2E_SECRET, 0, o[i].body, "signature of a good request"),
                     202, "order %zu", i);
    /* a replay: same order and body again, freshly signed (idempotent 202) */
    cr_assert_eq(logs_post(client, E2E_SECRET, 0, o[0].body, "signature of a replay"), 202);
    /* a bad signature (another secret), a stale but correct one, an
     * unknown client: all 401 */
    cr_assert_eq(logs_post(client, LOGS_BAD_SECRET, 0, o[1].body, "bad signature"), 401);
    cr_assert_eq(logs_post(client, E2E_SECRET, (long long)time(NULL) - 3600, o[2].body,
                           "signature with a stale timestamp"),
                 401);
    cr_assert_eq(
        logs_post("itest-logs-nobody", E2E_SECRET, 0, o[3].body, "signature of an unknown client"),
        401);
    /* a malformed signature header */
    {
        char hc[128], ht[64];
        struct iing_reply r;
        const char *junk = "sha256=zzzz-itest-logs-not-hex-signature-value-7781";
        logs_forbid("malformed signature", junk);
        snprintf(hc, sizeof hc, "X-Client-Id: %s", client);
        snprintf(ht, sizeof ht, "X-Timestamp: %lld", (long long)time(NULL));
        char hs[128];
        snprintf(hs, sizeof hs, "X-Signature: %s", junk);
        const char *headers[] = {"Content-Type: application/json", hc, ht, hs, NULL};
        iing_request(logs_stack.front.ing_port, "POST", "/orders", headers, o[4].body,
                     strlen(o[4].body), 0, &r);
        cr_assert_eq(r.status, 401);
        iing_reply_release(&r);
    }
    /* the publisher with a wrong token and with a non-Bearer scheme */
    cr_assert_eq(logs_publisher_with("Bearer " LOGS_WRONG_TOKEN, o[5].body), 401);
    logs_forbid("non-Bearer Authorization", "Basic aXRlc3QtbG9nczpiYXNpYy1hdXRoLXZhbHVl");
    cr_assert_eq(logs_publisher_with("Basic aXRlc3QtbG9nczpiYXNpYy1hdXRoLXZhbHVl", o[5].body), 401);

    /* the consumers log each record at debug: wait until they have them */
    e2e_billing_wait(client, LOGS_ORDERS, 120000);
    e2e_bucket_wait(client, o, LOGS_ORDERS, from, time(NULL) + 1, 120000);

    /* SIGTERM: shutdown logging (drains, config at exit) is searched too */
    struct itest_proc *procs[] = {&logs_stack.front.ing, &logs_stack.front.pub, &logs_stack.billing,
                                  &logs_stack.archive};
    for (size_t i = 0; i < 4; i++) {
        int st = itest_proc_stop(procs[i], SIGTERM, 30000);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s did not exit cleanly", procs[i]->name);
    }
    for (size_t i = 0; i < 4; i++)
        logs_check(procs[i]);
    free(o);
}
