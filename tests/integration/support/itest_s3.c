/* itest_s3: paged listing of the archive bucket with the root user. */
#include "itest_s3.h"

#include <criterion/criterion.h>
#include <string.h>

#include "itest_env.h"
#include "strbuf.h"

#define ITEST_S3_PAGE_BYTES (1 << 22) /* 1000 keys of at most 1 KiB, plus XML */
#define ITEST_S3_KEY_MAX 1024         /* S3's own key limit */

struct s3_client *itest_s3_root(void) {
    struct s3_settings st = {
        .endpoint = itest_env("S3_ENDPOINT"),
        .region = itest_env("S3_REGION"),
        .access_key = itest_env("S3_ROOT_ACCESS_KEY"),
        .secret_key = itest_env("S3_ROOT_SECRET_KEY"),
        .timeout_ms = 10000,
    };
    char err[256];
    struct s3_client *c = s3_client_create(&st, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    return c;
}

/* The listed (escaped) key back as the key itself, for start-after. */
static void itest_s3_unescape(const char *in, size_t len, char out[ITEST_S3_KEY_MAX + 1]) {
    static const char *const ent[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = 0, n = sizeof ent / sizeof ent[0];
        while (k < n && strncmp(in + i, ent[k][0], strlen(ent[k][0])) != 0)
            k++;
        cr_assert_lt(o, (size_t)ITEST_S3_KEY_MAX, "listed key too long");
        if (k < n) {
            out[o++] = ent[k][1][0];
            i += strlen(ent[k][0]);
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
}

size_t itest_s3_each_key(struct s3_client *s3, const char *prefix,
                         void (*fn)(const char *key, size_t len, void *ud), void *ud) {
    char after[ITEST_S3_KEY_MAX + 1] = "";
    size_t total = 0;
    for (;;) {
        struct strbuf xml;
        struct s3_result res;
        strbuf_init(&xml, ITEST_S3_PAGE_BYTES);
        cr_assert_eq(s3_list_objects(s3, itest_env("S3_BUCKET"), prefix, after, &xml, &res), 0,
                     "list %s after %s: %s", prefix, after, res.message);
        cr_assert_eq(res.http_status, 200, "list %s: %ld %s", prefix, res.http_status, res.message);
        const char *p = strbuf_str(&xml);
        const char *last = NULL;
        size_t last_len = 0, page = 0;
        while ((p = strstr(p, "<Key>")) != NULL) {
            p += 5;
            const char *end = strstr(p, "</Key>");
            cr_assert_not_null(end, "unterminated <Key> listing %s", prefix);
            fn(p, (size_t)(end - p), ud);
            last = p;
            last_len = (size_t)(end - p);
            page++;
            p = end;
        }
        total += page;
        int truncated = strstr(strbuf_str(&xml), "<IsTruncated>true") != NULL;
        if (truncated) {
            /* a truncated page without keys would loop forever */
            cr_assert_not_null(last, "truncated empty page listing %s", prefix);
            itest_s3_unescape(last, last_len, after);
        }
        strbuf_release(&xml);
        if (!truncated)
            return total;
    }
}
