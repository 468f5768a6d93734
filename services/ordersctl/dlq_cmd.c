/* dlq_cmd: `ordersctl dlq list|redrive` against Kafka (see dlq_cmd.h). */
#include "dlq_cmd.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cfg.h"
#include "dlq.h"
#include "dlq_rewrite.h"
#include "strbuf.h"

#define DC_POLL_MS 200
#define DC_LINE_MAX (64 * 1024)
#define DC_LINES_MAX (1024 * 1024)

/* Reads one DLQ topic from given start offsets up to the end offsets seen
 * when it was opened. */
struct dc_reader {
    rd_kafka_t *rk;
    const char *topic;
    int nparts;
    int64_t *committed; /* the group's offsets; < 0: none */
    int64_t *next;      /* next offset wanted; done when >= end */
    int64_t *end;
};

static void dc_reader_close(struct dc_reader *r) {
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    free(r->committed);
    free(r->next);
    free(r->end);
    memset(r, 0, sizeof *r);
}

static int dc_partition_count(rd_kafka_t *rk, const char *topic, FILE *errout) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, ORDERSCTL_DLQ_TIMEOUT_MS) : rd_kafka_last_error();
    int n = -1;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(errout, "ordersctl dlq: metadata of %s: %s\n", topic, rd_kafka_err2str(e));
    else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(errout, "ordersctl dlq: topic %s: %s\n", topic,
                rd_kafka_err2str(md->topic_cnt == 1 ? md->topics[0].err
                                                    : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    else if (md->topics[0].partition_cnt < 1)
        fprintf(errout, "ordersctl dlq: topic %s has no partitions\n", topic);
    else
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return n;
}

/* Opens the reader as group `group`; from_committed: start at the group's
 * offsets (redrive), else at the beginning (list). Returns 0, or -1 after
 * printing why (the reader is then closed). */
static int dc_reader_open(struct dc_reader *r, const struct kafka_settings *s, const char *topic,
                          const char *group, int from_committed, FILE *errout) {
    memset(r, 0, sizeof *r);
    r->topic = topic;
    char err[512];
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_conf_t *conf = kafka_conf_consumer(s, group, err, sizeof err);
    if (!conf)
        goto fail_msg;
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!r->rk) {
        rd_kafka_conf_destroy(conf);
        goto fail_msg;
    }
    conf = NULL; /* owned by r->rk */
    rd_kafka_poll_set_consumer(r->rk);
    if ((r->nparts = dc_partition_count(r->rk, topic, errout)) < 0)
        goto fail;
    r->committed = calloc((size_t)r->nparts, sizeof *r->committed);
    r->next = calloc((size_t)r->nparts, sizeof *r->next);
    r->end = calloc((size_t)r->nparts, sizeof *r->end);
    parts = rd_kafka_topic_partition_list_new(r->nparts);
    if (!r->committed || !r->next || !r->end || !parts) {
        snprintf(err, sizeof err, "out of memory");
        goto fail_msg;
    }
    for (int p = 0; p < r->nparts; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(r->rk, parts, ORDERSCTL_DLQ_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, sizeof err, "committed offsets of group %s: %s", group, rd_kafka_err2str(e));
        goto fail_msg;
    }
    for (int p = 0; p < r->nparts; p++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[p];
        if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, sizeof err, "committed offset of %s [%d]: %s", topic, p,
                     rd_kafka_err2str(tp->err));
            goto fail_msg;
        }
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(r->rk, topic, p, &lo, &hi, ORDERSCTL_DLQ_TIMEOUT_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, sizeof err, "end offsets of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
            goto fail_msg;
        }
        r->committed[p] = tp->offset;
        r->end[p] = hi;
        r->next[p] = from_committed && tp->offset > lo ? tp->offset : lo;
        tp->offset = r->next[p];
    }
    e = rd_kafka_assign(r->rk, parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, sizeof err, "assign %s: %s", topic, rd_kafka_err2str(e));
        goto fail_msg;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return 0;
fail_msg:
    fprintf(errout, "ordersctl dlq: %s\n", err);
fail:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    dc_reader_close(r);
    return -1;
}

static int dc_reader_done(const struct dc_reader *r) {
    for (int p = 0; p < r->nparts; p++)
        if (r->next[p] < r->end[p])
            return 0;
    return 1;
}

/* Positions also move past records the consumer never returns (transaction
 * markers): without this a partition ending in one would never be done. */
