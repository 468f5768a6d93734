/* Unit tests for services/billing/sqlstate: only data refused for what it
 * is (classes 22 and 23, except unique_violation) is poison. */
#include <criterion/criterion.h>

#include "../../../services/billing/sqlstate.h"

Test(billing_sqlstate, data_exceptions_and_integrity_violations_are_permanent) {
    const char *const permanent[] = {"22003", "22001", "22P02", "22007", "23514", "23502", "23503"};
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
        cr_assert_eq(billing_sqlstate_classify(permanent[i]), BILLING_PG_PERMANENT, "%s",
                     permanent[i]);
}

Test(billing_sqlstate, unique_violation_is_not_poison) {
    cr_assert_eq(billing_sqlstate_classify("23505"), BILLING_PG_TRANSIENT);
}

Test(billing_sqlstate, outages_and_everything_else_are_transient) {
    const char *const transient[] = {"08006", "08001", "57P01", "57014", "53300", "40001",
                                     "40P01", "42501", "42P01", "XX000", "55P03"};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        cr_assert_eq(billing_sqlstate_classify(transient[i]), BILLING_PG_TRANSIENT, "%s",
                     transient[i]);
}

Test(billing_sqlstate, missing_or_malformed_state_is_transient) {
    cr_assert_eq(billing_sqlstate_classify(NULL), BILLING_PG_TRANSIENT);
    cr_assert_eq(billing_sqlstate_classify(""), BILLING_PG_TRANSIENT);
    cr_assert_eq(billing_sqlstate_classify("22"), BILLING_PG_TRANSIENT);
    cr_assert_eq(billing_sqlstate_classify("220030"), BILLING_PG_TRANSIENT);
}
