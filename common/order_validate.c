/* validate: strict POST /orders body validation (raw-byte scanner + cJSON + contract rules). */
#include "order_validate.h"

#include "jsonscan.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VNAME_MAX 128 /* the human path in messages, e.g. "items[2].quantity" */

static const char CODE_JSON[] = "invalid_json";
static const char CODE_ORDER[] = "invalid_order";
static const char CODE_INTERNAL[] = "internal_error";

/* Where the walk is: a JSON pointer for err->field and a human name for
 * messages. Once a component does not fit, deeper pushes are ignored
 * (clipped) so the pointer always names an existing enclosing value. */
struct vpath {
    char ptr[ORDER_FIELD_MAX];
    size_t plen;
    int pclip;
    char name[VNAME_MAX];
    size_t nlen;
    int nclip;
};

struct vmark {
    size_t plen, nlen;
    int pclip, nclip;
};

struct vkey {
    const char *key;
    size_t idx;
};

struct vctx {
    const char *body;
    struct jsonscan scan;     /* literals and U+0000 strings, by ordinal */
    size_t ordinal, next_tok; /* the pre-order walk's position in scan */
    struct vkey *keys;        /* scratch for the duplicate check */
    size_t capkeys;
    struct vpath path;
    struct order_error *err;
};

/* ---- errors and paths ------------------------------------------------------ */

static const char *v_name(const struct vctx *v) {
    return v->path.nlen ? v->path.name : "the body";
}

