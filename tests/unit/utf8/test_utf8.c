/* utf8: strict sequence checks, and errmsg's buffer handling. */
#include <criterion/criterion.h>
#include <string.h>

#include "errmsg.h"
#include "utf8.h"

Test(utf8, accepts_every_sequence_length) {
    cr_assert_eq(utf8_codepoints("a", 1), 1);
    cr_assert_eq(utf8_codepoints("\xC3\xA9", 2), 1);         /* é */
    cr_assert_eq(utf8_codepoints("\xE2\x82\xAC", 3), 1);     /* € */
    cr_assert_eq(utf8_codepoints("\xF0\x9F\x98\x80", 4), 1); /* 😀 */
    cr_assert_eq(utf8_codepoints("a\xC3\xA9\xE2\x82\xAC", 6), 3);
    cr_assert_eq(utf8_codepoints("", 0), 0);
}

Test(utf8, rejects_what_rfc3629_forbids) {
    static const struct {
        const char *bytes;
        size_t n;
        const char *why;
    } bad[] = {
        {"\xC0\xAF", 2, "overlong 2-byte"},
        {"\xE0\x80\xAF", 3, "overlong 3-byte"},
        {"\xF0\x80\x80\xAF", 4, "overlong 4-byte"},
        {"\xED\xA0\x80", 3, "surrogate U+D800"},
        {"\xF4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\x80", 1, "lone continuation"},
        {"\xC3", 1, "truncated"},
        {"\xE2\x82", 2, "truncated 3-byte"},
        {"\xFF", 1, "never valid"},
        {"\xC3\x28", 2, "bad continuation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(utf8_valid(bad[i].bytes, bad[i].n), 0, "%s accepted", bad[i].why);
        cr_assert_eq(utf8_codepoints(bad[i].bytes, bad[i].n), -1, "%s counted", bad[i].why);
    }
}

Test(errmsg, formats_truncates_and_tolerates_null) {
    char buf[8];
    errmsg_set(buf, sizeof buf, "%s=%d", "port", 70000);
    cr_assert_str_eq(buf, "port=70");
    errmsg_set(NULL, 0, "ignored %d", 1);
    errmsg_set(buf, 0, "ignored %d", 2);
    cr_assert_str_eq(buf, "port=70");
}
