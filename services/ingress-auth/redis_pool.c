/* redis_pool: bounded, thread-safe pool of AUTHed hiredis connections. */
#include "redis_pool.h"

#include "redis_conn.h"
#include "redis_script.h"

#include "errmsg.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDIS_POOL_MAX 1024
#define REDIS_TIMEOUT_MAX_MS 60000
#define REDIS_PREFIX_MAX 64
/* While Redis stays down, repeat the warning at most this often. */
#define REDIS_LOG_EVERY_MS 10000
/* After a failed connect, new connects wait this long (capped by the connect
 * timeout), so an outage costs requests no connect storm. */
#define REDIS_HOLDOFF_MAX_MS 500

struct ingress_redis {
    char *host, *username, *password, *key_prefix;
    int port, connect_timeout_ms, command_timeout_ms, pool_size;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* a connection came back or a slot freed; CLOCK_MONOTONIC */
    struct ingress_redis_conn **idle;
    int nidle;
    int nopen;             /* idle + borrowed + being connected */
    unsigned long gen;     /* bumped by every broken connection */
    long long holdoff_ms;  /* no new connect before this monotonic time */
    int unhealthy;         /* a failure was logged and no success since */
    long long last_log_ms; /* monotonic time of the last failure line */
    char sha[INGRESS_SCRIPT_COUNT][41];
};

