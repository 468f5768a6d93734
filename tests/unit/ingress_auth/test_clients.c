/* Unit tests for ingress-auth clients: strict registry files, lookup, change detection, holder
 * swaps. */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../../services/ingress-auth/clients.h"

static char ct_dir[64];

static void ct_setup(void) {
    snprintf(ct_dir, sizeof(ct_dir), "/tmp/ingress_clients_XXXXXX");
    cr_assert_not_null(mkdtemp(ct_dir));
}

/* Removes what the tests may have created in ct_dir, then ct_dir. */
static void ct_teardown(void) {
    static const char *const names[] = {
        "clients.json", "tmp.json",   "v1/clients.json", "v2/clients.json",
        "..data",       "..data_tmp", "big.json",        "v1",
        "v2",           "sub"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", ct_dir, names[i]);
        if (unlink(path) != 0 && errno == EISDIR)
            rmdir(path);
        rmdir(path);
    }
    rmdir(ct_dir);
}

TestSuite(ingress_clients, .init = ct_setup, .fini = ct_teardown);

static void ct_write(const char *name, const char *text, size_t len) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", ct_dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static const char ct_good[] =
    "{\"_comment\":\"FAKE\",\n"
    " \"demo\":{\"secrets\":[\"s1\",\"s2\\u00e9\"],\"rate_per_second\":0.5,\"burst\":3,"
    "\"_note\":\"rotating\"},\n"
    " \"a.b_c-9\":{\"burst\":1,\"rate_per_second\":100000,\"secrets\":[\"x\"]}}\n";

Test(ingress_clients, parse_and_lookup) {
    char err[256] = "";
    struct ingress_clients *c = ingress_clients_parse(ct_good, strlen(ct_good), err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    cr_expect_eq(ingress_clients_count(c), 2);
    cr_expect_str_eq(ingress_clients_at(c, 0)->id, "a.b_c-9"); /* id order */
    cr_expect_null(ingress_clients_at(c, 2));
    const struct ingress_client *d = ingress_clients_find(c, "demo");
    cr_assert_not_null(d);
    cr_expect_eq(d->nsecrets, 2);
    cr_expect_eq(d->secrets[0].len, 2);
    cr_expect_eq(memcmp(d->secrets[0].data, "s1", 2), 0);
    cr_expect_eq(d->secrets[1].len, 4);
    cr_expect_eq(memcmp(d->secrets[1].data, "s2\xC3\xA9", 4), 0);
    cr_expect_eq(d->rate_per_second, 0.5);
    cr_expect_eq(d->burst, 3);
    cr_expect_null(ingress_clients_find(c, "Demo"));
    cr_expect_null(ingress_clients_find(c, "_comment"));
    cr_expect_null(ingress_clients_find(c, NULL));
    cr_expect_null(ingress_clients_find(NULL, "demo"));
    ingress_clients_free(c);
}

Test(ingress_clients, client_id_syntax) {
    cr_expect(ingress_client_id_valid("a"));
    cr_expect(ingress_client_id_valid("A-z.0_9"));
    cr_expect(ingress_client_id_valid(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    cr_expect(!ingress_client_id_valid(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    cr_expect(!ingress_client_id_valid(""));
    cr_expect(!ingress_client_id_valid(NULL));
    cr_expect(!ingress_client_id_valid("a b"));
    cr_expect(!ingress_client_id_valid("a/b"));
    cr_expect(!ingress_client_id_valid("\xC3\xA9"));
}

struct ct_bad {
    const char *json;
    const char *want; /* a substring of the message */
};

/* Every bad file holds the secret TOPSECRET: no message may show it. */
#define CT_E(body)                                                                                 \
    "{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":1" body "}}"
static const struct ct_bad ct_bad_files[] = {
    {"", "clients: the file is empty"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],}}", "invalid JSON at line 1, column 34"},
    {"{\"demo\":{\"secrets\":[\"TOP\x01SECRET\"]}}", "control character"},
    {CT_E("") " x", "invalid JSON"},
    {"[]", "the top level must be an object of clients"},
    {"{}", "no clients defined"},
    {"{\"_comment\":\"only\"}", "no clients defined"},
    {"{\"bad id\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":1}}",
     "client id \"bad id\" is not 1 to 64 of [A-Za-z0-9._-]"},
    {"{\"demo\":[\"TOPSECRET\"]}", "client \"demo\" must be an object"},
    {CT_E(",\"colour\":1"), "member \"colour\" is unknown"},
    {CT_E(",\"burst\":2"), "member \"burst\" is given twice"},
    {"{\"demo\":{\"rate_per_second\":1,\"burst\":1}}", "\"secrets\" is required"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"burst\":1}}", "\"rate_per_second\" is required"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1}}", "\"burst\" is required"},
    {"{\"demo\":{\"secrets\":[],\"rate_per_second\":1,\"burst\":1}}",
     "secrets must be an array of 1 to 8 strings"},
    {"{\"demo\":{\"secrets\":\"TOPSECRET\",\"rate_per_second\":1,\"burst\":1}}",
     "secrets must be an array"},
    {"{\"demo\":{\"secrets\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"TOPSECRET\"],"
     "\"rate_per_second\":1,\"burst\":1}}",
     "secrets must be an array of 1 to 8 strings"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\",\"\"],\"rate_per_second\":1,\"burst\":1}}",
     "client \"demo\": secrets[1] must be a non-empty string of at most 1024 bytes"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\",7],\"rate_per_second\":1,\"burst\":1}}",
     "secrets[1] must be a non-empty string"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\\u0000\"],\"rate_per_second\":1,\"burst\":1}}",
     "\\u0000 is not allowed"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":0,\"burst\":1}}",
     "rate_per_second must be a number above 0 and at most 1e9"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":-1,\"burst\":1}}",
     "rate_per_second must be"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":\"10\",\"burst\":1}}",
     "rate_per_second must be"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1e10,\"burst\":1}}",
     "rate_per_second must be"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":0}}",
     "burst must be an integer from 1 to 1000000000"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":1.5}}",
     "burst must be an integer"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":2000000000}}",
     "burst must be an integer"},
    {"{\"demo\":{\"secrets\":[\"TOPSECRET\"],\"rate_per_second\":1,\"burst\":1},"
     "\"demo\":{\"secrets\":[\"TOPSECRET2\"],\"rate_per_second\":1,\"burst\":1}}",
     "client id \"demo\" appears twice"},
};

