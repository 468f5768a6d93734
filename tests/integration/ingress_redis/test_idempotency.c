/* ingress-auth idempotency against the real Redis, as the ingress-auth ACL user. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "itr.h"

#include "../../../services/ingress-auth/idempotency.h"
#include "../../../services/ingress-auth/redis_script.h"

#define IT_CLAIM_MS 30000
#define IT_RESULT_S 3600

static struct ingress_redis *it_r;
static char it_client[64], it_order[64], it_h1[65], it_h2[65];
static const char it_body1[] = "{\"order_id\":\"a\",\"n\":1}";
static const char it_body2[] = "{\"order_id\":\"a\",\"n\":2}";

static void it_setup(void) {
    signal(SIGPIPE, SIG_IGN);
    it_r = itr_pool(8, 5000, NULL);
    itr_id("idem-c", it_client, sizeof it_client);
    itr_id("idem-o", it_order, sizeof it_order);
    itr_body_hash(it_body1, strlen(it_body1), it_h1);
    itr_body_hash(it_body2, strlen(it_body2), it_h2);
}

static void it_teardown(void) {
    ingress_redis_destroy(it_r);
}

TestSuite(ingress_redis_idem, .init = it_setup, .fini = it_teardown, .timeout = 60);

static enum ingress_idem_claim_result it_claim(const char *hash, struct ingress_idem_answer *ans) {
    return ingress_idem_claim(it_r, it_client, it_order, hash, IT_CLAIM_MS, ans);
}

Test(ingress_redis_idem, second_claim_of_the_same_body_is_in_progress) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_IN_PROGRESS);
    cr_assert_null(ans.body);
}

/* The replay is the first answer byte for byte, binary bytes included. */
Test(ingress_redis_idem, complete_then_claim_replays_status_and_exact_bytes) {
    static const char answer[] = "{\"order_id\":\"a\",\"x\":\"\x00\xff\"}\r\n";
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, answer,
                                       sizeof answer - 1, IT_RESULT_S),
                 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_eq(ans.status, 202);
    cr_assert_eq(ans.body_len, sizeof answer - 1);
    cr_assert_eq(memcmp(ans.body, answer, sizeof answer - 1), 0);
    ingress_idem_answer_release(&ans);
    /* Replays do not consume the record. */
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_REPLAY);
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_idem, another_body_conflicts_while_pending_and_when_done) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(it_claim(it_h2, &ans), INGRESS_IDEM_CONFLICT);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, "{}", 2, IT_RESULT_S),
                 0);
    cr_assert_eq(it_claim(it_h2, &ans), INGRESS_IDEM_CONFLICT);
    cr_assert_null(ans.body);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_REPLAY, "control: the same body replays");
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_idem, another_body_cannot_complete_or_release_our_claim) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h2, 202, "{}", 2, IT_RESULT_S),
                 0);
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h2), 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_IN_PROGRESS, "still our pending claim");
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h1), 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED, "control: our hash releases");
}

Test(ingress_redis_idem, release_lets_a_retry_claim_again) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h1), 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    /* Release of nothing is fine too. */
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h1), 0);
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h1), 0);
}

Test(ingress_redis_idem, release_never_drops_a_finished_record) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, "{}", 2, IT_RESULT_S),
                 0);
    cr_assert_eq(ingress_idem_release(it_r, it_client, it_order, it_h1), 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_REPLAY);
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_idem, a_pending_claim_expires) {
    struct ingress_idem_answer ans;
    cr_assert_eq(ingress_idem_claim(it_r, it_client, it_order, it_h1, 200, &ans),
                 INGRESS_IDEM_CLAIMED);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_IN_PROGRESS);
    usleep(400 * 1000); /* Redis expires the key 200 ms after the claim */
    cr_assert_eq(it_claim(it_h2, &ans), INGRESS_IDEM_CLAIMED, "expired: anyone may claim");
}

/* Published after the claim expired: the answer is still recorded, so a
 * retry replays instead of publishing twice. */
Test(ingress_redis_idem, complete_after_the_claim_expired_still_records) {
    struct ingress_idem_answer ans;
    cr_assert_eq(ingress_idem_claim(it_r, it_client, it_order, it_h1, 100, &ans),
                 INGRESS_IDEM_CLAIMED);
    usleep(300 * 1000);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, "ok", 2, IT_RESULT_S),
                 0);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_str_eq(ans.body, "ok");
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_idem, keys_live_under_the_prefix_with_ttls) {
    struct ingress_idem_answer ans;
    char key[256];
    snprintf(key, sizeof key, "%sidem:%s:%s", itest_env("REDIS_KEY_PREFIX"), it_client, it_order);
    redisContext *adm = itr_admin();
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    long long pttl = itr_admin_int(adm, "PTTL %s", key);
    cr_assert(pttl > 0 && pttl <= IT_CLAIM_MS, "pending PTTL %lld", pttl);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, "{}", 2, IT_RESULT_S),
                 0);
    pttl = itr_admin_int(adm, "PTTL %s", key);
    cr_assert(pttl > IT_CLAIM_MS && pttl <= IT_RESULT_S * 1000LL, "done PTTL %lld", pttl);
    cr_assert_eq(itr_admin_int(adm, "EXISTS idem:%s:%s", it_client, it_order), 0);
    redisFree(adm);
}