static long long redis_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval redis_tv(int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

int ingress_redis_settings_check(const struct ingress_redis_settings *s, char *err, size_t errlen) {
    if (!s) {
        errmsg_set(err, errlen, "redis: no settings");
        return -1;
    }
    if (!s->host || !*s->host) {
        errmsg_set(err, errlen, "redis: host is required");
        return -1;
    }
    if (s->port < 1 || s->port > 65535) {
        errmsg_set(err, errlen, "redis: port %d is not in 1..65535", s->port);
        return -1;
    }
    if (!s->username || !*s->username) {
        errmsg_set(err, errlen, "redis: username is required (an ACL user, never default)");
        return -1;
    }
    if (!s->password || !*s->password) {
        errmsg_set(err, errlen, "redis: password is required");
        return -1;
    }
    if (!s->key_prefix || !*s->key_prefix || strlen(s->key_prefix) > REDIS_PREFIX_MAX) {
        errmsg_set(err, errlen, "redis: key prefix must be 1..%d characters", REDIS_PREFIX_MAX);
        return -1;
    }
    if (s->connect_timeout_ms < 1 || s->connect_timeout_ms > REDIS_TIMEOUT_MAX_MS) {
        errmsg_set(err, errlen, "redis: connect timeout %d ms is not in 1..%d",
                   s->connect_timeout_ms, REDIS_TIMEOUT_MAX_MS);
        return -1;
    }
    if (s->command_timeout_ms < 1 || s->command_timeout_ms > REDIS_TIMEOUT_MAX_MS) {
        errmsg_set(err, errlen, "redis: command timeout %d ms is not in 1..%d",
                   s->command_timeout_ms, REDIS_TIMEOUT_MAX_MS);
        return -1;
    }
    if (s->pool_size < 1 || s->pool_size > REDIS_POOL_MAX) {
        errmsg_set(err, errlen, "redis: pool size %d is not in 1..%d", s->pool_size,
                   REDIS_POOL_MAX);
        return -1;
    }
    return 0;
}

struct ingress_redis *ingress_redis_create(const struct ingress_redis_settings *s, char *err,
                                           size_t errlen) {
    struct ingress_redis *r = NULL;
    pthread_condattr_t attr;
    int mu_ok = 0;
    if (ingress_redis_settings_check(s, err, errlen) != 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        goto oom;
    r->host = strdup(s->host);
    r->username = strdup(s->username);
    r->password = strdup(s->password);
    r->key_prefix = strdup(s->key_prefix);
    r->idle = calloc((size_t)s->pool_size, sizeof *r->idle);
    if (!r->host || !r->username || !r->password || !r->key_prefix || !r->idle)
        goto oom;
    r->port = s->port;
    r->connect_timeout_ms = s->connect_timeout_ms;
    r->command_timeout_ms = s->command_timeout_ms;
    r->pool_size = s->pool_size;
    if (pthread_mutex_init(&r->mu, NULL) != 0)
        goto oom;
    mu_ok = 1;
    if (pthread_condattr_init(&attr) != 0)
        goto oom;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&r->cv, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        goto oom;
    }
    pthread_condattr_destroy(&attr);
    return r;
oom:
    errmsg_set(err, errlen, "redis: out of memory creating the pool");
    if (r) {
        if (mu_ok)
            pthread_mutex_destroy(&r->mu);
        if (r->password)
            explicit_bzero(r->password, strlen(r->password));
        free(r->host);
        free(r->username);
        free(r->password);
        free(r->key_prefix);
        free(r->idle);
        free(r);
    }
    return NULL;
}

static void redis_conn_free(struct ingress_redis_conn *conn) {
    if (!conn)
        return;
    if (conn->ctx)
        redisFree(conn->ctx);
    free(conn);
}

void ingress_redis_destroy(struct ingress_redis *r) {
    if (!r)
        return;
    for (int i = 0; i < r->nidle; i++)
        redis_conn_free(r->idle[i]);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    explicit_bzero(r->password, strlen(r->password));
    free(r->host);
    free(r->username);
    free(r->password);
    free(r->key_prefix);
    free(r->idle);
    free(r);
}

const char *ingress_redis_key_prefix(const struct ingress_redis *r) {
    return r->key_prefix;
}

void ingress_redis_note_failure(struct ingress_redis *r, const char *what) {
    long long now = redis_now_ms();
    int log_it;
    pthread_mutex_lock(&r->mu);
    log_it = !r->unhealthy || now - r->last_log_ms >= REDIS_LOG_EVERY_MS;
    r->unhealthy = 1;
    if (log_it)
        r->last_log_ms = now;
    pthread_mutex_unlock(&r->mu);
    if (log_it)
        LOG_WARN("redis %s:%d unavailable: %s", r->host, r->port, what);
}

void ingress_redis_note_success(struct ingress_redis *r) {
    int recovered;
    pthread_mutex_lock(&r->mu);
    recovered = r->unhealthy;
    r->unhealthy = 0;
    pthread_mutex_unlock(&r->mu);
    if (recovered)
        LOG_INFO("redis %s:%d reachable again", r->host, r->port);
}

int ingress_redis_sha_get(struct ingress_redis *r, int id, char out[41]) {
    int known;
    if (id < 0 || id >= INGRESS_SCRIPT_COUNT)
        return 0;
    pthread_mutex_lock(&r->mu);
    known = r->sha[id][0] != '\0';
    memcpy(out, r->sha[id], 41);
    pthread_mutex_unlock(&r->mu);
    return known;
}

void ingress_redis_sha_set(struct ingress_redis *r, int id, const char *sha) {
    if (id < 0 || id >= INGRESS_SCRIPT_COUNT || !sha || strlen(sha) != 40)
        return;
    pthread_mutex_lock(&r->mu);
    memcpy(r->sha[id], sha, 41);
    pthread_mutex_unlock(&r->mu);
}

/* Connects and AUTHs as the ACL user. Returns the context, or NULL with the
 * reason in why (which never contains the password). */
static redisContext *redis_connect(struct ingress_redis *r, char *why, size_t whylen) {
    const char *argv[3] = {"AUTH", r->username, r->password};
    size_t lens[3] = {4, strlen(r->username), strlen(r->password)};
    redisReply *reply = NULL;
    redisContext *c = redisConnectWithTimeout(r->host, r->port, redis_tv(r->connect_timeout_ms));
    if (!c) {
        errmsg_set(why, whylen, "out of memory connecting");
        return NULL;
    }
    if (c->err) {
        errmsg_set(why, whylen, "connect: %s", c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, redis_tv(r->command_timeout_ms)) != REDIS_OK) {
        errmsg_set(why, whylen, "setting the command timeout: %s", c->errstr);
        goto fail;
    }
    /* Detects a peer that vanished while a connection sat idle. */
    (void)redisEnableKeepAlive(c);
    reply = redisCommandArgv(c, 3, argv, lens);
    if (!reply) {
        errmsg_set(why, whylen, "AUTH: %s", c->errstr);
        goto fail;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis' message (WRONGPASS ...) names no secret. */
        errmsg_set(why, whylen, "AUTH as ACL user '%s' refused: %s", r->username, reply->str);
        goto fail;
    }
    if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
        errmsg_set(why, whylen, "AUTH as ACL user '%s': unexpected reply", r->username);
        goto fail;
    }
    freeReplyObject(reply);
    return c;
fail:
    if (reply)
        freeReplyObject(reply);
    redisFree(c);
    return NULL;
}

