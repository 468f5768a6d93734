/* load: the open-loop load generator behind `ordersctl load`. */
#include "load.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gen.h"
#include "sig.h"
#include "sign.h"
#include "strbuf.h"

#define LOAD_NS_PER_S 1000000000LL
#define LOAD_LATE_NS 1000000LL /* a start this late behind its due time counts as late */
#define LOAD_POLL_MAX_MS 100   /* bounds every wait: signals, deadline, progress */

static const char load_ts_name[] = "X-Timestamp: ";
static const char load_sig_name[] = "X-Signature: sha256=";

/* One connection's worth of state, reused for every request it carries. */
struct load_slot {
    CURL *easy;
    struct curl_slist *headers;
    char *ts_value;  /* inside the X-Timestamp node: 20 writable bytes + NUL */
    char *sig_value; /* inside the X-Signature node: 64 writable bytes + NUL */
    struct strbuf body;
    struct strbuf sample; /* start of the response body, for the first error */
    int64_t due_ns;
    int replayed;
    char curl_err[CURL_ERROR_SIZE];
};

struct load_run {
    const struct ordersctl_load_params *p;
    struct ordersctl_load_stats *st;
    CURLM *multi;
    struct load_slot *slots;
    unsigned *idle; /* stack of idle slot indexes */
    unsigned nidle;
    struct ordersctl_signer *signer;
    struct ordersctl_rng rng;
    int timer_fd;
    int64_t timer_due_ns; /* what the timerfd is armed for; 0: disarmed */
    int64_t t0;
    int64_t pool_empty_ns; /* last time no connection was free (for lag causes) */
    /* progress line */
    int64_t next_progress_ns;
    uint64_t progress_completed;
    int progress_shown;
};

static int64_t load_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * LOAD_NS_PER_S + ts.tv_nsec;
}

int64_t ordersctl_load_due_ns(int64_t t0_ns, uint64_t i, double rate) {
    return t0_ns + (int64_t)((long double)i * 1e9L / (long double)rate);
}

uint64_t ordersctl_load_due_count(int64_t t0_ns, int64_t now_ns, double rate, uint64_t count) {
    if (now_ns < t0_ns)
        return 0;
    long double k = (long double)(now_ns - t0_ns) * (long double)rate / 1e9L + 1.0L;
    uint64_t n = k >= (long double)count ? count : (uint64_t)k;
    /* Make it agree exactly with ordersctl_load_due_ns despite rounding. */
    while (n > 0 && ordersctl_load_due_ns(t0_ns, n - 1, rate) > now_ns)
        n--;
    while (n < count && ordersctl_load_due_ns(t0_ns, n, rate) <= now_ns)
        n++;
    return n;
}

/* libcurl header callback: notes Idempotent-Replayed: true. */
static size_t load_on_header(char *data, size_t size, size_t nitems, void *userdata) {
    static const char name[] = "idempotent-replayed:";
    struct load_slot *s = userdata;
    size_t n = size * nitems;
    if (n > sizeof(name) - 1 && (data[0] == 'I' || data[0] == 'i') &&
        strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        while (*v == ' ' || *v == '\t')
            v++;
        s->replayed = strncasecmp(v, "true", 4) == 0;
    }
    return n;
}

/* libcurl write callback: keeps the first bytes of the body, drops the rest. */
static size_t load_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    struct load_slot *s = userdata;
    size_t n = size * nmemb;
    size_t room = s->sample.limit - s->sample.len;
    if (room)
        (void)strbuf_append(&s->sample, data, n < room ? n : room);
    return n;
}

/* Appends one header node and returns a pointer to the byte after `name` in
 * the list's own copy; `name` is followed by `width` placeholder bytes. */
static char *load_header_slot(struct curl_slist **list, const char *name, size_t width) {
    char line[128];
    size_t nl = strlen(name);
    if (nl + width >= sizeof(line))
        return NULL;
    memcpy(line, name, nl);
    memset(line + nl, '0', width);
    line[nl + width] = '\0';
    struct curl_slist *next = curl_slist_append(*list, line);
    if (!next)
        return NULL;
    *list = next;
    struct curl_slist *last = next;
    while (last->next)
        last = last->next;
    return last->data + nl;
}

