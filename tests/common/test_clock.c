/*  Unit tests of pst_clock: deadlines for condition variables carry into the
    next second correctly, and both clocks agree with what the kernel says.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_clock.h"
#include <time.h>

static int64_t
s_ms (const struct timespec *at)
{
    return (int64_t) at->tv_sec * 1000 + at->tv_nsec / 1000000;
}

//  Every offset lands within its span of the monotonic clock, its nanoseconds
//  below one second whatever the starting fraction
static void
test_mono_after_carries_seconds (void **state)
{
    (void) state;
    const int64_t offsets [] = { 0, 1, 999, 1000, 1001, 1999, 2500, 86400000 };
    for (size_t index = 0; index < sizeof offsets / sizeof offsets [0]; index++) {
        int64_t before = pst_clock_mono_ms ();
        struct timespec at = pst_clock_mono_after (offsets [index]);
        int64_t after = pst_clock_mono_ms ();
        assert_true (at.tv_nsec >= 0 && at.tv_nsec < 1000000000L);
        assert_true (s_ms (&at) >= before + offsets [index]);
        assert_true (s_ms (&at) <= after + offsets [index]);
    }
}

static void
test_mono_after_negative_is_now (void **state)
{
    (void) state;
    int64_t before = pst_clock_mono_ms ();
    struct timespec at = pst_clock_mono_after (-5000);
    assert_true (s_ms (&at) >= before);
    assert_true (pst_clock_mono_reached (&at));
}

static void
test_reached (void **state)
{
    (void) state;
    struct timespec past = pst_clock_mono_after (0);
    struct timespec future = pst_clock_mono_after (60000);
    assert_true (pst_clock_mono_reached (&past));
    assert_false (pst_clock_mono_reached (&future));
    //  One second ahead of now: not reached
    struct timespec later = pst_clock_mono_after (0);
    later.tv_sec += 1;
    assert_false (pst_clock_mono_reached (&later));
}

static void
test_clocks_match_the_kernel (void **state)
{
    (void) state;
    struct timespec wall;
    clock_gettime (CLOCK_REALTIME, &wall);
    int64_t ours = pst_clock_wall_ms ();
    assert_true (ours >= s_ms (&wall) && ours - s_ms (&wall) < 1000);

    struct timespec mono;
    clock_gettime (CLOCK_MONOTONIC, &mono);
    int64_t us = pst_clock_mono_us ();
    int64_t kernel_us = (int64_t) mono.tv_sec * 1000000 + mono.tv_nsec / 1000;
    assert_true (us >= kernel_us && us - kernel_us < 1000000);
    assert_true (pst_clock_mono_ms () >= s_ms (&mono));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_mono_after_carries_seconds),
        cmocka_unit_test (test_mono_after_negative_is_now),
        cmocka_unit_test (test_reached),
        cmocka_unit_test (test_clocks_match_the_kernel),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