/* Makes a new connection for a reserved slot; on failure frees the slot. */
static struct ingress_redis_conn *redis_open(struct ingress_redis *r, unsigned long gen) {
    char why[256] = "";
    struct ingress_redis_conn *conn = calloc(1, sizeof *conn);
    if (conn) {
        conn->gen = gen;
        conn->ctx = redis_connect(r, why, sizeof why);
    } else {
        errmsg_set(why, sizeof why, "out of memory");
    }
    if (conn && conn->ctx)
        return conn;
    free(conn);
    pthread_mutex_lock(&r->mu);
    r->nopen--;
    int holdoff =
        r->connect_timeout_ms < REDIS_HOLDOFF_MAX_MS ? r->connect_timeout_ms : REDIS_HOLDOFF_MAX_MS;
    r->holdoff_ms = redis_now_ms() + holdoff;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    ingress_redis_note_failure(r, why);
    return NULL;
}

struct ingress_redis_conn *ingress_redis_borrow(struct ingress_redis *r) {
    long long deadline = redis_now_ms() + r->command_timeout_ms;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->nidle > 0) {
            struct ingress_redis_conn *conn = r->idle[--r->nidle];
            if (conn->gen == r->gen) {
                pthread_mutex_unlock(&r->mu);
                return conn;
            }
            /* Opened before a failure, so likely dead too: replace it. */
            r->nopen--;
            redis_conn_free(conn);
        }
        if (r->nopen < r->pool_size) {
            if (redis_now_ms() < r->holdoff_ms) {
                pthread_mutex_unlock(&r->mu);
                ingress_redis_note_failure(r, "reconnect held off after a failed connect");
                return NULL;
            }
            unsigned long gen = r->gen;
            r->nopen++; /* reserve the slot, connect outside the lock */
            pthread_mutex_unlock(&r->mu);
            return redis_open(r, gen);
        }
        long long left = deadline - redis_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    ingress_redis_note_failure(r, "every pooled connection stayed busy for the command timeout");
    return NULL;
}

void ingress_redis_give_back(struct ingress_redis *r, struct ingress_redis_conn *conn, int broken) {
    if (!conn)
        return;
    if (conn->ctx && conn->ctx->err)
        broken = 1;
    pthread_mutex_lock(&r->mu);
    if (broken) {
        r->nopen--;
        if (conn->gen == r->gen)
            r->gen++;
    } else {
        r->idle[r->nidle++] = conn;
    }
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (broken)
        redis_conn_free(conn);
}

int ingress_redis_ping(struct ingress_redis *r) {
    struct ingress_redis_conn *conn = ingress_redis_borrow(r);
    if (!conn)
        return -1;
    redisReply *reply = redisCommand(conn->ctx, "PING");
    int ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    if (!reply) {
        char why[160];
        errmsg_set(why, sizeof why, "PING: %s", conn->ctx->errstr);
        ingress_redis_give_back(r, conn, 1);
        ingress_redis_note_failure(r, why);
        return -1;
    }
    if (!ok) {
        ingress_redis_note_failure(r, reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                       : "PING: unexpected reply");
    }
    freeReplyObject(reply);
    ingress_redis_give_back(r, conn, 0);
    if (ok)
        ingress_redis_note_success(r);
    return ok ? 0 : -1;
}