static void dc_reader_sync_positions(struct dc_reader *r) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(r->nparts);
    if (!parts)
        return;
    for (int p = 0; p < r->nparts; p++)
        rd_kafka_topic_partition_list_add(parts, r->topic, p);
    if (rd_kafka_position(r->rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int p = 0; p < r->nparts; p++)
            if (parts->elems[p].offset > r->next[p])
                r->next[p] = parts->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(parts);
}

/* The next dead letter before the end offsets: 1 with *out (destroy it), 0
 * when every partition is done, -1 after printing an error or timeout. */
static int dc_reader_next(struct dc_reader *r, rd_kafka_message_t **out, FILE *errout) {
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!dc_reader_done(r)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, DC_POLL_MS);
        if (!m) {
            dc_reader_sync_positions(r);
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
                ORDERSCTL_DLQ_TIMEOUT_MS) {
                fprintf(errout, "ordersctl dlq: no record from %s for %d ms\n", r->topic,
                        ORDERSCTL_DLQ_TIMEOUT_MS);
                return -1;
            }
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(errout, "ordersctl dlq: reading %s: %s\n", r->topic,
                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return -1;
        }
        int p = m->partition;
        if (p < 0 || p >= r->nparts || m->offset >= r->end[p] || m->offset < r->next[p]) {
            rd_kafka_message_destroy(m); /* newer than the snapshot: not ours */
            continue;
        }
        r->next[p] = m->offset + 1;
        *out = m;
        return 1;
    }
    return 0;
}

static const rd_kafka_headers_t *dc_headers(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR ? h : NULL;
}

static int dc_list(const struct ordersctl_dlq_opts *o, const struct ordersctl_dlq_names *n,
                   const struct kafka_settings *s, FILE *out, FILE *errout) {
    struct dc_reader r;
    if (dc_reader_open(&r, s, n->dlq, n->group, 0, errout) != 0)
        return ORDERSCTL_EXIT_FAIL;
    unsigned long listed = 0, pending = 0;
    int rc = ORDERSCTL_EXIT_OK, got;
    rd_kafka_message_t *m;
    struct strbuf line;
    strbuf_init(&line, DC_LINE_MAX);
    while ((o->max == 0 || listed < o->max) && (got = dc_reader_next(&r, &m, errout)) != 0) {
        if (got < 0) {
            rc = ORDERSCTL_EXIT_FAIL;
            break;
        }
        struct ordersctl_dlq_entry e;
        ordersctl_dlq_entry_read(dc_headers(m), &e);
        int64_t c = r.committed[m->partition];
        int redriven = c >= 0 && m->offset < c;
        strbuf_reset(&line);
        line.overflow = 0;
        if (ordersctl_dlq_entry_format(m->partition, m->offset, m->key, m->key_len, &e, redriven,
                                       &line) != 0)
            fprintf(out, "partition=%" PRId32 " offset=%" PRId64 " (too long to show)\n",
                    m->partition, m->offset);
        else
            fprintf(out, "%s\n", strbuf_str(&line));
        listed++;
        pending += !redriven;
        rd_kafka_message_destroy(m);
    }
    strbuf_release(&line);
    dc_reader_close(&r);
    fprintf(out, "listed %lu dead letter(s) of %s: %lu pending, %lu redriven\n", listed, n->dlq,
            pending, listed - pending);
    return rc;
}

/* Prints a transaction error; aborts the transaction when it must be. */
static void dc_txn_fail(rd_kafka_t *p, rd_kafka_error_t *error, const char *what, FILE *errout) {
    fprintf(errout, "ordersctl dlq: %s: %s\n", what, rd_kafka_error_string(error));
    if (rd_kafka_error_txn_requires_abort(error)) {
        rd_kafka_error_t *a = rd_kafka_abort_transaction(p, ORDERSCTL_DLQ_TIMEOUT_MS);
        if (a)
            rd_kafka_error_destroy(a);
    }
    rd_kafka_error_destroy(error);
}

/* Produces the redriven copy of dead letter `m` to n->source. Returns 0, or
 * -1 after printing why (a record that cannot be redriven). */