static int v_vfail(struct vctx *v, const char *code, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int v_vfail(struct vctx *v, const char *code, const char *field, const char *fmt,
                   va_list ap) {
    struct order_error *e = v->err;
    e->code = code;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    snprintf(e->field, sizeof(e->field), "%s", field);
    return -1;
}

/* An invalid_order error at the current path. Returns -1. */
static int order_fail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int order_fail(struct vctx *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = v_vfail(v, CODE_ORDER, v->path.ptr, fmt, ap);
    va_end(ap);
    return rc;
}

/* Not the client's fault (out of memory, or a bug). Returns -2. */
static int internal_fail(struct vctx *v, const char *what) {
    v->err->code = CODE_INTERNAL;
    snprintf(v->err->message, sizeof(v->err->message), "%s", what);
    v->err->field[0] = '\0';
    return -2;
}

static int oom_fail(struct vctx *v) {
    return internal_fail(v, "out of memory");
}

static struct vmark path_mark(const struct vpath *p) {
    struct vmark m = {p->plen, p->nlen, p->pclip, p->nclip};
    return m;
}

static void path_pop(struct vpath *p, struct vmark m) {
    p->plen = m.plen;
    p->nlen = m.nlen;
    p->pclip = m.pclip;
    p->nclip = m.nclip;
    p->ptr[p->plen] = '\0';
    p->name[p->nlen] = '\0';
}

/* Appends sep + s to the human name, shortening it with "..." (cut on a
 * UTF-8 character boundary) when it does not fit. */
static void name_append(struct vpath *p, const char *sep, const char *s) {
    if (p->nclip)
        return;
    size_t room = sizeof(p->name) - 1 - p->nlen;
    size_t ls = strlen(sep), n = strlen(s);
    if (ls + n <= room) {
        memcpy(p->name + p->nlen, sep, ls);
        memcpy(p->name + p->nlen + ls, s, n);
        p->nlen += ls + n;
    } else {
        size_t keep = room > 3 ? room - 3 : 0; /* bytes of sep+s kept before "..." */
        char tmp[VNAME_MAX];
        snprintf(tmp, sizeof(tmp), "%s%s", sep, s);
        while (keep > 0 && ((unsigned char)tmp[keep] & 0xC0) == 0x80)
            keep--;
        memcpy(p->name + p->nlen, tmp, keep);
        p->nlen += keep;
        if (room >= 3) {
            memcpy(p->name + p->nlen, "...", 3);
            p->nlen += 3;
        }
        p->nclip = 1;
    }
    p->name[p->nlen] = '\0';
}

static struct vmark path_push_key(struct vpath *p, const char *key) {
    struct vmark m = path_mark(p);
    if (!p->pclip) {
        size_t need = 1;
        for (const char *k = key; *k; k++)
            need += (*k == '~' || *k == '/') ? 2 : 1;
        if (need < sizeof(p->ptr) - p->plen) {
            p->ptr[p->plen++] = '/';
            for (const char *k = key; *k; k++) {
                if (*k == '~' || *k == '/') {
                    p->ptr[p->plen++] = '~';
                    p->ptr[p->plen++] = *k == '~' ? '0' : '1';
                } else {
                    p->ptr[p->plen++] = *k;
                }
            }
            p->ptr[p->plen] = '\0';
        } else {
            p->pclip = 1;
        }
    }
    name_append(p, p->nlen ? "." : "", key);
    return m;
}

static struct vmark path_push_index(struct vpath *p, size_t i) {
    struct vmark m = path_mark(p);
    char num[32];
    int n = snprintf(num, sizeof(num), "%zu", i);
    if (!p->pclip && (size_t)n + 1 < sizeof(p->ptr) - p->plen) {
        p->ptr[p->plen++] = '/';
        memcpy(p->ptr + p->plen, num, (size_t)n + 1);
        p->plen += (size_t)n;
    } else {
        p->pclip = 1;
    }
    char br[34];
    snprintf(br, sizeof(br), "[%s]", num);
    name_append(p, "", br);
    return m;
}

/* ---- tree preparation: literals back in, U+0000, duplicates ------------------- */

/* The scanner record for the next name/string/number of the walk, or NULL. */
static const struct jsonscan_token *take_token(struct vctx *v) {
    const struct jsonscan_token *t = NULL;
    if (v->next_tok < v->scan.ntoks && v->scan.toks[v->next_tok].ordinal == v->ordinal)
        t = &v->scan.toks[v->next_tok++];
    v->ordinal++;
    return t;
}

/* Turns number nodes into cJSON_Raw nodes holding the literal as sent and
 * rejects strings holding U+0000. 0, -1 (error set) or -2 (internal). */
static int prep_value(struct vctx *v, cJSON *node) {
    if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        size_t i = 0;
        for (cJSON *c = node->child; c; c = c->next, i++) {
            struct vmark m;
            if (cJSON_IsObject(node)) {
                if (take_token(v))
                    return order_fail(v, "%s has a member name containing U+0000 (not allowed)",
                                      v_name(v));
                m = path_push_key(&v->path, c->string);
            } else {
                m = path_push_index(&v->path, i);
            }
            int rc = prep_value(v, c);
            path_pop(&v->path, m);
            if (rc != 0)
                return rc;
        }
    } else if (cJSON_IsString(node)) {
        if (take_token(v))
            return order_fail(v, "%s must not contain U+0000", v_name(v));
    } else if (cJSON_IsNumber(node)) {
        const struct jsonscan_token *t = take_token(v);
        if (!t || t->nul_string)
            return internal_fail(v, "scanner and parser disagree");
        char *lit = cJSON_malloc(t->len + 1);
        if (!lit)
            return oom_fail(v);
        memcpy(lit, v->body + t->off, t->len);
        lit[t->len] = '\0';
        node->type = cJSON_Raw | (node->type & cJSON_StringIsConst);
        node->valuestring = lit;
    }
    return 0;
}