/* Creates slot i's easy handle and header list. 0 or -1. */
static int load_slot_init(struct load_run *r, struct load_slot *s, char *err, size_t errlen) {
    const struct ordersctl_load_params *p = r->p;
    char client[96];
    long timeout_ms = (long)(p->timeout_s * 1000.0);
    strbuf_init(&s->body, 1u << 20);
    strbuf_init(&s->sample, ORDERSCTL_LOAD_SAMPLE_MAX - 1);
    snprintf(client, sizeof(client), "X-Client-Id: %s", p->client_id);
    const char *fixed[] = {"Content-Type: application/json", client, "Expect:"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct curl_slist *next = curl_slist_append(s->headers, fixed[i]);
        if (!next)
            goto nomem;
        s->headers = next;
    }
    s->ts_value = load_header_slot(&s->headers, load_ts_name, 20);
    s->sig_value = load_header_slot(&s->headers, load_sig_name, ORDERSCTL_SIG_HEX_LEN);
    s->easy = curl_easy_init();
    if (!s->ts_value || !s->sig_value || !s->easy)
        goto nomem;
    if (curl_easy_setopt(s->easy, CURLOPT_URL, p->url) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, 0L) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "ordersctl-load") != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, load_on_header) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, load_on_body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->curl_err) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK) {
        snprintf(err, errlen, "curl_easy_setopt failed");
        return -1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory creating connection state");
    return -1;
}

static void load_slot_release(struct load_slot *s) {
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    strbuf_release(&s->body);
    strbuf_release(&s->sample);
}

/* Builds, signs and hands request `i` (due at due_ns) to libcurl on an idle
 * connection. 0, or -1 with a message. */
static int load_start(struct load_run *r, uint64_t i, int64_t due_ns, int64_t now_ns, char *err,
                      size_t errlen) {
    struct load_slot *s = &r->slots[r->idle[--r->nidle]];
    char id[ORDERSCTL_ORDER_ID_MAX + 1];
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    long long ts = (long long)time(NULL);

    if (r->nidle == 0)
        r->pool_empty_ns = now_ns;
    strbuf_reset(&s->body);
    strbuf_reset(&s->sample);
    s->replayed = 0;
    s->curl_err[0] = '\0';
    s->due_ns = due_ns;
    if (ordersctl_gen_order_id(id, sizeof(id), r->p->prefix, (unsigned long long)i + 1) < 0 ||
        ordersctl_gen_order(&s->body, id, &r->rng) != 0 ||
        ordersctl_signer_sign(r->signer, ts, s->body.data, s->body.len, hex) != 0) {
        snprintf(err, errlen, "cannot build request %llu", (unsigned long long)i + 1);
        return -1;
    }
    snprintf(s->ts_value, 21, "%lld", ts);
    memcpy(s->sig_value, hex, ORDERSCTL_SIG_HEX_LEN);
    if (curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->body.len) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data) != CURLE_OK) {
        snprintf(err, errlen, "curl_easy_setopt failed");
        return -1;
    }
    CURLMcode mc = curl_multi_add_handle(r->multi, s->easy);
    if (mc != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
        return -1;
    }
    int64_t lag = now_ns - due_ns;
    ordersctl_hist_record(&r->st->send_lag, lag > 0 ? (uint64_t)lag / 1000 : 0);
    if (lag > LOAD_LATE_NS) {
        if (r->pool_empty_ns >= due_ns)
            r->st->late_conn++;
        else
            r->st->late_self++;
    }
    r->st->sent++;
    r->st->send_span_s = (double)(now_ns - r->t0) / 1e9;
    return 0;
}

