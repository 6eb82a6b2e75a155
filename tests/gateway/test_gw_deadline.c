/*  gw_deadline: a tracked socket is shut down once its deadline passes, not
    while its clock is stopped, and never after it was untracked. Socket pairs
    stand in for connections: the peer sees end of file when the cut comes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "gw_deadline.h"

//  True when the peer of the pair sees end of file within ms
static int
s_cut_within (int peer, int ms)
{
    struct pollfd item = { .fd = peer, .events = POLLIN };
    char byte;
    return poll (&item, 1, ms) == 1 && recv (peer, &byte, 1, MSG_DONTWAIT) == 0;
}

static void
test_cut_at_deadline (void **state)
{
    (void) state;
    gw_deadline_t *deadlines = gw_deadline_new (1);
    assert_non_null (deadlines);
    int pair [2];
    assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), 0);
    int64_t started = zclock_mono ();
    gw_deadline_conn_t *conn = gw_deadline_track (deadlines, pair [0]);
    assert_non_null (conn);
    //  Bytes now and then do not help: the deadline is absolute
    for (int i = 0; i < 3; i++) {
        assert_int_equal (send (pair [1], "x", 1, 0), 1);
        assert_false (s_cut_within (pair [1], 200));
    }
    assert_true (s_cut_within (pair [1], 3000));
    assert_true (zclock_mono () - started >= 900);
    gw_deadline_untrack (deadlines, &conn);
    assert_null (conn);
    close (pair [0]);
    close (pair [1]);
    gw_deadline_destroy (&deadlines);
    assert_null (deadlines);
}

static void
test_stopped_clock_and_restart (void **state)
{
    (void) state;
    gw_deadline_t *deadlines = gw_deadline_new (1);
    int pair [2];
    assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), 0);
    gw_deadline_conn_t *conn = gw_deadline_track (deadlines, pair [0]);
    //  The request is in: the gateway may take its time
    gw_deadline_stop (deadlines, conn);
    assert_false (s_cut_within (pair [1], 1800));
    //  The next request on the connection has a deadline of its own
    gw_deadline_restart (deadlines, conn);
    assert_true (s_cut_within (pair [1], 3000));
    gw_deadline_untrack (deadlines, &conn);
    close (pair [0]);
    close (pair [1]);

    //  Untracked: left alone, whatever its deadline was
    assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), 0);
    conn = gw_deadline_track (deadlines, pair [0]);
    gw_deadline_untrack (deadlines, &conn);
    assert_false (s_cut_within (pair [1], 1800));
    close (pair [0]);
    close (pair [1]);

    //  NULL records (out of memory at accept) are ignored
    gw_deadline_stop (deadlines, NULL);
    gw_deadline_restart (deadlines, NULL);
    gw_deadline_untrack (deadlines, &conn);
    gw_deadline_destroy (&deadlines);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_cut_at_deadline),
        cmocka_unit_test (test_stopped_clock_and_restart),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