static int key_cmp(const void *a, const void *b) {
    const struct vkey *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Rejects a member name used twice in one object: outer objects first, and
 * in an object the name whose second occurrence comes first (as the
 * reference does). Sorting keeps it O(n log n) for hostile bodies. */
static int dup_check(struct vctx *v, const cJSON *node) {
    size_t n = 0;
    for (const cJSON *c = node->child; c; c = c->next)
        n++;
    if (cJSON_IsObject(node) && n > 1) {
        if (n > v->capkeys) {
            struct vkey *k = n > SIZE_MAX / sizeof(*k) ? NULL : realloc(v->keys, n * sizeof(*k));
            if (!k)
                return oom_fail(v);
            v->keys = k;
            v->capkeys = n;
        }
        size_t i = 0;
        for (const cJSON *c = node->child; c; c = c->next, i++) {
            v->keys[i].key = c->string;
            v->keys[i].idx = i;
        }
        qsort(v->keys, n, sizeof(*v->keys), key_cmp);
        const char *dup = NULL;
        size_t best = SIZE_MAX;
        for (i = 1; i < n; i++) {
            if (strcmp(v->keys[i].key, v->keys[i - 1].key) == 0 &&
                (i < 2 || strcmp(v->keys[i].key, v->keys[i - 2].key) != 0) &&
                v->keys[i].idx < best) {
                best = v->keys[i].idx;
                dup = v->keys[i].key;
            }
        }
        if (dup) {
            path_push_key(&v->path, dup);
            return order_fail(v,
                              "%s appears more than once (duplicate member names are not "
                              "allowed)",
                              v_name(v));
        }
    }
    size_t i = 0;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
            continue;
        struct vmark m = cJSON_IsObject(node) ? path_push_key(&v->path, c->string)
                                              : path_push_index(&v->path, i);
        int rc = dup_check(v, c);
        path_pop(&v->path, m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the order's rules ----------------------------------------------------------- */

/* Code points of a string the scanner already proved valid UTF-8. */
static size_t utf8_count(const char *s) {
    long n = utf8_codepoints(s, strlen(s));
    return n < 0 ? SIZE_MAX : (size_t)n;
}

static int raw_is_integer_literal(const char *lit) {
    return strpbrk(lit, ".eE") == NULL;
}

/* Checks that `node` is a number in [min, max] by JSON Schema's rule (an
 * integral value: "2.0" passes here and is refused later, by
 * check_literals, as the reference does). Sets *out for integer literals. */
static int check_int(struct vctx *v, const cJSON *node, int64_t min, int64_t max, int64_t *out) {
    if (!cJSON_IsRaw(node))
        goto bad;
    const char *lit = node->valuestring;
    if (raw_is_integer_literal(lit)) {
        int neg = lit[0] == '-';
        const char *d = lit + neg;
        uint64_t u = 0;
        if (strlen(d) > 18)
            goto bad; /* > 10^18 - 1: beyond every limit of an order */
        for (; *d; d++)
            u = u * 10 + (uint64_t)(*d - '0');
        int64_t x = neg ? -(int64_t)u : (int64_t)u;
        if (x < min || x > max)
            goto bad;
        *out = x;
        return 0;
    }
    /* Fraction or exponent: strtod rounds like the reference's float()
     * (the process must keep the "C" numeric locale, as services do). */
    double x = strtod(lit, NULL);
    if (!(x >= (double)min && x <= (double)max) || (double)(int64_t)x != x)
        goto bad;
    *out = (int64_t)x;
    return 0;
bad:
    return order_fail(v, "%s must be an integer between %lld and %lld", v_name(v), (long long)min,
                      (long long)max);
}

/* Checks a string of min..max code points. */
static int check_str(struct vctx *v, const cJSON *node, size_t min, size_t max) {
    size_t n = cJSON_IsString(node) ? utf8_count(node->valuestring) : 0;
    if (!cJSON_IsString(node) || n < min || n > max) {
        if (min == 0)
            return order_fail(v, "%s must be a string of at most %zu characters", v_name(v), max);
        return order_fail(v, "%s must be a string of %zu to %zu characters", v_name(v), min, max);
    }
    return 0;
}

/* Unknown members (the alphabetically first), then missing ones. `required`
 * is sorted; every required member is also known. */
static int check_members(struct vctx *v, const cJSON *obj, const char *const *known, size_t nknown,
                         const char *const *required, size_t nreq, const char *shape) {
    const char *unknown = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        size_t k = 0;
        while (k < nknown && strcmp(c->string, known[k]) != 0)
            k++;
        if (k == nknown && (!unknown || strcmp(c->string, unknown) < 0))
            unknown = c->string;
    }
    if (unknown) {
        path_push_key(&v->path, unknown);
        return order_fail(v, "%s is not allowed (%s)", v_name(v), shape);
    }
    for (size_t r = 0; r < nreq; r++) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, required[r])) {
            path_push_key(&v->path, required[r]);
            return order_fail(v, "%s is required", v_name(v));
        }
    }
    return 0;
}

