/* filter: SNS filter-policy subset (exact strings, numeric ranges) for orders. */
#include "filter.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLISHER_FILTER_META_PREFIX "metadata."

enum publisher_filter_attr {
    PUBLISHER_FILTER_CURRENCY,
    PUBLISHER_FILTER_CUSTOMER_ID,
    PUBLISHER_FILTER_METADATA,
    PUBLISHER_FILTER_TOTAL_CENTS,
};

enum publisher_filter_op {
    PUBLISHER_FILTER_OP_NONE = 0,
    PUBLISHER_FILTER_OP_EQ,
    PUBLISHER_FILTER_OP_LT,
    PUBLISHER_FILTER_OP_LE,
    PUBLISHER_FILTER_OP_GT,
    PUBLISHER_FILTER_OP_GE,
};

/* One allowed value: a string, or one or two numeric comparisons. */
struct publisher_filter_value {
    char *str; /* NULL for numeric values */
    enum publisher_filter_op op1, op2;
    double num1, num2;
};

struct publisher_filter_rule {
    enum publisher_filter_attr attr;
    char *meta_key; /* for PUBLISHER_FILTER_METADATA */
    size_t nvalues;
    struct publisher_filter_value *values;
};

struct publisher_filter {
    size_t nrules;
    struct publisher_filter_rule rules[PUBLISHER_FILTER_MAX_RULES];
};

static void publisher_filter_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void publisher_filter_seterr(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static enum publisher_filter_op publisher_filter_op_parse(const cJSON *item) {
    static const char *const names[] = {"=", "<", "<=", ">", ">="};
    if (!cJSON_IsString(item))
        return PUBLISHER_FILTER_OP_NONE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(item->valuestring, names[i]) == 0)
            return (enum publisher_filter_op)(i + 1);
    return PUBLISHER_FILTER_OP_NONE;
}

/* Parses {"numeric": [op, n] | [op, n, op, n]} into v. 0, or -1 (err set). */
static int publisher_filter_numeric(const cJSON *obj, const char *name,
                                    struct publisher_filter_value *v, char *err, size_t errlen) {
    const cJSON *arr = obj->child;
    int n;
    if (!arr || arr->next || !arr->string || strcmp(arr->string, "numeric") != 0 ||
        !cJSON_IsArray(arr)) {
        publisher_filter_seterr(err, errlen, "%s: an object value must be {\"numeric\": [...]}",
                                name);
        return -1;
    }
    n = cJSON_GetArraySize(arr);
    if (n != 2 && n != 4)
        goto bad;
    v->op1 = publisher_filter_op_parse(cJSON_GetArrayItem(arr, 0));
    const cJSON *a = cJSON_GetArrayItem(arr, 1);
    if (v->op1 == PUBLISHER_FILTER_OP_NONE || !cJSON_IsNumber(a) || !isfinite(a->valuedouble))
        goto bad;
    v->num1 = a->valuedouble;
    if (n == 2)
        return 0;
    v->op2 = publisher_filter_op_parse(cJSON_GetArrayItem(arr, 2));
    const cJSON *b = cJSON_GetArrayItem(arr, 3);
    if ((v->op1 != PUBLISHER_FILTER_OP_GT && v->op1 != PUBLISHER_FILTER_OP_GE) ||
        (v->op2 != PUBLISHER_FILTER_OP_LT && v->op2 != PUBLISHER_FILTER_OP_LE) ||
        !cJSON_IsNumber(b) || !isfinite(b->valuedouble))
        goto bad;
    v->num2 = b->valuedouble;
    if (v->num1 > v->num2) {
        publisher_filter_seterr(err, errlen,
                                "%s: numeric range has its lower bound above its upper", name);
        return -1;
    }
    return 0;
bad:
    publisher_filter_seterr(err, errlen,
                            "%s: numeric must be [op, number] or [\">\"|\">=\", number, "
                            "\"<\"|\"<=\", number] with op one of =, <, <=, >, >=",
                            name);
    return -1;
}

/* Fills rule->attr (and meta_key) from the member name. 0, or -1 (err set). */
static int publisher_filter_attr_parse(const char *name, struct publisher_filter_rule *rule,
                                       char *err, size_t errlen) {
    size_t plen = strlen(PUBLISHER_FILTER_META_PREFIX);
    if (strcmp(name, "currency") == 0) {
        rule->attr = PUBLISHER_FILTER_CURRENCY;
    } else if (strcmp(name, "customer_id") == 0) {
        rule->attr = PUBLISHER_FILTER_CUSTOMER_ID;
    } else if (strcmp(name, "total_cents") == 0) {
        rule->attr = PUBLISHER_FILTER_TOTAL_CENTS;
    } else if (strncmp(name, PUBLISHER_FILTER_META_PREFIX, plen) == 0 && name[plen] != '\0') {
        rule->attr = PUBLISHER_FILTER_METADATA;
        rule->meta_key = strdup(name + plen);
        if (!rule->meta_key) {
            publisher_filter_seterr(err, errlen, "out of memory");
            return -1;
        }
    } else {
        publisher_filter_seterr(err, errlen,
                                "%.80s: unsupported attribute (expected currency, customer_id, "
                                "total_cents or metadata.<key>)",
                                name);
        return -1;
    }
    return 0;
}

