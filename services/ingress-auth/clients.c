/* clients: API client registry loaded from a strict JSON file, refcounted for hot reload. */
#include "clients.h"

#include "jsonscan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENTS_MAX_DEPTH 8
#define CLIENTS_RATE_MAX 1e9
#define CLIENTS_BURST_MAX 1000000000L

struct ingress_clients {
    atomic_long refs; /* 1 while owned alone or by a holder, +1 per reader */
    size_t n;
    struct ingress_client *v; /* sorted by id */
    struct ingress_clients_file_id source;
};

struct ingress_clients_holder {
    pthread_mutex_t lock; /* guards cur only; held for a pointer copy */
    struct ingress_clients *cur;
};

int ingress_client_id_valid(const char *id) {
    if (!id)
        return 0;
    size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    return n >= 1 && n <= INGRESS_CLIENT_ID_MAX && id[n] == '\0';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void ingress_clients_free(struct ingress_clients *clients) {
    if (!clients)
        return;
    for (size_t i = 0; i < clients->n; i++) {
        struct ingress_client *c = &clients->v[i];
        for (size_t k = 0; k < c->nsecrets; k++) {
            unsigned char *d = (unsigned char *)c->secrets[k].data;
            if (d)
                explicit_bzero(d, c->secrets[k].len);
            free(d);
        }
    }
    free(clients->v);
    free(clients);
}

/* Overwrites every string of a parse tree (secrets included) before it is
 * freed. */
static void wipe_tree(cJSON *node) {
    for (; node; node = node->next) {
        if (node->valuestring)
            explicit_bzero(node->valuestring, strlen(node->valuestring));
        wipe_tree(node->child);
    }
}

static int read_secrets(struct ingress_client *c, const cJSON *arr, const char *what, char *err,
                        size_t errlen) {
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n < 1 || n > INGRESS_CLIENT_SECRETS_MAX) {
        set_err(err, errlen, "%s: client \"%s\": secrets must be an array of 1 to %d strings", what,
                c->id, INGRESS_CLIENT_SECRETS_MAX);
        return -1;
    }
    for (const cJSON *s = arr->child; s; s = s->next) {
        size_t len = cJSON_IsString(s) ? strlen(s->valuestring) : 0;
        if (len == 0 || len > INGRESS_CLIENT_SECRET_MAX) {
            set_err(err, errlen,
                    "%s: client \"%s\": secrets[%zu] must be a non-empty string of at most %d "
                    "bytes",
                    what, c->id, c->nsecrets, INGRESS_CLIENT_SECRET_MAX);
            return -1;
        }
        unsigned char *copy = malloc(len);
        if (!copy) {
            set_err(err, errlen, "%s: out of memory", what);
            return -1;
        }
        memcpy(copy, s->valuestring, len);
        c->secrets[c->nsecrets].data = copy;
        c->secrets[c->nsecrets].len = len;
        c->nsecrets++;
    }
    return 0;
}

