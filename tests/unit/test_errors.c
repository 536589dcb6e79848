/* The error model: names, messages, fatal band, wire codes. */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"

Test(errors, every_code_has_name_and_message)
{
    static const int codes[] = {
#define XX(name, value, msg) value,
        H2_ERRNO_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cr_expect_lt(codes[i], 0);
        cr_expect_str_neq(h2_strerror(codes[i]), "unknown error");
        cr_expect_eq(strncmp(h2_errname(codes[i]), "H2_E", 4), 0);
    }
    cr_expect_str_eq(h2_errname(H2_EINVAL), "H2_EINVAL");
    cr_expect_str_eq(h2_errname(0), "H2_OK");
    cr_expect_str_eq(h2_strerror(0), "success");
}

Test(errors, unknown_codes)
{
    cr_expect_str_eq(h2_strerror(-12345), "unknown error");
    cr_expect_str_eq(h2_errname(-12345), "H2_E?");
    cr_expect_str_eq(h2_strerror(7), "unknown error");
}

Test(errors, fatal_band)
{
    cr_expect(h2_is_fatal(H2_ENOMEM));
    cr_expect(h2_is_fatal(H2_EINTERNAL));
    cr_expect_not(h2_is_fatal(H2_EAGAIN));
    cr_expect_not(h2_is_fatal(H2_EPROTO));
    cr_expect_not(h2_is_fatal(0));
}

Test(errors, wire_code_names)
{
    cr_expect_str_eq(h2_error_code_name(H2_NO_ERROR), "NO_ERROR");
    cr_expect_str_eq(h2_error_code_name(H2_PROTOCOL_ERROR), "PROTOCOL_ERROR");
    cr_expect_str_eq(h2_error_code_name(H2_ENHANCE_YOUR_CALM), "ENHANCE_YOUR_CALM");
    cr_expect_str_eq(h2_error_code_name(H2_HTTP_1_1_REQUIRED), "HTTP_1_1_REQUIRED");
    cr_expect_null(h2_error_code_name(0xe));
    cr_expect_null(h2_error_code_name(0xffffffffu));
}

Test(errors, version)
{
    cr_expect_eq(h2_version(), H2_VERSION_HEX);
    cr_expect_str_eq(h2_version_string(), H2_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.%d", H2_VERSION_MAJOR, H2_VERSION_MINOR,
             H2_VERSION_PATCH);
    cr_expect_str_eq(H2_VERSION_STRING, want);
}
