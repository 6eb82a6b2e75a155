//  authn_config: authn's clock in seconds and in milliseconds is one clock.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "authn_config.h"

//  Across two starts of a second, the seconds read just after the milliseconds
//  are never the second before: a token issued once a revocation's second has
//  passed (authn_revoke_wait) must carry a later iat. The loop is bounded by
//  the milliseconds it reads (about 2 s), not by a count.
static void
test_seconds_follow_milliseconds (void **state)
{
    (void) state;
    authn_config_t config;
    memset (&config, 0, sizeof config);
    int64_t first_ms = authn_config_now_ms (&config);
    int64_t last_second = first_ms / 1000 + 2;
    long behind = 0, samples = 0;
    int64_t ms = first_ms;
    while (ms / 1000 <= last_second) {
        ms = authn_config_now_ms (&config);
        int64_t seconds = authn_config_now (&config);
        if (seconds < ms / 1000)
            behind++;
        samples++;
    }
    assert_true (samples > 0);
    assert_int_equal (behind, 0);
}

//  With the test hook, both read the hook's second
static int64_t
s_fixed (void)
{
    return 1700000000;
}

static void
test_hook (void **state)
{
    (void) state;
    authn_config_t config;
    memset (&config, 0, sizeof config);
    config.now_s = s_fixed;
    assert_int_equal (authn_config_now (&config), 1700000000);
    assert_int_equal (authn_config_now_ms (&config), 1700000000000LL);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_seconds_follow_milliseconds),
        cmocka_unit_test (test_hook),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
