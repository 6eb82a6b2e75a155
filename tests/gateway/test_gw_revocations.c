//  Unit tests of gw_revocations: the list as installed, what it covers, and a
//  malformed list that leaves the previous one in place.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "gw_revocations.h"

#define MGMT    "https://auth.test/api/v2/"
#define MFA     "https://auth.test/mfa/"

static void
test_nothing_loaded (void **state)
{
    (void) state;
    gw_revocations_t *revocations = gw_revocations_new ();
    assert_non_null (revocations);
    assert_int_equal (gw_revocations_loaded (revocations), 0);
    assert_int_equal (gw_revocations_size (revocations), 0);
    assert_int_equal (gw_revocations_covers (revocations, "app", MGMT, 0), 0);
    json_t *empty = json_array ();
    assert_int_equal (gw_revocations_update (revocations, empty), 0);
    json_decref (empty);
    assert_int_equal (gw_revocations_loaded (revocations), 1);
    assert_int_equal (gw_revocations_covers (revocations, NULL, MGMT, 0), 0);
    gw_revocations_destroy (&revocations);
    assert_null (revocations);
}

static void
test_covers (void **state)
{
    (void) state;
    gw_revocations_t *revocations = gw_revocations_new ();
    //  The same pair twice keeps the later time; a client gone whole
    json_t *list = json_pack ("[{s:s, s:s, s:I}, {s:s, s:s, s:I}, {s:s, s:n, s:I}, {s:s, s:s, s:I}]",
        "client_id", "app", "audience", MGMT, "revoked_at", (json_int_t) 5999,
        "client_id", "app", "audience", MGMT, "revoked_at", (json_int_t) 3000,
        "client_id", "gone", "audience", "revoked_at", (json_int_t) 10000,
        "client_id", "app", "audience", MFA, "revoked_at", (json_int_t) 1000);
    assert_int_equal (gw_revocations_update (revocations, list), 0);
    json_decref (list);
    assert_int_equal (gw_revocations_size (revocations), 3);
    //  iat * 1000 <= revoked_at: issued in the second of the revocation counts
    //  as before it
    assert_int_equal (gw_revocations_covers (revocations, "app", MGMT, 5), 1);
    assert_int_equal (gw_revocations_covers (revocations, "app", MGMT, 6), 0);
    assert_int_equal (gw_revocations_covers (revocations, "app", MFA, 1), 1);
    assert_int_equal (gw_revocations_covers (revocations, "app", MFA, 2), 0);
    assert_int_equal (gw_revocations_covers (revocations, "app", "https://other/", 0), 0);
    assert_int_equal (gw_revocations_covers (revocations, "gone", MGMT, 10), 1);
    assert_int_equal (gw_revocations_covers (revocations, "gone", "https://other/", 9), 1);
    assert_int_equal (gw_revocations_covers (revocations, "gone", NULL, 9), 1);
    assert_int_equal (gw_revocations_covers (revocations, "gone", MGMT, 11), 0);
    assert_int_equal (gw_revocations_covers (revocations, "someone", MGMT, 0), 0);
    assert_int_equal (gw_revocations_covers (revocations, "app", NULL, 0), 0);

    //  A malformed list changes nothing
    const char *malformed [] = {
        "{}",
        "[{\"audience\": null, \"revoked_at\": 1}]",
        "[{\"client_id\": \"\", \"audience\": null, \"revoked_at\": 1}]",
        "[{\"client_id\": \"app\", \"audience\": 7, \"revoked_at\": 1}]",
        "[{\"client_id\": \"app\", \"audience\": null, \"revoked_at\": \"1\"}]",
        "[{\"client_id\": \"app\", \"audience\": null, \"revoked_at\": -1}]",
        "[\"app\"]",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed [0]; i++) {
        json_t *bad = json_loads (malformed [i], 0, NULL);
        assert_non_null (bad);
        assert_int_equal (gw_revocations_update (revocations, bad), -1);
        json_decref (bad);
    }
    assert_int_equal (gw_revocations_size (revocations), 3);
    assert_int_equal (gw_revocations_covers (revocations, "app", MGMT, 5), 1);

    //  A new list replaces the old one whole
    list = json_pack ("[{s:s, s:s, s:I}]", "client_id", "other", "audience", MGMT,
                      "revoked_at", (json_int_t) 1000);
    assert_int_equal (gw_revocations_update (revocations, list), 0);
    json_decref (list);
    assert_int_equal (gw_revocations_covers (revocations, "app", MGMT, 5), 0);
    assert_int_equal (gw_revocations_covers (revocations, "other", MGMT, 1), 1);
    gw_revocations_destroy (&revocations);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_nothing_loaded),
        cmocka_unit_test (test_covers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
