//  gw_ratelimit: the Management API's token buckets, on a clock the test holds.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include "gw_ratelimit.h"

#define T0      1700000000000LL         //  a Unix time in ms, on a whole second

//  A take with both clocks at now_ms, as when neither has been stepped
static gw_ratelimit_take_t
s_take (gw_ratelimit_t *limiter, const char *key, int64_t now_ms)
{
    gw_ratelimit_take_t take;
    gw_ratelimit_take (limiter, key, now_ms, now_ms, &take);
    return take;
}

static void
test_bad_settings (void **state)
{
    (void) state;
    assert_null (gw_ratelimit_new (0, 1, 10));
    assert_null (gw_ratelimit_new (1, 0, 10));
    assert_null (gw_ratelimit_new (1, 1, 0));
    gw_ratelimit_t *limiter = gw_ratelimit_new (1, 1, 1);
    assert_non_null (limiter);
    gw_ratelimit_destroy (&limiter);
    assert_null (limiter);
    gw_ratelimit_destroy (&limiter);
}

//  A full bucket serves limit requests at once, each one reporting what is
//  left and when the bucket is full again; then it refuses, and says how long
//  until the next token, taking nothing
static void
test_burst_then_refusal (void **state)
{
    (void) state;
    gw_ratelimit_t *limiter = gw_ratelimit_new (3, 2, 10);
    gw_ratelimit_take_t take = s_take (limiter, "client:a", T0);
    assert_false (take.refused);
    assert_int_equal (take.limit, 3);
    assert_int_equal (take.remaining, 2);
    assert_int_equal (take.reset, T0 / 1000 + 1);        //  one token back in 500 ms
    take = s_take (limiter, "client:a", T0);
    assert_int_equal (take.remaining, 1);
    assert_int_equal (take.reset, T0 / 1000 + 1);        //  two in 1000 ms
    take = s_take (limiter, "client:a", T0);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 0);
    assert_int_equal (take.reset, T0 / 1000 + 2);        //  three in 1500 ms
    assert_int_equal (take.retry_after, 0);
    for (int again = 0; again < 3; again++) {
        take = s_take (limiter, "client:a", T0 + 100);
        assert_true (take.refused);
        assert_int_equal (take.remaining, 0);
        assert_int_equal (take.retry_after, 1);
        assert_int_equal (take.reset, T0 / 1000 + 2);
    }
    //  Refusals took nothing: the token due at 500 ms is there
    take = s_take (limiter, "client:a", T0 + 500);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 0);
    //  Another key has a bucket of its own
    take = s_take (limiter, "ip:192.0.2.1", T0 + 500);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 2);
    assert_int_equal (gw_ratelimit_size (limiter), 2);
    gw_ratelimit_destroy (&limiter);
}

//  Tokens come back at the rate, never past the limit; a clock that steps
//  back gives nothing, and a long pause cannot overflow
static void
test_refill (void **state)
{
    (void) state;
    gw_ratelimit_t *limiter = gw_ratelimit_new (2, 1, 10);
    s_take (limiter, "k", T0);
    s_take (limiter, "k", T0);
    gw_ratelimit_take_t take = s_take (limiter, "k", T0 + 999);
    assert_true (take.refused);
    assert_int_equal (take.retry_after, 1);
    take = s_take (limiter, "k", T0 + 1000);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 0);
    take = s_take (limiter, "k", T0 - 5000);
    assert_true (take.refused);
    //  Times are never reported behind what the bucket has seen: empty at
    //  T0 + 1000, full two seconds later
    assert_int_equal (take.reset, T0 / 1000 + 3);
    take = s_take (limiter, "k", T0 + 100000);
    assert_int_equal (take.remaining, 1);
    take = s_take (limiter, "k", INT64_MAX / 2);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 1);
    gw_ratelimit_destroy (&limiter);
}

