/* Unit tests for redis_pool settings: each bad field named, password never echoed,
 * create never connects, script table complete. */
#include <criterion/criterion.h>

#include <string.h>

#include "../../../services/ingress-auth/redis_pool.h"
#include "../../../services/ingress-auth/redis_script.h"

#define RS_PASSWORD "pw-must-not-leak-7731"

static struct ingress_redis_settings rs_good(void) {
    struct ingress_redis_settings s = {
        .host = "127.0.0.1",
        .port = 1, /* nothing listens: create must not connect */
        .username = "ingress-auth",
        .password = RS_PASSWORD,
        .key_prefix = "ingress:",
        .connect_timeout_ms = 500,
        .command_timeout_ms = 500,
        .pool_size = 4,
    };
    return s;
}

static void rs_expect_bad(struct ingress_redis_settings s, const char *word) {
    char err[256] = "";
    cr_assert_eq(ingress_redis_settings_check(&s, err, sizeof err), -1, "%s accepted", word);
    cr_assert(strstr(err, word), "message \"%s\" does not name %s", err, word);
    cr_assert_null(strstr(err, RS_PASSWORD));
    err[0] = '\0';
    cr_assert_null(ingress_redis_create(&s, err, sizeof err));
    cr_assert(strstr(err, word), "create: \"%s\" does not name %s", err, word);
}

Test(ingress_redis_settings, good_settings_create_without_connecting) {
    struct ingress_redis_settings s = rs_good();
    char err[256] = "";
    cr_assert_eq(ingress_redis_settings_check(&s, err, sizeof err), 0, "%s", err);
    struct ingress_redis *r = ingress_redis_create(&s, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ingress_redis_destroy(r);
    ingress_redis_destroy(NULL);
}

Test(ingress_redis_settings, each_bad_field_is_named) {
    struct ingress_redis_settings s;
    s = rs_good(), s.host = "";
    rs_expect_bad(s, "host");
    s = rs_good(), s.host = NULL;
    rs_expect_bad(s, "host");
    s = rs_good(), s.port = 0;
    rs_expect_bad(s, "port");
    s = rs_good(), s.port = 65536;
    rs_expect_bad(s, "port");
    s = rs_good(), s.username = "";
    rs_expect_bad(s, "username");
    s = rs_good(), s.password = "";
    rs_expect_bad(s, "password");
    s = rs_good(), s.password = NULL;
    rs_expect_bad(s, "password");
    s = rs_good(), s.key_prefix = "";
    rs_expect_bad(s, "prefix");
    s = rs_good(), s.connect_timeout_ms = 0;
    rs_expect_bad(s, "connect timeout");
    s = rs_good(), s.command_timeout_ms = -1;
    rs_expect_bad(s, "command timeout");
    s = rs_good(), s.command_timeout_ms = 60001;
    rs_expect_bad(s, "command timeout");
    s = rs_good(), s.pool_size = 0;
    rs_expect_bad(s, "pool size");
    s = rs_good(), s.pool_size = 1025;
    rs_expect_bad(s, "pool size");
    cr_assert_eq(ingress_redis_settings_check(NULL, NULL, 0), -1);
}

Test(ingress_redis_settings, bounds_are_inclusive) {
    struct ingress_redis_settings s = rs_good();
    s.port = 65535;
    s.pool_size = 1024;
    s.connect_timeout_ms = 1;
    s.command_timeout_ms = 60000;
    cr_assert_eq(ingress_redis_settings_check(&s, NULL, 0), 0);
    s.pool_size = 1;
    cr_assert_eq(ingress_redis_settings_check(&s, NULL, 0), 0);
}

/* The bucket's clock is Redis' own: the script must read TIME and take no
 * time argument. */
Test(ingress_redis_settings, every_script_exists_and_the_bucket_uses_redis_time) {
    for (int i = 0; i < INGRESS_SCRIPT_COUNT; i++)
        cr_assert_not_null(ingress_redis_script_source((enum ingress_redis_script)i));
    cr_assert_null(ingress_redis_script_source(INGRESS_SCRIPT_COUNT));
    const char *rl = ingress_redis_script_source(INGRESS_SCRIPT_RATELIMIT);
    cr_assert_not_null(strstr(rl, "redis.call('TIME')"));
    cr_assert_null(strstr(rl, "ARGV[3]"));
}
