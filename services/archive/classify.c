/* classify: transient vs permanent store errors (see classify.h for why
 * 401/403/NoSuchBucket count as transient). */
#include "classify.h"

#include <string.h>

/* S3 error codes that name a configuration problem, not a bad record. */
static int archive_classify_misconfigured(const struct s3_result *res) {
    static const char *const codes[] = {
        "AccessDenied",         "InvalidAccessKeyId", "SignatureDoesNotMatch",
        "RequestTimeTooSkewed", "ExpiredToken",       "InvalidToken",
        "NoSuchBucket",         "AllAccessDisabled",  "AccountProblem",
    };
    if (res->http_status == 401 || res->http_status == 403)
        return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(res->error_code, codes[i]) == 0)
            return 1;
    return 0;
}

enum archive_outcome archive_classify_put(const struct s3_result *res) {
    if (res->http_status >= 200 && res->http_status < 300)
        return ARCHIVE_OUTCOME_OK;
    if (s3_result_is_transient(res) || archive_classify_misconfigured(res))
        return ARCHIVE_OUTCOME_TRANSIENT;
    if (res->http_status == 0 && strcmp(res->error_code, S3_CLIENT_OUT_OF_MEMORY) == 0)
        return ARCHIVE_OUTCOME_TRANSIENT;
    return ARCHIVE_OUTCOME_PERMANENT;
}

const char *archive_outcome_name(enum archive_outcome o) {
    switch (o) {
    case ARCHIVE_OUTCOME_OK:
        return "ok";
    case ARCHIVE_OUTCOME_TRANSIENT:
        return "transient";
    case ARCHIVE_OUTCOME_PERMANENT:
        return "permanent";
    }
    return "unknown";
}

enum archive_step archive_next_step(enum archive_outcome o, uint32_t attempts,
                                    uint32_t max_attempts) {
    if (o == ARCHIVE_OUTCOME_OK)
        return ARCHIVE_STEP_DONE;
    if (o == ARCHIVE_OUTCOME_TRANSIENT || attempts < max_attempts)
        return ARCHIVE_STEP_RETRY;
    return ARCHIVE_STEP_DLQ;
}
