/*  pst_endpoint: an ipc endpoint is claimed once; a second claim, a path too
    long for a Unix socket and a folder others may enter are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "pst_endpoint.h"

static char s_dir [64];

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/pst-endpoint-XXXXXX");
    return mkdtemp (s_dir)? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_dir);
    return system (command) == 0? 0: -1;
}

static void
test_claimed_once (void **state)
{
    (void) state;
    char endpoint [160];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/bus/authn.sock", s_dir);
    pst_endpoint_t *first = pst_endpoint_claim (endpoint);
    assert_non_null (first);
    char folder [128];
    snprintf (folder, sizeof folder, "%s/bus", s_dir);
    struct stat info;
    assert_int_equal (stat (folder, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0700);
    //  held: a second claim fails, whoever asks
    assert_null (pst_endpoint_claim (endpoint));
    //  a socket bound there by someone who took no lock is seen too
    pst_endpoint_release (&first);
    assert_null (first);
    zsock_t *squatter = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (squatter, "%s", endpoint) >= 0);
    assert_null (pst_endpoint_claim (endpoint));
    zsock_destroy (&squatter);
    //  a stale socket file (its server gone) is no obstacle, once ZeroMQ's
    //  I/O thread has closed the listener (asynchronously, within moments)
    pst_endpoint_t *again = NULL;
    for (int tries = 0; !again && tries < 50; tries++) {
        again = pst_endpoint_claim (endpoint);
        if (!again)
            zclock_sleep (20);
    }
    assert_non_null (again);
    pst_endpoint_release (&again);
    //  tcp needs no claim
    pst_endpoint_t *tcp = pst_endpoint_claim ("tcp://127.0.0.1:*");
    assert_non_null (tcp);
    pst_endpoint_release (&tcp);
}

static void
test_refused (void **state)
{
    (void) state;
    char endpoint [256];
    //  108 bytes of path: one more than sun_path holds
    char path [109];
    int prefix = snprintf (path, sizeof path, "%s/bus/", s_dir);
    memset (path + prefix, 'x', sizeof path - 1 - (size_t) prefix);
    path [sizeof path - 1] = 0;
    snprintf (endpoint, sizeof endpoint, "ipc://%s", path);
    assert_null (pst_endpoint_claim (endpoint));
    //  a folder others may enter
    char folder [128];
    snprintf (folder, sizeof folder, "%s/open", s_dir);
    assert_int_equal (mkdir (folder, 0755), 0);
    assert_int_equal (chmod (folder, 0755), 0);
    snprintf (endpoint, sizeof endpoint, "ipc://%s/mfa.sock", folder);
    assert_null (pst_endpoint_claim (endpoint));
    assert_int_equal (pst_endpoint_prepare_dir (endpoint), -1);
    //  no folder of its own
    assert_null (pst_endpoint_claim ("ipc://relative.sock"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_claimed_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