Test(ingress_redis_idem, the_same_order_id_of_two_clients_is_two_orders) {
    struct ingress_idem_answer ans;
    char other[64];
    itr_id("idem-other", other, sizeof other);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_claim(it_r, other, it_order, it_h2, IT_CLAIM_MS, &ans),
                 INGRESS_IDEM_CLAIMED);
}

Test(ingress_redis_idem, works_after_script_flush) {
    struct ingress_idem_answer ans;
    char sha[41];
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED); /* loads the script */
    itr_script_sha(ingress_redis_script_source(INGRESS_SCRIPT_IDEM_CLAIM), sha);
    redisContext *adm = itr_admin();
    redisReply *rep = redisCommand(adm, "SCRIPT FLUSH");
    cr_assert(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_IN_PROGRESS);
    rep = redisCommand(adm, "SCRIPT EXISTS %s", sha);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    cr_assert_eq(rep->element[0]->integer, 1, "reloaded under the same SHA");
    freeReplyObject(rep);
    redisFree(adm);
}

Test(ingress_redis_idem, bad_hash_is_refused_without_a_claim) {
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim("ABC", &ans), INGRESS_IDEM_UNAVAILABLE);
    char upper[65];
    memcpy(upper, it_h1, 65);
    upper[0] = 'A';
    upper[1] = 'F';
    cr_assert_eq(it_claim(upper, &ans), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED, "nothing was claimed before");
}

#define IT_THREADS 8

struct it_racer {
    pthread_barrier_t *start;
    enum ingress_idem_claim_result res;
};

static void *it_race(void *arg) {
    struct it_racer *rc = arg;
    struct ingress_idem_answer ans;
    pthread_barrier_wait(rc->start);
    rc->res = it_claim(it_h1, &ans);
    return NULL;
}

Test(ingress_redis_idem, concurrent_claims_of_one_order_give_exactly_one_claim) {
    pthread_barrier_t start;
    pthread_t th[IT_THREADS];
    struct it_racer rc[IT_THREADS];
    cr_assert_eq(pthread_barrier_init(&start, NULL, IT_THREADS), 0);
    for (int i = 0; i < IT_THREADS; i++) {
        rc[i].start = &start;
        rc[i].res = INGRESS_IDEM_UNAVAILABLE;
        cr_assert_eq(pthread_create(&th[i], NULL, it_race, &rc[i]), 0);
    }
    int claimed = 0, in_progress = 0;
    for (int i = 0; i < IT_THREADS; i++) {
        pthread_join(th[i], NULL);
        claimed += rc[i].res == INGRESS_IDEM_CLAIMED;
        in_progress += rc[i].res == INGRESS_IDEM_IN_PROGRESS;
    }
    pthread_barrier_destroy(&start);
    cr_assert_eq(claimed, 1);
    cr_assert_eq(in_progress, IT_THREADS - 1);
}

/* A finished order's answer survives a Redis restart (AOF), so a client
 * retry after the restart is replayed, not published again. Redis 7.0
 * replays a script's writes as MULTI/EXEC and re-checks them against the
 * "default" user's ACL (redis/redis#14541): with that user "off" they were
 * silently dropped, and this test failed. */
Test(ingress_redis_idem, finished_answer_survives_a_redis_restart, .timeout = 90) {
    static const char answer[] = "{\"order_id\":\"a\",\"status\":\"accepted\"}";
    struct ingress_idem_answer ans;
    cr_assert_eq(it_claim(it_h1, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_complete(it_r, it_client, it_order, it_h1, 202, answer,
                                       sizeof answer - 1, IT_RESULT_S),
                 0);
    sleep(2); /* appendfsync everysec: let the write reach the AOF */
    itr_redis_sh("stop");
    itr_redis_sh("start");
    enum ingress_idem_claim_result r = INGRESS_IDEM_UNAVAILABLE;
    for (int i = 0; i < 50 && r == INGRESS_IDEM_UNAVAILABLE; i++) {
        r = it_claim(it_h1, &ans);
        if (r == INGRESS_IDEM_UNAVAILABLE)
            usleep(200 * 1000);
    }
    cr_assert_eq(r, INGRESS_IDEM_REPLAY, "the stored answer was lost by the restart (got %d)", r);
    cr_assert_eq(ans.status, 202);
    cr_assert_eq(ans.body_len, sizeof answer - 1);
    cr_assert_eq(memcmp(ans.body, answer, sizeof answer - 1), 0);
    ingress_idem_answer_release(&ans);
}