/* Runs check(v, member) with the path at obj/name; 0 if the member is absent. */
#define WITH_MEMBER(v, obj, name, call)                                                            \
    do {                                                                                           \
        cJSON *member_ = cJSON_GetObjectItemCaseSensitive((obj), (name));                          \
        if (member_) {                                                                             \
            struct vmark m_ = path_push_key(&(v)->path, (name));                                   \
            int rc_ = call;                                                                        \
            if (rc_ != 0)                                                                          \
                return rc_;                                                                        \
            path_pop(&(v)->path, m_);                                                              \
        }                                                                                          \
    } while (0)

static int check_currency(struct vctx *v, const cJSON *node) {
    const char *s = cJSON_IsString(node) ? node->valuestring : "";
    for (size_t i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return order_fail(v, "%s must be 3 uppercase letters A-Z (ISO 4217, e.g. \"EUR\")",
                              v_name(v));
    if (s[3] != '\0')
        return order_fail(v, "%s must be 3 uppercase letters A-Z (ISO 4217, e.g. \"EUR\")",
                          v_name(v));
    return 0;
}

static int check_order_id(struct vctx *v, const cJSON *node) {
    const char *s = cJSON_IsString(node) ? node->valuestring : "";
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    if (n == 0 || n > ORDER_ID_MAX || s[n] != '\0')
        return order_fail(v, "%s must be a string of 1 to 64 characters from [A-Za-z0-9_-]",
                          v_name(v));
    return 0;
}

static int check_item(struct vctx *v, const cJSON *item) {
    static const char *const known[] = {"quantity", "sku", "unit_price_cents"};
    int64_t x;
    if (!cJSON_IsObject(item))
        return order_fail(v, "%s must be an object with sku, quantity and unit_price_cents",
                          v_name(v));
    int rc = check_members(v, item, known, 3, known, 3,
                           "an order line has only sku, quantity and unit_price_cents");
    if (rc != 0)
        return rc;
    WITH_MEMBER(v, item, "quantity", check_int(v, member_, 1, 1000000, &x));
    WITH_MEMBER(v, item, "sku", check_str(v, member_, 1, 64));
    WITH_MEMBER(v, item, "unit_price_cents", check_int(v, member_, 0, INT64_C(1000000000000), &x));
    return 0;
}

static int check_items(struct vctx *v, const cJSON *items) {
    int n = cJSON_IsArray(items) ? cJSON_GetArraySize(items) : 0;
    if (n < 1 || n > 100)
        return order_fail(v, "%s must be an array of 1 to 100 order lines", v_name(v));
    size_t i = 0;
    for (const cJSON *c = items->child; c; c = c->next, i++) {
        struct vmark m = path_push_index(&v->path, i);
        int rc = check_item(v, c);
        if (rc != 0)
            return rc;
        path_pop(&v->path, m);
    }
    return 0;
}

static int check_metadata(struct vctx *v, const cJSON *md) {
    if (!cJSON_IsObject(md))
        return order_fail(v, "%s must be an object of at most 32 string entries", v_name(v));
    if (cJSON_GetArraySize(md) > 32)
        return order_fail(v, "%s must have at most 32 entries", v_name(v));
    for (const cJSON *c = md->child; c; c = c->next) {
        if (utf8_count(c->string) > 64) {
            path_push_key(&v->path, c->string);
            return order_fail(v, "metadata keys must be at most 64 characters");
        }
    }
    const cJSON *bad = NULL;
    for (const cJSON *c = md->child; c; c = c->next)
        if ((!cJSON_IsString(c) || utf8_count(c->valuestring) > 256) &&
            (!bad || strcmp(c->string, bad->string) < 0))
            bad = c;
    if (bad) {
        path_push_key(&v->path, bad->string);
        return check_str(v, bad, 0, 256);
    }
    return 0;
}

/* Refuses numbers written with a fraction or exponent, in the reference's
 * order (each container's own members, then its children). */
static int check_literals(struct vctx *v, const cJSON *node) {
    size_t i = 0;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
        if (cJSON_IsRaw(c) && !raw_is_integer_literal(c->valuestring)) {
            if (cJSON_IsObject(node))
                path_push_key(&v->path, c->string);
            else
                path_push_index(&v->path, i);
            return order_fail(v, "%s must be written as an integer literal (2, not 2.0 or 2e0)",
                              v_name(v));
        }
    }
    i = 0;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
            continue;
        struct vmark m = cJSON_IsObject(node) ? path_push_key(&v->path, c->string)
                                              : path_push_index(&v->path, i);
        int rc = check_literals(v, c);
        if (rc != 0)
            return rc;
        path_pop(&v->path, m);
    }
    return 0;
}

