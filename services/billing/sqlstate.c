/* sqlstate: transient vs permanent Postgres errors (see sqlstate.h). */
#include "sqlstate.h"

#include <string.h>

enum billing_pg_class billing_sqlstate_classify(const char *sqlstate) {
    if (!sqlstate || strlen(sqlstate) != 5)
        return BILLING_PG_TRANSIENT;
    if (strcmp(sqlstate, "23505") == 0)
        return BILLING_PG_TRANSIENT;
    if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0)
        return BILLING_PG_PERMANENT;
    return BILLING_PG_TRANSIENT;
}