Test(ingress_clients, bad_files_are_refused_without_secrets) {
    char secret[1100];
    memset(secret, 'S', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    for (size_t i = 0; i < sizeof(ct_bad_files) / sizeof(ct_bad_files[0]); i++) {
        const struct ct_bad *b = &ct_bad_files[i];
        char err[512] = "";
        struct ingress_clients *c =
            ingress_clients_parse(b->json, strlen(b->json), err, sizeof(err));
        cr_expect_null(c, "[%zu] accepted: %s", i, b->json);
        ingress_clients_free(c);
        cr_expect_not_null(strstr(err, b->want), "[%zu] message '%s', want '%s'", i, err, b->want);
        cr_expect_null(strstr(err, "TOPSECRET"), "[%zu] secret in message: %s", i, err);
    }
    /* a 1025-byte secret */
    char json[1400];
    snprintf(json, sizeof(json),
             "{\"demo\":{\"secrets\":[\"%.1025s\"],\"rate_per_second\":1,\"burst\":1}}", secret);
    char err[512];
    cr_expect_null(ingress_clients_parse(json, strlen(json), err, sizeof(err)));
    cr_expect_not_null(strstr(err, "at most 1024 bytes"), "%s", err);
    cr_expect_null(strstr(err, "SSSS"), "%s", err);
    snprintf(json, sizeof(json),
             "{\"demo\":{\"secrets\":[\"%.1024s\"],\"rate_per_second\":1,\"burst\":1}}", secret);
    struct ingress_clients *c = ingress_clients_parse(json, strlen(json), err, sizeof(err));
    cr_expect_not_null(c, "1024-byte secret: %s", err);
    ingress_clients_free(c);
}

Test(ingress_clients, load_from_file) {
    char path[256], err[512];
    ct_write("clients.json", ct_good, strlen(ct_good));
    snprintf(path, sizeof(path), "%s/clients.json", ct_dir);
    struct ingress_clients *c = ingress_clients_load(path, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(ingress_clients_source(c)->ino, st.st_ino);
    cr_expect_eq(ingress_clients_source(c)->size, st.st_size);
    cr_expect_not_null(ingress_clients_find(c, "demo"));
    ingress_clients_free(c);

    /* errors name the file */
    ct_write("clients.json", "{\"x\":1}", 7);
    cr_expect_null(ingress_clients_load(path, err, sizeof(err)));
    cr_expect_not_null(strstr(err, path), "%s", err);
    cr_expect_not_null(strstr(err, "client \"x\" must be an object"), "%s", err);

    snprintf(path, sizeof(path), "%s/missing.json", ct_dir);
    cr_expect_null(ingress_clients_load(path, err, sizeof(err)));
    cr_expect_not_null(strstr(err, "cannot open: No such file or directory"), "%s", err);

    snprintf(path, sizeof(path), "%s/sub", ct_dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_expect_null(ingress_clients_load(path, err, sizeof(err)));
    cr_expect_not_null(strstr(err, "not a regular file"), "%s", err);

    size_t big = INGRESS_CLIENTS_FILE_MAX + 1;
    char *buf = calloc(1, big);
    cr_assert_not_null(buf);
    memset(buf, ' ', big);
    ct_write("big.json", buf, big);
    free(buf);
    snprintf(path, sizeof(path), "%s/big.json", ct_dir);
    cr_expect_null(ingress_clients_load(path, err, sizeof(err)));
    cr_expect_not_null(strstr(err, "larger than 4 MiB"), "%s", err);
}

/* The repository's development file is valid. */
Test(ingress_clients, dev_clients_file_loads) {
    char err[512], exe[4096], path[4200];
    const char *rel = "scripts/dev/clients.json";
    if (access(rel, R_OK) == 0) {
        snprintf(path, sizeof(path), "%s", rel);
    } else { /* <root>/build*\/tests/unit_tests */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        cr_assert_gt(n, 0);
        exe[n] = '\0';
        for (int up = 0; up < 3; up++)
            *strrchr(exe, '/') = '\0';
        snprintf(path, sizeof(path), "%s/%s", exe, rel);
    }
    struct ingress_clients *c = ingress_clients_load(path, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    const struct ingress_client *d = ingress_clients_find(c, "demo");
    cr_assert_not_null(d);
    cr_expect_eq(d->rate_per_second, 100);
    cr_expect_eq(d->burst, 200);
    ingress_clients_free(c);
}

Test(ingress_clients, file_change_detection) {
    char path[256], err[512];
    struct ingress_clients_file_id seen;
    ct_write("clients.json", ct_good, strlen(ct_good));
    snprintf(path, sizeof(path), "%s/clients.json", ct_dir);
    struct ingress_clients *c = ingress_clients_load(path, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    seen = *ingress_clients_source(c);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 0);

    /* replaced by rename: new inode */
    ct_write("tmp.json", ct_good, strlen(ct_good));
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s/tmp.json", ct_dir);
    cr_assert_eq(rename(tmp, path), 0);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 1);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 0);

    /* rewritten in place with another size */
    ct_write("clients.json", ct_good, strlen(ct_good) - 1);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 1);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 0);

    /* gone: -1 and seen untouched */
    struct ingress_clients_file_id before = seen;
    cr_assert_eq(unlink(path), 0);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), -1);
    cr_expect_eq(memcmp(&before, &seen, sizeof(seen)), 0);
    ingress_clients_free(c);
}

