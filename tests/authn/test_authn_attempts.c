//  authn_attempts: attempts under one key beyond its share wait, for no longer
//  than the caller's wait; other keys never wait.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
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
    authn_attempts_t *attempts = authn_attempts_new (4, 1);
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
    authn_attempts_t *attempts = authn_attempts_new (2, 1);
    assert_non_null (attempts);
    char long_key [200];
    memset (long_key, 'x', sizeof long_key - 1);
    long_key [sizeof long_key - 1] = '\0';
    assert_int_equal (authn_attempts_hold (attempts, long_key, 0), -2);
    assert_int_equal (authn_attempts_hold (attempts, "", 0), -2);
    assert_int_equal (authn_attempts_hold (attempts, NULL, 0), -2);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:b", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:c", 0), -2);
    authn_attempts_release (attempts, "user:b");
    assert_int_equal (authn_attempts_hold (attempts, "user:c", 0), 0);
    authn_attempts_destroy (&attempts);
}

//  With per_key 2, two attempts of one key run at once and the third waits;
//  a release lets it in, and only one slot is freed by one release.
static void
test_per_key_share (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (4, 2);
    assert_non_null (attempts);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 30), -1);
    assert_int_equal (authn_attempts_hold (attempts, "user:b", 0), 0);
    authn_attempts_release (attempts, "user:a");
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), -1);
    authn_attempts_destroy (&attempts);
}

typedef struct {
    authn_attempts_t *attempts;
    atomic_int *order;          //  shared: how many got the key so far
    int got;                    //  this one's place
    atomic_int may_release;     //  keeps the key until this is set
} s_waiter_t;

//  Waits for user:a, notes its place, keeps the key until told (bounded)
static void *
s_wait_in_line (void *args)
{
    s_waiter_t *waiter = (s_waiter_t *) args;
    if (authn_attempts_hold (waiter->attempts, "user:a", 10000) == 0) {
        waiter->got = atomic_fetch_add (waiter->order, 1) + 1;
        int64_t until = s_mono_ms () + 10000;
        struct timespec pause = { 0, 1000000L };
        while (!atomic_load (&waiter->may_release) && s_mono_ms () < until)
            nanosleep (&pause, NULL);
        authn_attempts_release (waiter->attempts, "user:a");
    }
    return NULL;
}

//  Until count attempts wait for user:a (a thread has reached its wait), for
//  at most 10 s. True when they do.
static bool
s_until_waiting (authn_attempts_t *attempts, size_t count)
{
    int64_t until = s_mono_ms () + 10000;
    struct timespec pause = { 0, 1000000L };
    while (authn_attempts_waiting (attempts, "user:a") != count && s_mono_ms () < until)
        nanosleep (&pause, NULL);
    return authn_attempts_waiting (attempts, "user:a") == count;
}

//  Turns are first come, first served: of two waiting, the one that came
//  first gets the key first
static void
test_turns_in_order (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (4, 1);
    assert_non_null (attempts);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    atomic_int order = 0;
    s_waiter_t first = { attempts, &order, 0, 1 }, second = { attempts, &order, 0, 1 };
    pthread_t threads [2];
    assert_int_equal (pthread_create (&threads [0], NULL, s_wait_in_line, &first), 0);
    bool one_waits = s_until_waiting (attempts, 1);
    assert_int_equal (pthread_create (&threads [1], NULL, s_wait_in_line, &second), 0);
    bool two_wait = s_until_waiting (attempts, 2);
    int none_yet = atomic_load (&order) == 0;
    authn_attempts_release (attempts, "user:a");
    pthread_join (threads [0], NULL);
    pthread_join (threads [1], NULL);
    assert_true (one_waits);
    assert_true (two_wait);
    assert_true (none_yet);
    assert_int_equal (first.got, 1);
    assert_int_equal (second.got, 2);
    authn_attempts_destroy (&attempts);
}

//  A newcomer does not jump the line: just after a release, while the one
//  waiting has perhaps not yet woken, a new attempt under the key waits behind
//  it (here with no wait at all: refused). Without first come, first served,
//  a thread that releases and holds again in a loop could keep a waiter out.
static void
test_no_jumping_the_line (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (4, 1);
    assert_non_null (attempts);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    atomic_int order = 0;
    s_waiter_t waiter = { attempts, &order, 0, 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_wait_in_line, &waiter), 0);
    bool waits = s_until_waiting (attempts, 1);
    authn_attempts_release (attempts, "user:a");
    int newcomer = authn_attempts_hold (attempts, "user:a", 0);
    atomic_store (&waiter.may_release, 1);
    pthread_join (thread, NULL);
    assert_true (waits);
    assert_int_equal (newcomer, -1);
    assert_int_equal (waiter.got, 1);
    authn_attempts_destroy (&attempts);
}

//  One per core, at most half the failure limit, at least one
static void
test_per_key_from_cores_and_limit (void **state)
{
    (void) state;
    assert_int_equal (authn_attempts_per_key (2, 10), 2);
    assert_int_equal (authn_attempts_per_key (64, 10), 5);
    assert_int_equal (authn_attempts_per_key (64, 3), 1);
    assert_int_equal (authn_attempts_per_key (8, 1), 1);
    assert_int_equal (authn_attempts_per_key (-1, 10), 1);
    assert_int_equal (authn_attempts_per_key (0, 0), 1);
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
    s_holder_t holder = { authn_attempts_new (2, 1), 0 };
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

//  Each waiter sleeps on its own condition and a release wakes only the
//  waiters whose turn it gives: with two turns and six waiters, every waiter
//  gets its turn as the holders go. A waiter that were
//  never woken would hold the key only once its own wait of 10 s ran out, so
//  the six finishing well before that shows that each release woke the right
//  one.
static void
test_every_waiter_is_woken_in_turn (void **state)
{
    (void) state;
    authn_attempts_t *attempts = authn_attempts_new (8, 2);
    assert_non_null (attempts);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    assert_int_equal (authn_attempts_hold (attempts, "user:a", 0), 0);
    atomic_int order = 0;
    s_waiter_t waiters [6];
    pthread_t threads [6];
    bool all_waited = true;
    for (size_t index = 0; index < 6; index++) {
        waiters [index] = (s_waiter_t) { attempts, &order, 0, 1 };
        assert_int_equal (pthread_create (&threads [index], NULL, s_wait_in_line, &waiters [index]), 0);
        all_waited = s_until_waiting (attempts, index + 1) && all_waited;
    }
    int64_t released = s_mono_ms ();
    authn_attempts_release (attempts, "user:a");
    authn_attempts_release (attempts, "user:a");
    for (size_t index = 0; index < 6; index++)
        pthread_join (threads [index], NULL);
    int64_t took = s_mono_ms () - released;
    assert_true (all_waited);
    assert_true (took < 5000);
    //  Each got the key. The order is test_turns_in_order's: a thread notes
    //  its place only after its turn came, and may be descheduled in between
    //  while later ones take and release theirs
    for (int index = 0; index < 6; index++)
        assert_true (waiters [index].got >= 1);
    assert_int_equal (atomic_load (&order), 6);
    authn_attempts_destroy (&attempts);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_one_key_at_a_time),
        cmocka_unit_test (test_bad_keys_and_full_table),
        cmocka_unit_test (test_waiter_gets_the_key_on_release),
        cmocka_unit_test (test_per_key_share),
        cmocka_unit_test (test_turns_in_order),
        cmocka_unit_test (test_no_jumping_the_line),
        cmocka_unit_test (test_every_waiter_is_woken_in_turn),
        cmocka_unit_test (test_per_key_from_cores_and_limit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