/* Accounts for one finished transfer and returns its connection to the pool. */
static void load_finish(struct load_run *r, CURL *easy, CURLcode result, int64_t now_ns) {
    struct ordersctl_load_stats *st = r->st;
    struct load_slot *s = NULL;
    long status = 0;

    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    s = (struct load_slot *)(void *)priv;
    curl_multi_remove_handle(r->multi, easy);
    r->idle[r->nidle++] = (unsigned)(s - r->slots);
    st->completed++;
    if (result != CURLE_OK) {
        st->errors++;
        st->transport_errors++;
        if (st->first_error_status == 0) {
            st->first_error_status = -1;
            snprintf(st->first_error, sizeof(st->first_error), "%s",
                     s->curl_err[0] ? s->curl_err : curl_easy_strerror(result));
        }
        return;
    }
    int64_t lat = now_ns - s->due_ns;
    ordersctl_hist_record(&st->latency, lat > 0 ? (uint64_t)lat / 1000 : 0);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (s->replayed)
        st->replays++;
    if (status >= 200 && status < 300) {
        if (status == 202 && !s->replayed)
            st->accepted++;
        else if (!s->replayed)
            st->other_2xx++;
        return;
    }
    st->errors++;
    if (status >= 100 && status < 600)
        st->by_status[status]++;
    if (st->first_error_status == 0) {
        st->first_error_status = status;
        snprintf(st->first_error, sizeof(st->first_error), "%s", strbuf_str(&s->sample));
    }
}

/* Prints the progress line when it is due (about once a second). */
static void load_progress(struct load_run *r, int64_t now_ns, int final) {
    FILE *f = r->p->progress;
    if (!f || (!final && now_ns < r->next_progress_ns))
        return;
    double dt = (double)(now_ns - (r->next_progress_ns - LOAD_NS_PER_S)) / 1e9;
    double rate = dt > 0 ? (double)(r->st->completed - r->progress_completed) / dt : 0;
    if (final) {
        if (r->progress_shown)
            fputc('\n', f);
        fflush(f);
        return;
    }
    fprintf(f, "\rsent %llu  accepted %llu  errors %llu  rate %.0f/s  in flight %u",
            (unsigned long long)r->st->sent, (unsigned long long)r->st->accepted,
            (unsigned long long)r->st->errors, rate, r->p->connections - r->nidle);
    if (r->p->rate > 0) /* due but not yet sent: the schedule is slipping */
        fprintf(
            f, "  behind %llu",
            (unsigned long long)(ordersctl_load_due_count(r->t0, now_ns, r->p->rate, r->p->count) -
                                 r->st->sent));
    fputs("   ", f);
    fflush(f);
    r->progress_shown = 1;
    r->progress_completed = r->st->completed;
    r->next_progress_ns = now_ns + LOAD_NS_PER_S;
}