//  The wall clock stepped back an hour (an NTP step, `date -s`) changes only
//  the dates reported: the buckets fill on the monotonic clock, so an empty
//  one is not held empty for the hour
static void
test_wall_clock_step (void **state)
{
    (void) state;
    const int64_t mono = 5000;              //  ms since boot, say
    const int64_t hour = 3600 * 1000;
    gw_ratelimit_t *limiter = gw_ratelimit_new (2, 1, 10);
    gw_ratelimit_take_t take;
    gw_ratelimit_take (limiter, "k", mono, T0, &take);
    gw_ratelimit_take (limiter, "k", mono, T0, &take);
    assert_false (take.refused);
    assert_int_equal (take.reset, T0 / 1000 + 2);
    gw_ratelimit_take (limiter, "k", mono + 10, T0 - hour, &take);
    assert_true (take.refused);
    assert_int_equal (take.retry_after, 1);
    //  Dated by the stepped wall clock: full two seconds after the bucket emptied
    assert_int_equal (take.reset, (T0 - hour) / 1000 + 2);
    //  A second later on the monotonic clock there is a token again
    gw_ratelimit_take (limiter, "k", mono + 1000, T0 - hour + 990, &take);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 0);
    gw_ratelimit_destroy (&limiter);
}

//  The table holds at most max_keys buckets: full ones are dropped for a
//  newcomer, and when none is full newcomers share the overflow bucket
static void
test_bounded_table (void **state)
{
    (void) state;
    gw_ratelimit_t *limiter = gw_ratelimit_new (2, 1, 2);
    s_take (limiter, "a", T0);
    s_take (limiter, "b", T0);
    assert_int_equal (gw_ratelimit_size (limiter), 2);
    gw_ratelimit_take_t take = s_take (limiter, "c", T0);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 1);
    take = s_take (limiter, "d", T0);               //  the same overflow bucket
    assert_int_equal (take.remaining, 0);
    take = s_take (limiter, "e", T0);
    assert_true (take.refused);
    assert_int_equal (gw_ratelimit_size (limiter), 2);
    //  a and b are full again after a second: dropped, and c gets its own
    take = s_take (limiter, "c", T0 + 1000);
    assert_false (take.refused);
    assert_int_equal (take.remaining, 1);
    assert_int_equal (gw_ratelimit_size (limiter), 1);
    //  a starts afresh
    take = s_take (limiter, "a", T0 + 1000);
    assert_int_equal (take.remaining, 1);
    gw_ratelimit_destroy (&limiter);
}

typedef struct {
    gw_ratelimit_t *limiter;
    int served;
} worker_t;

static void *
s_worker (void *arg)
{
    worker_t *worker = (worker_t *) arg;
    for (int index = 0; index < 1000; index++) {
        gw_ratelimit_take_t take;
        gw_ratelimit_take (worker->limiter, "shared", T0, T0, &take);
        worker->served += !take.refused;
    }
    return NULL;
}

//  The listeners' threads share the buckets: together they get the limit,
//  not the limit each
static void
test_threads_share (void **state)
{
    (void) state;
    gw_ratelimit_t *limiter = gw_ratelimit_new (500, 1, 10);
    worker_t workers [4];
    pthread_t threads [4];
    for (int index = 0; index < 4; index++) {
        workers [index] = (worker_t) { limiter, 0 };
        assert_int_equal (pthread_create (&threads [index], NULL, s_worker, &workers [index]), 0);
    }
    int served = 0;
    for (int index = 0; index < 4; index++) {
        pthread_join (threads [index], NULL);
        served += workers [index].served;
    }
    assert_int_equal (served, 500);
    gw_ratelimit_destroy (&limiter);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bad_settings),
        cmocka_unit_test (test_burst_then_refusal),
        cmocka_unit_test (test_refill),
        cmocka_unit_test (test_wall_clock_step),
        cmocka_unit_test (test_bounded_table),
        cmocka_unit_test (test_threads_share),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
