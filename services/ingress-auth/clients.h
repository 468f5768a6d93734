/* clients: the API client registry (id -> secrets, rate limit) from a JSON file, with hot reload.
 *
 * File format (scripts/dev/clients.json; in Kubernetes a mounted Secret):
 *   { "<client_id>": { "secrets": ["..", ".."], "rate_per_second": N, "burst": N },
 *     "_comment": "..." }
 * Members whose name starts with "_" are comments, at the top level and inside
 * a client entry; any other unknown member is an error. A client id is 1-64
 * of [A-Za-z0-9._-] and appears once; a client has 1-8 secrets (several while
 * one is rotated), each 1-1024 bytes used as issued (not hex-decoded);
 * rate_per_second is a number in (0, 1e9] (fractions allowed: 0.5 is one
 * request every 2 s); burst is an integer in [1, 1e9]. The file must be
 * strict JSON (see jsonscan.h) and define at least one client.
 *
 * Secrets are never copied into an error message, and every copy this module
 * makes (file buffer, parse tree, registry) is wiped before it is freed.
 *
 * Reload: a server keeps the registry in an ingress_clients_holder. A request
 * acquires the current registry and releases it when done; a reload swaps a
 * new one in, and the old one is freed when its last reader releases it.
 *   poll loop:  if (ingress_clients_file_changed(path, &seen) == 1) {
 *                   next = ingress_clients_load(path, err, sizeof(err));
 *                   if (next) { seen = *ingress_clients_source(next);
 *                               ingress_clients_holder_swap(holder, next); }
 *                   else log the error and keep serving the old registry;
 *               }
 * `seen` starts as *ingress_clients_source(initial registry). A file that
 * fails to load is not retried until it changes again. */
#ifndef INGRESS_CLIENTS_H
#define INGRESS_CLIENTS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define INGRESS_CLIENT_ID_MAX 64
#define INGRESS_CLIENT_SECRETS_MAX 8
#define INGRESS_CLIENT_SECRET_MAX 1024 /* bytes */
#define INGRESS_CLIENTS_FILE_MAX (4 * 1024 * 1024)

struct ingress_secret {
    const unsigned char *data; /* not NUL-terminated in meaning: use len */
    size_t len;
};

/* One client, read-only for callers; lives as long as its registry. */
struct ingress_client {
    char id[INGRESS_CLIENT_ID_MAX + 1];
    size_t nsecrets; /* 1..INGRESS_CLIENT_SECRETS_MAX */
    struct ingress_secret secrets[INGRESS_CLIENT_SECRETS_MAX];
    double rate_per_second;
    long burst;
};

/* Identity of the file a registry came from: changes when the file is
 * replaced (new inode, as a Kubernetes ..data symlink swap does) or written. */
struct ingress_clients_file_id {
    dev_t dev;
    ino_t ino;
    struct timespec mtim;
    off_t size;
};

/* An immutable registry (opaque). */
struct ingress_clients;

/* A holder of the current registry, safe to share between threads (opaque). */
struct ingress_clients_holder;

/* 1 if `id` is 1-64 characters of [A-Za-z0-9._-], else 0. NULL gives 0. */
int ingress_client_id_valid(const char *id);

/* Reads and validates the registry file at `path` (symlinks followed).
 * Returns a new registry (free with ingress_clients_free, or hand it to a
 * holder), or NULL with a message in err naming the file and the problem,
 * never a secret. */
struct ingress_clients *ingress_clients_load(const char *path, char *err, size_t errlen);

/* Same as ingress_clients_load, from `len` bytes in memory (tests, fuzzing).
 * ingress_clients_source of the result is all zeros. */
struct ingress_clients *ingress_clients_parse(const char *json, size_t len, char *err,
                                              size_t errlen);

/* Wipes the secrets and frees a registry that is not in a holder. NULL is a
 * no-op. */
void ingress_clients_free(struct ingress_clients *clients);

/* The client with this id, or NULL (also for NULL arguments). The result
 * lives as long as the registry. O(log n). */
const struct ingress_client *ingress_clients_find(const struct ingress_clients *clients,
                                                  const char *id);

/* Number of clients; the i-th in id order (NULL if i is out of range). */
size_t ingress_clients_count(const struct ingress_clients *clients);
const struct ingress_client *ingress_clients_at(const struct ingress_clients *clients, size_t i);

/* The identity (fstat of the open file) of the file the registry was read
 * from, as seen while reading it. Owned by the registry. */
const struct ingress_clients_file_id *ingress_clients_source(const struct ingress_clients *clients);

/* stat()s `path` (following symlinks) and compares with *seen. Returns 1 and
 * stores the new identity in *seen if it differs, 0 if it is the same, -1 if
 * stat failed (*seen unchanged; errno set: keep the current registry). */
int ingress_clients_file_changed(const char *path, struct ingress_clients_file_id *seen);

/* Creates a holder serving `initial` (not NULL). Takes ownership of
 * `initial` on success only. Returns NULL on allocation failure or if
 * `initial` is NULL. */
struct ingress_clients_holder *ingress_clients_holder_create(struct ingress_clients *initial);

/* Drops the holder's reference to the current registry (freed now, or when
 * its last reader releases it) and frees the holder. NULL is a no-op. */
void ingress_clients_holder_destroy(struct ingress_clients_holder *holder);

/* Returns the current registry with a reference taken: it stays valid, even
 * across swaps, until ingress_clients_holder_release. Never NULL. */
const struct ingress_clients *ingress_clients_holder_acquire(struct ingress_clients_holder *holder);

/* Gives back a reference from ingress_clients_holder_acquire; frees the
 * registry if it was swapped out and this was its last reader. */
void ingress_clients_holder_release(const struct ingress_clients *clients);

/* Makes `next` (not NULL; ownership taken) the current registry; requests
 * that hold the old one keep using it until they release it. */
void ingress_clients_holder_swap(struct ingress_clients_holder *holder,
                                 struct ingress_clients *next);

#endif