/* Arms the timerfd for `due_ns` (absolute, CLOCK_MONOTONIC) or disarms it. */
static void load_timer_arm(struct load_run *r, int64_t due_ns) {
    struct itimerspec its;
    if (due_ns == r->timer_due_ns)
        return;
    r->timer_due_ns = due_ns;
    memset(&its, 0, sizeof(its));
    if (due_ns > 0) {
        its.it_value.tv_sec = (time_t)(due_ns / LOAD_NS_PER_S);
        its.it_value.tv_nsec = (long)(due_ns % LOAD_NS_PER_S);
    }
    (void)timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The run proper, once everything is allocated. 0 or -1. */
static int load_loop(struct load_run *r, char *err, size_t errlen) {
    const struct ordersctl_load_params *p = r->p;
    struct ordersctl_load_stats *st = r->st;
    int64_t deadline = r->t0 + (int64_t)(p->duration_limit_s * 1e9);
    uint64_t next = 0; /* next request to start */
    int64_t now = r->t0;

    r->next_progress_ns = r->t0 + LOAD_NS_PER_S;
    while (st->completed < p->count) {
        now = load_now_ns();
        if (p->stop_on_signal && sig_stop_requested()) {
            st->interrupted = 1;
            break;
        }
        if (now >= deadline) {
            st->hit_duration_limit = 1;
            break;
        }
        int64_t next_due = 0;
        while (next < p->count) {
            if (r->nidle == 0) {
                if (p->rate > 0 && ordersctl_load_due_ns(r->t0, next, p->rate) <= now)
                    r->pool_empty_ns = now;
                break;
            }
            int64_t due = p->rate > 0 ? ordersctl_load_due_ns(r->t0, next, p->rate) : now;
            if (due > now) {
                next_due = due;
                break;
            }
            if (load_start(r, next, due, now, err, errlen) != 0)
                return -1;
            next++;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(r->multi, &running);
        if (mc != CURLM_OK) {
            snprintf(err, errlen, "curl_multi_perform: %s", curl_multi_strerror(mc));
            return -1;
        }
        int finished = 0, left = 0;
        CURLMsg *msg;
        int64_t done_at = load_now_ns();
        while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            load_finish(r, msg->easy_handle, msg->data.result, done_at);
            finished = 1;
        }
        if (finished)
            st->elapsed_s = (double)(done_at - r->t0) / 1e9;
        load_progress(r, done_at, 0);
        /* Loop at once if a connection came free and work may be waiting. */
        if (finished && next < p->count)
            continue;
        struct curl_waitfd fds[2];
        unsigned nfds = 0;
        load_timer_arm(r, next_due);
        if (next_due > 0)
            fds[nfds++] = (struct curl_waitfd){.fd = r->timer_fd, .events = CURL_WAIT_POLLIN};
        if (p->stop_on_signal && sig_wakeup_fd() >= 0)
            fds[nfds++] = (struct curl_waitfd){.fd = sig_wakeup_fd(), .events = CURL_WAIT_POLLIN};
        mc = curl_multi_poll(r->multi, fds, nfds, LOAD_POLL_MAX_MS, NULL);
        if (mc != CURLM_OK) {
            snprintf(err, errlen, "curl_multi_poll: %s", curl_multi_strerror(mc));
            return -1;
        }
        uint64_t expirations;
        if (next_due > 0 && read(r->timer_fd, &expirations, sizeof(expirations)) < 0 &&
            errno != EAGAIN) {
            snprintf(err, errlen, "timerfd read: %s", strerror(errno));
            return -1;
        }
    }
    if (st->completed < p->count) { /* stopped early: abandon what is in flight */
        st->aborted = st->sent - st->completed;
        st->elapsed_s = (double)(now - r->t0) / 1e9;
    }
    load_progress(r, load_now_ns(), 1);
    return 0;
}

int ordersctl_load_execute(const struct ordersctl_load_params *p, struct ordersctl_load_stats *st,
                           char *err, size_t errlen) {
    int rc = -1;
    struct load_run r;
    memset(&r, 0, sizeof(r));
    memset(st, 0, sizeof(*st));
    ordersctl_hist_reset(&st->latency);
    ordersctl_hist_reset(&st->send_lag);
    r.p = p;
    r.st = st;
    r.timer_fd = -1;

    if (p->count == 0 || p->connections == 0 || p->rate < 0) {
        snprintf(err, errlen, "count and connections must be positive, rate >= 0");
        return -1;
    }
    r.slots = calloc(p->connections, sizeof(*r.slots));
    r.idle = calloc(p->connections, sizeof(*r.idle));
    r.multi = curl_multi_init();
    r.signer = ordersctl_signer_create(p->secret, p->secretlen);
    if (!r.slots || !r.idle || !r.multi || !r.signer) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (ordersctl_rng_seed(&r.rng) != 0) {
        snprintf(err, errlen, "random generator failed");
        goto cleanup;
    }
    r.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r.timer_fd < 0) {
        snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
        goto cleanup;
    }
    long c = (long)p->connections;
    if (curl_multi_setopt(r.multi, CURLMOPT_MAX_HOST_CONNECTIONS, c) != CURLM_OK ||
        curl_multi_setopt(r.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c) != CURLM_OK ||
        curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, c) != CURLM_OK ||
        curl_multi_setopt(r.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_setopt failed");
        goto cleanup;
    }
    for (unsigned i = 0; i < p->connections; i++) {
        if (load_slot_init(&r, &r.slots[i], err, errlen) != 0)
            goto cleanup;
        r.idle[r.nidle++] = p->connections - 1 - i; /* slot 0 is used first */
    }
    r.t0 = load_now_ns();
    rc = load_loop(&r, err, errlen);
cleanup:
    for (unsigned i = 0; r.slots && i < p->connections; i++) {
        if (r.slots[i].easy && r.multi)
            curl_multi_remove_handle(r.multi, r.slots[i].easy); /* no-op when idle */
        load_slot_release(&r.slots[i]);
    }
    if (r.multi)
        curl_multi_cleanup(r.multi);
    if (r.timer_fd >= 0)
        close(r.timer_fd);
    ordersctl_signer_destroy(r.signer);
    free(r.idle);
    free(r.slots);
    return rc;
}
