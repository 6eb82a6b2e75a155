/*  Unit tests of pst_error: the code table matches docs/protocol.md, both as a
    fixed list here and by reading the document's Errors table, so the code and
    the documentation cannot drift apart.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_docs.h"
#include "pst_error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *code;
    int status;
} s_expected [] = {
    { "invalid_request",            400 },
    { "invalid_client",             401 },
    { "invalid_grant",              403 },
    { "unauthorized_client",        403 },
    { "unsupported_grant_type",     400 },
    { "access_denied",              403 },
    { "mfa_required",               403 },
    { "expired_token",              403 },
    { "invalid_token",              401 },
    { "too_many_attempts",          429 },
    { "too_many_requests",          429 },
    { "unsupported_challenge_type", 400 },
    { "association_required",       400 },
    { "insufficient_scope",         403 },
    { "not_found",                  404 },
    { "conflict",                   409 },
    { "bad_request",                400 },
    { "temporarily_unavailable",    503 },
    { "server_error",               500 },
    { "method_not_allowed",         405 },
    { "request_entity_too_large",   413 },
    { "invalid_body",               400 },
    { "invalid_query_string",       400 },
    { "invalid_uri",                400 },
};
#define EXPECTED_COUNT (sizeof s_expected / sizeof s_expected [0])

static void
test_table (void **state)
{
    (void) state;
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        if (pst_error_http_status (s_expected [i].code) != s_expected [i].status)
            print_error ("%s\n", s_expected [i].code);
        assert_int_equal (pst_error_http_status (s_expected [i].code), s_expected [i].status);
        assert_true (pst_error_known (s_expected [i].code));
    }
}

static void
test_macros (void **state)
{
    (void) state;
    //  The macros spell the wire strings
    assert_string_equal (PST_ERR_INVALID_GRANT, "invalid_grant");
    assert_string_equal (PST_ERR_UNSUPPORTED_CHALLENGE, "unsupported_challenge_type");
    assert_string_equal (PST_ERR_UNAVAILABLE, "temporarily_unavailable");
    assert_string_equal (PST_ERR_INTERNAL, "server_error");
    assert_int_equal (pst_error_http_status (PST_ERR_MFA_REQUIRED), 403);
    assert_int_equal (pst_error_http_status (PST_ERR_TOO_MANY_REQUESTS), 429);
}

static void
test_unknown (void **state)
{
    (void) state;
    const char *unknown [] = { "", "INVALID_GRANT", "invalid_grant ", "nope", "invalid", NULL };
    for (int i = 0; unknown [i]; i++) {
        assert_int_equal (pst_error_http_status (unknown [i]), 500);
        assert_false (pst_error_known (unknown [i]));
    }
    assert_int_equal (pst_error_http_status (NULL), 500);
    assert_false (pst_error_known (NULL));
}

//  Every row "| `code` | status | ..." of the "## Errors" section agrees with
//  pst_error, and the section lists exactly the codes of the table above.
static void
test_matches_protocol_doc (void **state)
{
    (void) state;
    FILE *file = test_docs_open ("docs/protocol.md");
    assert_non_null (file);
    char line [1024];
    int in_errors = 0;
    size_t rows = 0;
    int seen [EXPECTED_COUNT] = { 0 };
    while (fgets (line, sizeof line, file)) {
        if (strncmp (line, "## ", 3) == 0) {
            in_errors = strncmp (line, "## Errors", 9) == 0;
            continue;
        }
        char code [80];
        int status = 0;
        if (!in_errors || sscanf (line, "| `%79[a-z_]` | %d |", code, &status) != 2)
            continue;
        rows++;
        if (pst_error_http_status (code) != status)
            print_error ("protocol.md: %s is %d, pst_error says %d\n",
                         code, status, pst_error_http_status (code));
        assert_int_equal (pst_error_http_status (code), status);
        assert_true (pst_error_known (code));
        for (size_t i = 0; i < EXPECTED_COUNT; i++)
            if (strcmp (s_expected [i].code, code) == 0)
                seen [i]++;
    }
    fclose (file);
    assert_int_equal (rows, EXPECTED_COUNT);
    for (size_t i = 0; i < EXPECTED_COUNT; i++)
        assert_int_equal (seen [i], 1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_macros),
        cmocka_unit_test (test_unknown),
        cmocka_unit_test (test_matches_protocol_doc),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