/* Fills *c from the entry `id: entry`. 0, or -1 with err set. */
static int read_client(struct ingress_client *c, const char *id, const cJSON *entry,
                       const char *what, char *err, size_t errlen) {
    const cJSON *secrets = NULL, *rate = NULL, *burst = NULL;
    if (!ingress_client_id_valid(id)) {
        set_err(err, errlen, "%s: client id \"%.64s\" is not 1 to 64 of [A-Za-z0-9._-]", what, id);
        return -1;
    }
    snprintf(c->id, sizeof(c->id), "%s", id);
    if (!cJSON_IsObject(entry)) {
        set_err(err, errlen, "%s: client \"%s\" must be an object", what, id);
        return -1;
    }
    for (const cJSON *m = entry->child; m; m = m->next) {
        const cJSON **slot = strcmp(m->string, "secrets") == 0           ? &secrets
                             : strcmp(m->string, "rate_per_second") == 0 ? &rate
                             : strcmp(m->string, "burst") == 0           ? &burst
                                                                         : NULL;
        if (m->string[0] == '_')
            continue;
        if (!slot || *slot) {
            set_err(err, errlen, "%s: client \"%s\": member \"%.64s\" is %s", what, id, m->string,
                    slot ? "given twice" : "unknown (allowed: secrets, rate_per_second, burst)");
            return -1;
        }
        *slot = m;
    }
    if (!secrets || !rate || !burst) {
        set_err(err, errlen, "%s: client \"%s\": \"%s\" is required", what, id,
                !secrets ? "secrets"
                : !rate  ? "rate_per_second"
                         : "burst");
        return -1;
    }
    if (!cJSON_IsNumber(rate) ||
        !(rate->valuedouble > 0 && rate->valuedouble <= CLIENTS_RATE_MAX)) {
        set_err(err, errlen,
                "%s: client \"%s\": rate_per_second must be a number above 0 and at "
                "most 1e9",
                what, id);
        return -1;
    }
    double b = cJSON_IsNumber(burst) ? burst->valuedouble : 0;
    if (!(b >= 1 && b <= (double)CLIENTS_BURST_MAX) || floor(b) != b) {
        set_err(err, errlen, "%s: client \"%s\": burst must be an integer from 1 to 1000000000",
                what, id);
        return -1;
    }
    c->rate_per_second = rate->valuedouble;
    c->burst = (long)b;
    return read_secrets(c, secrets, what, err, errlen);
}

static int client_cmp(const void *a, const void *b) {
    return strcmp(((const struct ingress_client *)a)->id, ((const struct ingress_client *)b)->id);
}

/* Parses and validates; `what` names the source in messages. */
static struct ingress_clients *clients_parse(const char *json, size_t len, const char *what,
                                             char *err, size_t errlen) {
    struct jsonscan scan;
    struct ingress_clients *out = NULL;
    cJSON *root = NULL;
    char msg[200];
    size_t n = 0;

    int rc = jsonscan_run(&scan, json, len, CLIENTS_MAX_DEPTH, msg, sizeof(msg));
    if (rc != 0) {
        set_err(err, errlen, "%s: %s", what, len ? msg : "the file is empty");
        goto fail;
    }
    for (size_t i = 0; i < scan.ntoks; i++) {
        if (scan.toks[i].nul_string) {
            set_err(err, errlen, "%s: \\u0000 is not allowed in a string", what);
            goto fail;
        }
    }
    root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        set_err(err, errlen, "%s: %s", what,
                root ? "the top level must be an object of clients" : "cannot be parsed");
        goto fail;
    }
    for (const cJSON *m = root->child; m; m = m->next)
        n += m->string[0] != '_';
    if (n == 0) {
        set_err(err, errlen, "%s: no clients defined", what);
        goto fail;
    }
    out = calloc(1, sizeof(*out));
    if (!out || !(out->v = calloc(n, sizeof(*out->v)))) {
        set_err(err, errlen, "%s: out of memory", what);
        goto fail;
    }
    atomic_init(&out->refs, 1);
    for (const cJSON *m = root->child; m; m = m->next) {
        if (m->string[0] == '_')
            continue;
        if (read_client(&out->v[out->n++], m->string, m, what, err, errlen) != 0)
            goto fail;
    }
    qsort(out->v, out->n, sizeof(*out->v), client_cmp);
    for (size_t i = 1; i < out->n; i++) {
        if (strcmp(out->v[i].id, out->v[i - 1].id) == 0) {
            set_err(err, errlen, "%s: client id \"%s\" appears twice", what, out->v[i].id);
            goto fail;
        }
    }
    goto cleanup;
fail:
    ingress_clients_free(out);
    out = NULL;
cleanup:
    if (root) {
        wipe_tree(root);
        cJSON_Delete(root);
    }
    jsonscan_release(&scan);
    return out;
}

struct ingress_clients *ingress_clients_parse(const char *json, size_t len, char *err,
                                              size_t errlen) {
    return clients_parse(json, len, "clients", err, errlen);
}

