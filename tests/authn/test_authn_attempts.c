//  authn_attempts: attempts under one key take turns, for no longer than the
//  caller's wait; other keys never wait.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "authn_attempts.h"

static int64_t
s_mono_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  A held key makes the next attempt under it wait out its wait and fail; a
//  released one is free at once; another key never waits.
static void
test_one_key_at_a_time (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (4);
    assert_non_null (attempts);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:b", 0), 0);
    int64_t before = s_mono_ms ();
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 60), -1);
    assert_true (s_mono_ms () - before >= 60);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), -1);
    authn_attempts_release (attempts, "user:a");
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    //  Releasing what is not held changes nothing
    authn_attempts_release (attempts, "user:c");
    assert_int_equal (authn_attempts_hold (attempts, "user:b", 0), -1);
    authn_attempts_destroy (&attempts);
    assert_null (attempts);
}

//  Keys that are no throttle key, and a table already full, are refused
static void
test_bad_keys_and_full_table (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (2);
    assert_non_null (attempts);
    char long_key [200];
    memset (long_key, 'x', sizeof long_key - 1);
    long_key [sizeof long_key - 1] = '\0';
    assert_int_equal (authn_attempts_hold (attempts, long_key, 0), -1);
    assert_int_equal (authn_attempts_hold (attempts, "", 0), -1);
    assert_int_equal (authn_attempts_hold (attempts, NULL, 0), -1);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:b", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:c", 0), -1);
    authn_attempts_release (attempts, "user:b");
    assert_int_equal (authn_attempts_hold (attempts, "user:c", 0), 0);
    authn_attempts_destroy (&attempts);
}

typedef struct {
    authn_attempts_t *attempts;
    atomic_int released;
} s_holder_t;

static void *
s_release_later (void *args)
{
    s_holder_t *holder = (s_holder_t *) args;
    struct timespec pause = { 0, 150 * 1000000L };
    nanosleep (&pause, NULL);
    atomic_store (&holder->released, 1);
    authn_attempts_release (holder->attempts, "user:a");
    return NULL;
}

//  A waiter gets the key when its holder releases it, not before
static void
test_waiter_gets_the_key_on_release (void **state)
{
    (void) state;
    s_holder_t holder = { authn_attempts_new (2), 0 };
    assert_non_null (holder.attempts);
    assert_int_equal (authn_attempts_hold (holder.attempts, "user:a", 0), 0);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_release_later, &holder), 0);
    assert_int_equal (authn_attempts_hold (holder.attempts, "user:a", 10000), 0);
    assert_int_equal (atomic_load (&holder.released), 1);
    pthread_join (thread, NULL);
    //  And it now holds it
    assert_int_equal (authn_attempts_hold (holder.attempts, "user:a", 0), -1);
    authn_attempts_destroy (&holder.attempts);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_one_key_at_a_time),
        cmocka_unit_test (test_bad_keys_and_full_table),
        cmocka_unit_test (test_waiter_gets_the_key_on_release),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