/* Compiles one member `item` of the policy into rule. 0, or -1 (err set). */
static int publisher_filter_rule_parse(const cJSON *item, struct publisher_filter_rule *rule,
                                       char *err, size_t errlen) {
    const char *name = item->string;
    if (publisher_filter_attr_parse(name, rule, err, errlen) != 0)
        return -1;
    int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : -1;
    if (n < 1 || n > PUBLISHER_FILTER_MAX_VALUES) {
        publisher_filter_seterr(err, errlen, "%.80s: must be an array of 1 to %d values", name,
                                PUBLISHER_FILTER_MAX_VALUES);
        return -1;
    }
    rule->values = calloc((size_t)n, sizeof *rule->values);
    if (!rule->values) {
        publisher_filter_seterr(err, errlen, "out of memory");
        return -1;
    }
    rule->nvalues = (size_t)n;
    size_t i = 0;
    for (const cJSON *v = item->child; v; v = v->next, i++) {
        struct publisher_filter_value *out = &rule->values[i];
        if (rule->attr == PUBLISHER_FILTER_TOTAL_CENTS) {
            if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
                out->op1 = PUBLISHER_FILTER_OP_EQ;
                out->num1 = v->valuedouble;
            } else if (cJSON_IsObject(v)) {
                if (publisher_filter_numeric(v, name, out, err, errlen) != 0)
                    return -1;
            } else {
                publisher_filter_seterr(
                    err, errlen, "%.80s: values must be numbers or {\"numeric\": [...]}", name);
                return -1;
            }
        } else {
            if (!cJSON_IsString(v)) {
                publisher_filter_seterr(err, errlen, "%.80s: values must be strings", name);
                return -1;
            }
            out->str = strdup(v->valuestring);
            if (!out->str) {
                publisher_filter_seterr(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

struct publisher_filter *publisher_filter_parse(const cJSON *policy, char *err, size_t errlen) {
    struct publisher_filter *f = NULL;
    if (!cJSON_IsObject(policy)) {
        publisher_filter_seterr(err, errlen, "a filter policy must be a JSON object");
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        publisher_filter_seterr(err, errlen, "out of memory");
        return NULL;
    }
    for (const cJSON *item = policy->child; item; item = item->next) {
        for (const cJSON *prev = policy->child; prev != item; prev = prev->next) {
            if (strcmp(prev->string, item->string) == 0) {
                publisher_filter_seterr(err, errlen, "%.80s: duplicate member", item->string);
                goto fail;
            }
        }
        if (f->nrules == PUBLISHER_FILTER_MAX_RULES) {
            publisher_filter_seterr(err, errlen, "a policy has at most %d members",
                                    PUBLISHER_FILTER_MAX_RULES);
            goto fail;
        }
        /* Counted before parsing, so a half-built rule is freed too. */
        if (publisher_filter_rule_parse(item, &f->rules[f->nrules++], err, errlen) != 0)
            goto fail;
    }
    return f;
fail:
    publisher_filter_destroy(f);
    return NULL;
}

void publisher_filter_destroy(struct publisher_filter *f) {
    if (!f)
        return;
    for (size_t i = 0; i < f->nrules; i++) {
        struct publisher_filter_rule *r = &f->rules[i];
        for (size_t j = 0; j < r->nvalues; j++)
            free(r->values[j].str);
        free(r->values);
        free(r->meta_key);
    }
    free(f);
}

static int publisher_filter_cmp(enum publisher_filter_op op, double x, double bound) {
    switch (op) {
    case PUBLISHER_FILTER_OP_EQ:
        return x == bound;
    case PUBLISHER_FILTER_OP_LT:
        return x < bound;
    case PUBLISHER_FILTER_OP_LE:
        return x <= bound;
    case PUBLISHER_FILTER_OP_GT:
        return x > bound;
    case PUBLISHER_FILTER_OP_GE:
        return x >= bound;
    case PUBLISHER_FILTER_OP_NONE:
        break;
    }
    return 1;
}

/* The order's value for a rule's attribute, or NULL when absent. */
static const cJSON *publisher_filter_lookup(const struct publisher_filter_rule *r,
                                            const cJSON *order) {
    switch (r->attr) {
    case PUBLISHER_FILTER_CURRENCY:
        return cJSON_GetObjectItemCaseSensitive(order, "currency");
    case PUBLISHER_FILTER_CUSTOMER_ID:
        return cJSON_GetObjectItemCaseSensitive(order, "customer_id");
    case PUBLISHER_FILTER_TOTAL_CENTS:
        return cJSON_GetObjectItemCaseSensitive(order, "total_cents");
    case PUBLISHER_FILTER_METADATA: {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(order, "metadata");
        return cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, r->meta_key) : NULL;
    }
    }
    return NULL;
}

static int publisher_filter_rule_match(const struct publisher_filter_rule *r, const cJSON *order) {
    const cJSON *v = publisher_filter_lookup(r, order);
    if (!v)
        return 0;
    for (size_t i = 0; i < r->nvalues; i++) {
        const struct publisher_filter_value *a = &r->values[i];
        if (r->attr == PUBLISHER_FILTER_TOTAL_CENTS) {
            if (cJSON_IsNumber(v) && publisher_filter_cmp(a->op1, v->valuedouble, a->num1) &&
                publisher_filter_cmp(a->op2, v->valuedouble, a->num2))
                return 1;
        } else if (cJSON_IsString(v) && strcmp(v->valuestring, a->str) == 0) {
            return 1;
        }
    }
    return 0;
}

int publisher_filter_match(const struct publisher_filter *f, const cJSON *order) {
    if (!f)
        return 1;
    if (!cJSON_IsObject(order))
        return 0;
    for (size_t i = 0; i < f->nrules; i++)
        if (!publisher_filter_rule_match(&f->rules[i], order))
            return 0;
    return 1;
}