struct ingress_clients *ingress_clients_load(const char *path, char *err, size_t errlen) {
    struct ingress_clients *out = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > INGRESS_CLIENTS_FILE_MAX) {
        set_err(err, errlen, "%s: %s", path,
                S_ISREG(st.st_mode) ? "larger than 4 MiB" : "not a regular file");
        goto cleanup;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    for (;;) {
        if (!buf) {
            set_err(err, errlen, "%s: out of memory", path);
            goto cleanup;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_err(err, errlen, "%s: read failed: %s", path, strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) { /* the file grew while we read it */
            if (cap > INGRESS_CLIENTS_FILE_MAX) {
                set_err(err, errlen, "%s: larger than 4 MiB", path);
                goto cleanup;
            }
            char *bigger = malloc(cap * 2);
            if (bigger)
                memcpy(bigger, buf, len);
            explicit_bzero(buf, len);
            free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    out = clients_parse(buf, len, path, err, errlen);
    if (out) {
        out->source.dev = st.st_dev;
        out->source.ino = st.st_ino;
        out->source.mtim = st.st_mtim;
        out->source.size = st.st_size;
    }
cleanup:
    if (buf) {
        explicit_bzero(buf, len);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return out;
}

const struct ingress_client *ingress_clients_find(const struct ingress_clients *clients,
                                                  const char *id) {
    struct ingress_client key;
    if (!clients || !ingress_client_id_valid(id))
        return NULL;
    snprintf(key.id, sizeof(key.id), "%s", id);
    return bsearch(&key, clients->v, clients->n, sizeof(*clients->v), client_cmp);
}

size_t ingress_clients_count(const struct ingress_clients *clients) {
    return clients ? clients->n : 0;
}

const struct ingress_client *ingress_clients_at(const struct ingress_clients *clients, size_t i) {
    return clients && i < clients->n ? &clients->v[i] : NULL;
}

const struct ingress_clients_file_id *
ingress_clients_source(const struct ingress_clients *clients) {
    return &clients->source;
}

int ingress_clients_file_changed(const char *path, struct ingress_clients_file_id *seen) {
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (st.st_dev == seen->dev && st.st_ino == seen->ino && st.st_size == seen->size &&
        st.st_mtim.tv_sec == seen->mtim.tv_sec && st.st_mtim.tv_nsec == seen->mtim.tv_nsec)
        return 0;
    seen->dev = st.st_dev;
    seen->ino = st.st_ino;
    seen->mtim = st.st_mtim;
    seen->size = st.st_size;
    return 1;
}

/* ---- holder: refcounted registry swapped under a short mutex ------------- */

struct ingress_clients_holder *ingress_clients_holder_create(struct ingress_clients *initial) {
    struct ingress_clients_holder *h = initial ? calloc(1, sizeof(*h)) : NULL;
    if (!h)
        return NULL;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    h->cur = initial;
    return h;
}

void ingress_clients_holder_release(const struct ingress_clients *clients) {
    /* The registry is never defined const: the cast only drops the view. */
    struct ingress_clients *c = (struct ingress_clients *)clients;
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        ingress_clients_free(c);
}

void ingress_clients_holder_destroy(struct ingress_clients_holder *holder) {
    if (!holder)
        return;
    ingress_clients_holder_release(holder->cur);
    pthread_mutex_destroy(&holder->lock);
    free(holder);
}

const struct ingress_clients *
ingress_clients_holder_acquire(struct ingress_clients_holder *holder) {
    pthread_mutex_lock(&holder->lock);
    struct ingress_clients *c = holder->cur;
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&holder->lock);
    return c;
}

void ingress_clients_holder_swap(struct ingress_clients_holder *holder,
                                 struct ingress_clients *next) {
    pthread_mutex_lock(&holder->lock);
    struct ingress_clients *old = holder->cur;
    holder->cur = next;
    pthread_mutex_unlock(&holder->lock);
    ingress_clients_holder_release(old);
}
