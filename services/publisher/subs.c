/* subs: subscription list parsing, filter attachment and matching. */
#include "subs.h"

#include "filter.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLISHER_SUBS_NAME_MAX 64
#define PUBLISHER_SUBS_TOPIC_MAX 249

static void publisher_subs_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void publisher_subs_seterr(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* 1 if s[0..n) is 1..max bytes of letters, digits and `extra`. */
static int publisher_subs_charset(const char *s, size_t n, size_t max, const char *extra) {
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c))))
            return 0;
    }
    return 1;
}

static char *publisher_subs_strndup(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

struct publisher_subs *publisher_subs_parse(const char *spec, char *err, size_t errlen) {
    struct publisher_subs *s = calloc(1, sizeof *s);
    if (!s) {
        publisher_subs_seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (!spec || !*spec) {
        publisher_subs_seterr(err, errlen, "at least one subscription is required");
        goto fail;
    }
    for (const char *p = spec;;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq) {
            publisher_subs_seterr(err, errlen, "entry %zu: expected name=topic", s->n + 1);
            goto fail;
        }
        size_t nlen = (size_t)(eq - p), tlen = len - nlen - 1;
        if (!publisher_subs_charset(p, nlen, PUBLISHER_SUBS_NAME_MAX, "_-")) {
            publisher_subs_seterr(err, errlen,
                                  "entry %zu: name must be 1-%d characters of [A-Za-z0-9_-]",
                                  s->n + 1, PUBLISHER_SUBS_NAME_MAX);
            goto fail;
        }
        if (!publisher_subs_charset(eq + 1, tlen, PUBLISHER_SUBS_TOPIC_MAX, "._-") ||
            (tlen == 1 && eq[1] == '.') || (tlen == 2 && eq[1] == '.' && eq[2] == '.')) {
            publisher_subs_seterr(err, errlen,
                                  "entry %zu: topic must be 1-%d characters of [A-Za-z0-9._-]",
                                  s->n + 1, PUBLISHER_SUBS_TOPIC_MAX);
            goto fail;
        }
        if (s->n == PUBLISHER_SUBS_MAX) {
            publisher_subs_seterr(err, errlen, "at most %d subscriptions", PUBLISHER_SUBS_MAX);
            goto fail;
        }
        struct publisher_sub *sub = &s->sub[s->n];
        sub->name = publisher_subs_strndup(p, nlen);
        sub->topic = publisher_subs_strndup(eq + 1, tlen);
        s->n++;
        if (!sub->name || !sub->topic) {
            publisher_subs_seterr(err, errlen, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i + 1 < s->n; i++) {
            if (strcmp(s->sub[i].name, sub->name) == 0) {
                publisher_subs_seterr(err, errlen, "subscription '%s' is listed twice", sub->name);
                goto fail;
            }
            if (strcmp(s->sub[i].topic, sub->topic) == 0) {
                publisher_subs_seterr(err, errlen, "topic '%s' is listed twice", sub->topic);
                goto fail;
            }
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return s;
fail:
    publisher_subs_destroy(s);
    return NULL;
}

static struct publisher_sub *publisher_subs_find(struct publisher_subs *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->sub[i].name, name) == 0)
            return &s->sub[i];
    return NULL;
}

int publisher_subs_set_filters(struct publisher_subs *s, const char *json, size_t len, char *err,
                               size_t errlen) {
    struct publisher_filter *parsed[PUBLISHER_SUBS_MAX] = {0};
    char why[256];
    int ret = -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        publisher_subs_seterr(err, errlen, "invalid JSON");
        goto cleanup;
    }
    while (end && end < json + len && strchr(" \t\r\n", *end))
        end++;
    if (end != json + len) {
        publisher_subs_seterr(err, errlen, "trailing data after the JSON object");
        goto cleanup;
    }
    if (!cJSON_IsObject(root)) {
        publisher_subs_seterr(err, errlen, "must be a JSON object of name -> policy");
        goto cleanup;
    }
    for (const cJSON *item = root->child; item; item = item->next) {
        struct publisher_sub *sub = publisher_subs_find(s, item->string);
        if (!sub) {
            publisher_subs_seterr(err, errlen, "'%.64s' is not a subscription", item->string);
            goto cleanup;
        }
        size_t idx = (size_t)(sub - s->sub);
        if (parsed[idx]) {
            publisher_subs_seterr(err, errlen, "'%s' is listed twice", sub->name);
            goto cleanup;
        }
        parsed[idx] = publisher_filter_parse(item, why, sizeof why);
        if (!parsed[idx]) {
            publisher_subs_seterr(err, errlen, "%s: %s", sub->name, why);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (parsed[i]) {
            publisher_filter_destroy(s->sub[i].filter);
            s->sub[i].filter = parsed[i];
            parsed[i] = NULL;
        }
    }
    ret = 0;
cleanup:
    for (size_t i = 0; i < PUBLISHER_SUBS_MAX; i++)
        publisher_filter_destroy(parsed[i]);
    cJSON_Delete(root);
    return ret;
}

uint32_t publisher_subs_match(const struct publisher_subs *s, const cJSON *order) {
    uint32_t mask = 0;
    for (size_t i = 0; i < s->n; i++)
        if (publisher_filter_match(s->sub[i].filter, order))
            mask |= UINT32_C(1) << i;
    return mask;
}

void publisher_subs_destroy(struct publisher_subs *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->sub[i].name);
        free(s->sub[i].topic);
        publisher_filter_destroy(s->sub[i].filter);
    }
    free(s);
}