/* total_cents == sum(quantity * unit_price_cents). Each product is at most
 * 10^18 and the sum stops once above 2^53-1, so int64 never overflows. */
static int check_total(struct vctx *v, const cJSON *root, int64_t *total_out) {
    int64_t sum = 0, total = 0, q = 0, p = 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    for (const cJSON *c = items->child; c && sum <= ORDER_TOTAL_CENTS_MAX; c = c->next) {
        check_int(v, cJSON_GetObjectItemCaseSensitive(c, "quantity"), 1, 1000000, &q);
        check_int(v, cJSON_GetObjectItemCaseSensitive(c, "unit_price_cents"), 0,
                  INT64_C(1000000000000), &p);
        sum += q * p;
    }
    check_int(v, cJSON_GetObjectItemCaseSensitive(root, "total_cents"), 0, ORDER_TOTAL_CENTS_MAX,
              &total);
    path_push_key(&v->path, "total_cents");
    if (sum > ORDER_TOTAL_CENTS_MAX)
        return order_fail(v, "total_cents must equal the sum of quantity * unit_price_cents over "
                             "items, but that sum exceeds 9007199254740991");
    if (sum != total)
        return order_fail(v,
                          "total_cents must equal the sum of quantity * unit_price_cents over "
                          "items: %lld, not %lld",
                          (long long)sum, (long long)total);
    *total_out = total;
    return 0;
}

static int check_order(struct vctx *v, const cJSON *root, int64_t *total) {
    static const char *const known[] = {"currency", "customer_id", "items",
                                        "metadata", "order_id",    "total_cents"};
    static const char *const required[] = {"currency", "customer_id", "items", "order_id",
                                           "total_cents"};
    int64_t x;
    if (!cJSON_IsObject(root))
        return order_fail(v, "the body must be a JSON object (an order)");
    int rc = check_members(v, root, known, 6, required, 5,
                           "an order has only order_id, customer_id, currency, items, "
                           "total_cents and metadata");
    if (rc != 0)
        return rc;
    WITH_MEMBER(v, root, "currency", check_currency(v, member_));
    WITH_MEMBER(v, root, "customer_id", check_str(v, member_, 1, ORDER_CUSTOMER_ID_MAX));
    WITH_MEMBER(v, root, "items", check_items(v, member_));
    WITH_MEMBER(v, root, "metadata", check_metadata(v, member_));
    WITH_MEMBER(v, root, "order_id", check_order_id(v, member_));
    WITH_MEMBER(v, root, "total_cents", check_int(v, member_, 0, ORDER_TOTAL_CENTS_MAX, &x));
    rc = check_literals(v, root);
    return rc != 0 ? rc : check_total(v, root, total);
}