static int dc_redrive_one(rd_kafka_t *p, const struct ordersctl_dlq_names *n,
                          const rd_kafka_message_t *m, FILE *errout) {
    const rd_kafka_headers_t *dh = dc_headers(m);
    char src[ORDERSCTL_DLQ_TOPIC_MAX + 1], err[256];
    if (dlq_header_get_hdrs(dh, "dlq_source_topic", src, sizeof src) != 0 ||
        strcmp(src, n->source) != 0) {
        fprintf(errout,
                "ordersctl dlq: %s [%" PRId32 "] offset %" PRId64
                ": dlq_source_topic is missing or not %s; redrive stops before it\n",
                n->dlq, m->partition, m->offset, n->source);
        return -1;
    }
    rd_kafka_headers_t *h = ordersctl_dlq_redrive_headers(dh, err, sizeof err);
    if (!h) {
        fprintf(errout, "ordersctl dlq: %s [%" PRId32 "] offset %" PRId64 ": %s\n", n->dlq,
                m->partition, m->offset, err);
        return -1;
    }
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(n->source), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h);
        fprintf(errout, "ordersctl dlq: produce to %s: %s\n", n->source, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* One transaction: up to ORDERSCTL_DLQ_TXN_MAX records (and *left when
 * --max is set) plus the group's offsets. Returns the number redriven, or
 * -1 after an error (nothing of this batch is then visible). *finished is
 * set when the reader is done or a record stopped the redrive (*bad). */
static long dc_redrive_batch(rd_kafka_t *p, struct dc_reader *r,
                             const struct ordersctl_dlq_names *n, unsigned long limit,
                             int *finished, int *bad, FILE *out, FILE *errout) {
    rd_kafka_error_t *error = rd_kafka_begin_transaction(p);
    if (error) {
        dc_txn_fail(p, error, "begin transaction", errout);
        return -1;
    }
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(r->nparts);
    long count = 0;
    rd_kafka_message_t *m;
    /* What was redriven is printed only once it is committed. */
    struct strbuf lines;
    strbuf_init(&lines, DC_LINES_MAX);
    while ((unsigned long)count < limit) {
        int got = dc_reader_next(r, &m, errout);
        if (got <= 0) {
            *finished = 1;
            if (got < 0)
                goto abort;
            break;
        }
        int rc = dc_redrive_one(p, n, m, errout);
        if (rc == 0) {
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_find(offsets, n->dlq, m->partition);
            if (!tp)
                tp = rd_kafka_topic_partition_list_add(offsets, n->dlq, m->partition);
            tp->offset = m->offset + 1;
            count++;
            strbuf_printf(&lines,
                          "redriven partition=%" PRId32 " offset=%" PRId64 " key=", m->partition,
                          m->offset);
            if (m->key) {
                strbuf_putc(&lines, '"');
                strbuf_json_escape(&lines, m->key, m->key_len);
                strbuf_puts(&lines, "\"\n");
            } else {
                strbuf_puts(&lines, "null\n");
            }
        }
        rd_kafka_message_destroy(m);
        if (rc != 0) {
            *finished = *bad = 1;
            break; /* commit what came before it */
        }
    }
    if (count > 0) {
        rd_kafka_consumer_group_metadata_t *cg = rd_kafka_consumer_group_metadata(r->rk);
        error = rd_kafka_send_offsets_to_transaction(p, offsets, cg, ORDERSCTL_DLQ_TIMEOUT_MS);
        rd_kafka_consumer_group_metadata_destroy(cg);
        if (error) {
            dc_txn_fail(p, error, "send offsets to transaction", errout);
            goto abort_done;
        }
    }
    error = rd_kafka_commit_transaction(p, ORDERSCTL_DLQ_TIMEOUT_MS);
    if (error) {
        dc_txn_fail(p, error, "commit transaction", errout);
        goto abort_done;
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    fputs(strbuf_str(&lines), out);
    if (lines.overflow)
        fprintf(out, "(more redriven records of this batch not shown)\n");
    strbuf_release(&lines);
    return count;
abort:
    error = rd_kafka_abort_transaction(p, ORDERSCTL_DLQ_TIMEOUT_MS);
    if (error)
        rd_kafka_error_destroy(error);
abort_done:
    rd_kafka_topic_partition_list_destroy(offsets);
    strbuf_release(&lines);
    return -1;
}

static int dc_redrive(const struct ordersctl_dlq_opts *o, const struct ordersctl_dlq_names *n,
                      const struct kafka_settings *s, FILE *out, FILE *errout) {
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(s, n->transactional_id, err, sizeof err);
    rd_kafka_t *p = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err) : NULL;
    if (!p) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        fprintf(errout, "ordersctl dlq: producer: %s\n", err);
        return ORDERSCTL_EXIT_FAIL;
    }
    /* Also fences any earlier redrive of this subscription still running. */
    rd_kafka_error_t *error = rd_kafka_init_transactions(p, ORDERSCTL_DLQ_TIMEOUT_MS);
    if (error) {
        fprintf(errout, "ordersctl dlq: init transactions as %s: %s\n", n->transactional_id,
                rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        rd_kafka_destroy(p);
        return ORDERSCTL_EXIT_FAIL;
    }
    struct dc_reader r;
    if (dc_reader_open(&r, s, n->dlq, n->group, 1, errout) != 0) {
        rd_kafka_destroy(p);
        return ORDERSCTL_EXIT_FAIL;
    }
    unsigned long total = 0;
    int finished = 0, bad = 0, rc = ORDERSCTL_EXIT_OK;
    while (!finished && (o->max == 0 || total < o->max)) {
        unsigned long limit = ORDERSCTL_DLQ_TXN_MAX;
        if (o->max && o->max - total < limit)
            limit = o->max - total;
        long got = dc_redrive_batch(p, &r, n, limit, &finished, &bad, out, errout);
        if (got < 0) {
            rc = ORDERSCTL_EXIT_FAIL;
            break;
        }
        total += (unsigned long)got;
    }
    if (bad)
        rc = ORDERSCTL_EXIT_FAIL;
    dc_reader_close(&r);
    rd_kafka_destroy(p);
    fprintf(out, "redriven %lu dead letter(s) from %s to %s\n", total, n->dlq, n->source);
    return rc;
}

int ordersctl_dlq_run(const struct ordersctl_dlq_opts *o, const struct kafka_settings *s, FILE *out,
                      FILE *errout) {
    struct ordersctl_dlq_names n;
    char err[256];
    if (ordersctl_dlq_names(o, &n, err, sizeof err) != 0) {
        fprintf(errout, "ordersctl dlq: %s\n", err);
        return ORDERSCTL_EXIT_USAGE;
    }
    return o->action == ORDERSCTL_DLQ_REDRIVE ? dc_redrive(o, &n, s, out, errout)
                                              : dc_list(o, &n, s, out, errout);
}

int ordersctl_dlq_main(int argc, char **argv) {
    struct ordersctl_dlq_opts o;
    char err[512];
    if (ordersctl_dlq_args_parse(argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "ordersctl dlq: %s\nTry 'ordersctl dlq --help'.\n", err);
        return ORDERSCTL_EXIT_USAGE;
    }
    if (o.help) {
        ordersctl_dlq_usage(stdout);
        return ORDERSCTL_EXIT_OK;
    }
    struct {
        char *bootstrap, *protocol, *mechanism, *username, *password, *ca_file;
    } c = {0};
    const struct cfg_var vars[] = {
        {.name = "KAFKA_BOOTSTRAP",
         .type = CFG_STRING,
         .dest = &c.bootstrap,
         .flags = CFG_REQUIRED,
         .help = "Kafka bootstrap servers host:port[,...]"},
        {.name = "KAFKA_SECURITY_PROTOCOL",
         .type = CFG_STRING,
         .def = "SASL_PLAINTEXT",
         .dest = &c.protocol,
         .help = "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
        {.name = "KAFKA_SASL_MECHANISM",
         .type = CFG_STRING,
         .def = "SCRAM-SHA-256",
         .dest = &c.mechanism,
         .help = "SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN"},
        {.name = "KAFKA_USERNAME",
         .type = CFG_STRING,
         .dest = &c.username,
         .help = "SASL user (the publisher principal)"},
        {.name = "KAFKA_PASSWORD",
         .type = CFG_STRING,
         .dest = &c.password,
         .flags = CFG_SECRET,
         .help = "SASL password (use KAFKA_PASSWORD_FILE)"},
        {.name = "KAFKA_CA_FILE",
         .type = CFG_STRING,
         .dest = &c.ca_file,
         .help = "PEM CA bundle for SSL / SASL_SSL"},
    };
    size_t nvars = sizeof vars / sizeof vars[0];
    if (cfg_load(vars, nvars, err, sizeof err) != 0) {
        fprintf(stderr, "ordersctl dlq: config error: %s\n", err);
        return ORDERSCTL_EXIT_USAGE;
    }
    struct kafka_settings s = {
        .bootstrap = c.bootstrap,
        .security_protocol = c.protocol,
        .sasl_mechanism = c.mechanism,
        .username = c.username,
        .password = c.password,
        .ca_file = c.ca_file,
        .client_id = "ordersctl-dlq",
    };
    int rc = ordersctl_dlq_run(&o, &s, stdout, stderr);
    cfg_free(vars, nvars);
    return rc;
}