/* Kubernetes mounts a Secret as <dir>/clients.json -> ..data/clients.json,
 * ..data -> <timestamped dir>, and updates it by swapping ..data. */
Test(ingress_clients, kubernetes_symlink_swap) {
    char p[256], q[256], path[256], err[512];
    snprintf(p, sizeof(p), "%s/v1", ct_dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/v2", ct_dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    ct_write("v1/clients.json", ct_good, strlen(ct_good));
    ct_write("v2/clients.json", ct_good, strlen(ct_good)); /* same bytes, new file */
    snprintf(p, sizeof(p), "%s/..data", ct_dir);
    cr_assert_eq(symlink("v1", p), 0);
    snprintf(path, sizeof(path), "%s/clients.json", ct_dir);
    cr_assert_eq(symlink("..data/clients.json", path), 0);

    struct ingress_clients *c = ingress_clients_load(path, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    struct ingress_clients_file_id seen = *ingress_clients_source(c);
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 0);

    snprintf(q, sizeof(q), "%s/..data_tmp", ct_dir);
    cr_assert_eq(symlink("v2", q), 0);
    cr_assert_eq(rename(q, p), 0); /* atomic swap of ..data */
    cr_expect_eq(ingress_clients_file_changed(path, &seen), 1);
    struct ingress_clients *next = ingress_clients_load(path, err, sizeof(err));
    cr_assert_not_null(next, "%s", err);
    cr_expect_eq(memcmp(ingress_clients_source(next), &seen, sizeof(seen)), 0);
    ingress_clients_free(next);
    ingress_clients_free(c);
}

Test(ingress_clients, holder_swap_keeps_readers_alive) {
    char err[256];
    struct ingress_clients *a = ingress_clients_parse(ct_good, strlen(ct_good), err, sizeof(err));
    const char *other = "{\"other\":{\"secrets\":[\"o\"],\"rate_per_second\":1,\"burst\":1}}";
    struct ingress_clients *b = ingress_clients_parse(other, strlen(other), err, sizeof(err));
    cr_assert(a && b);
    struct ingress_clients_holder *h = ingress_clients_holder_create(a);
    cr_assert_not_null(h);
    const struct ingress_clients *r1 = ingress_clients_holder_acquire(h);
    cr_expect_eq(r1, a);
    ingress_clients_holder_swap(h, b);
    /* r1 still usable after the swap (ASan would flag a use after free) */
    cr_expect_not_null(ingress_clients_find(r1, "demo"));
    const struct ingress_clients *r2 = ingress_clients_holder_acquire(h);
    cr_expect_eq(r2, b);
    cr_expect_not_null(ingress_clients_find(r2, "other"));
    ingress_clients_holder_release(r1); /* frees a */
    ingress_clients_holder_destroy(h);  /* b lives on for r2 */
    cr_expect_not_null(ingress_clients_find(r2, "other"));
    ingress_clients_holder_release(r2); /* frees b */
    cr_expect_null(ingress_clients_holder_create(NULL));
}

struct ct_reader {
    struct ingress_clients_holder *h;
    atomic_int *stop;
    atomic_long *lookups;
};

static void *ct_reader_main(void *arg) {
    struct ct_reader *r = arg;
    while (!atomic_load(r->stop)) {
        const struct ingress_clients *c = ingress_clients_holder_acquire(r->h);
        const struct ingress_client *d = ingress_clients_find(c, "demo");
        if (d && d->secrets[0].data[0] == 's')
            atomic_fetch_add(r->lookups, 1);
        ingress_clients_holder_release(c);
    }
    return NULL;
}

/* Readers look up while the registry is swapped under them; ASan flags any
 * registry freed too early, LeakSanitizer any never freed. */
Test(ingress_clients, holder_concurrent_swaps) {
    char err[256];
    atomic_int stop = 0;
    atomic_long lookups = 0;
    struct ingress_clients *first = ingress_clients_parse(ct_good, strlen(ct_good), err, 256);
    struct ingress_clients_holder *h = ingress_clients_holder_create(first);
    cr_assert_not_null(h);
    pthread_t t[4];
    struct ct_reader r = {h, &stop, &lookups};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, ct_reader_main, &r), 0);
    time_t deadline = time(NULL) + 10;
    for (long swaps = 0; swaps < 500 || (atomic_load(&lookups) < 20000 && time(NULL) < deadline);
         swaps++) {
        struct ingress_clients *next = ingress_clients_parse(ct_good, strlen(ct_good), err, 256);
        cr_assert_not_null(next);
        ingress_clients_holder_swap(h, next);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_expect_geq(atomic_load(&lookups), 20000);
    ingress_clients_holder_destroy(h);
}