/* "-0" is the one integer literal that is not already canonical. */
static void canonicalize_numbers(cJSON *node) {
    for (cJSON *c = node->child; c; c = c->next) {
        if (cJSON_IsRaw(c) && strcmp(c->valuestring, "-0") == 0)
            memcpy(c->valuestring, "0", 2);
        canonicalize_numbers(c);
    }
}

/* ---- entry points --------------------------------------------------------------- */

static void fill_summary(struct order_summary *s, cJSON *root, int64_t total) {
    snprintf(s->order_id, sizeof(s->order_id), "%s",
             cJSON_GetObjectItemCaseSensitive(root, "order_id")->valuestring);
    snprintf(s->customer_id, sizeof(s->customer_id), "%s",
             cJSON_GetObjectItemCaseSensitive(root, "customer_id")->valuestring);
    snprintf(s->currency, sizeof(s->currency), "%s",
             cJSON_GetObjectItemCaseSensitive(root, "currency")->valuestring);
    s->total_cents = total;
    s->item_count = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "items"));
    cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    s->metadata = md ? cJSON_DetachItemViaPointer(root, md) : NULL;
}

int order_validate(const char *body, size_t len, struct order_error *err, char **canonical_out,
                   struct order_summary *summary) {
    struct order_error spare;
    struct vctx v;
    cJSON *root = NULL;
    char *printed = NULL;
    int64_t total = 0;
    int rc;

    memset(&v, 0, sizeof(v));
    v.err = err ? err : &spare;
    v.err->code = NULL;
    v.err->message[0] = v.err->field[0] = '\0';
    v.body = body;
    if (canonical_out)
        *canonical_out = NULL;
    if (summary)
        memset(summary, 0, sizeof(*summary));

    rc = jsonscan_run(&v.scan, body, len, ORDER_VALIDATE_MAX_DEPTH, v.err->message,
                      sizeof(v.err->message));
    if (rc != 0) {
        v.err->code = rc == -2 ? CODE_INTERNAL : CODE_JSON;
        goto cleanup;
    }
    root = cJSON_ParseWithLength(v.scan.work, len);
    if (!root) {
        rc = oom_fail(&v); /* the scanner accepted it: only memory can fail */
        goto cleanup;
    }
    v.ordinal = 0;
    if ((rc = prep_value(&v, root)) != 0 || (rc = dup_check(&v, root)) != 0 ||
        (rc = check_order(&v, root, &total)) != 0)
        goto cleanup;
    canonicalize_numbers(root);
    if (canonical_out) {
        printed = cJSON_PrintUnformatted(root);
        size_t n = printed ? strlen(printed) : 0;
        *canonical_out = printed ? malloc(n + 1) : NULL;
        if (!*canonical_out) {
            rc = oom_fail(&v);
            goto cleanup;
        }
        memcpy(*canonical_out, printed, n + 1);
    }
    if (summary)
        fill_summary(summary, root, total);
    rc = 0;
cleanup:
    cJSON_free(printed);
    cJSON_Delete(root);
    jsonscan_release(&v.scan);
    free(v.keys);
    return rc;
}

void order_summary_release(struct order_summary *summary) {
    if (!summary)
        return;
    cJSON_Delete(summary->metadata);
    memset(summary, 0, sizeof(*summary));
}

const char *order_metadata_get(const struct order_summary *summary, const char *key) {
    if (!summary || !summary->metadata || !key)
        return NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(summary->metadata, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}
