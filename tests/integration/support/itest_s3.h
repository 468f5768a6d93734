/* itest_s3: the archive bucket as the S3 root user sees it, for the suites
 * that check what the archive wrote (archive, e2e). */
#ifndef ITEST_S3_H
#define ITEST_S3_H

#include <stddef.h>

#include "s3.h"

/* A client with the local stack's S3 root credentials (destroy it). */
struct s3_client *itest_s3_root(void);

/* Calls fn for every key under `prefix` in the bucket, page after page
 * (ListObjectsV2 with start-after), keys as listed (XML-escaped). Asserts
 * every request succeeds. Returns the number of keys. */
size_t itest_s3_each_key(struct s3_client *s3, const char *prefix,
                         void (*fn)(const char *key, size_t len, void *ud), void *ud);

#endif
