/*  Unit test of pst_msg's deadlines across a wall clock step: the time a
    request has left must not grow when the wall clock is stepped back (an NTP
    step after a virtual machine resumes, an operator's `date -s`). A step
    forward may end it early: the deadline is Unix ms, shared with other hosts.

    The step is real: the test runs itself again under libfaketime, which reads
    the wall clock's offset from a file on every call and leaves the monotonic
    clock alone, as the kernel does when the wall clock is set.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_msg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS      5000
#define HOUR_MS         3600000

//  Where Debian's libfaketime package puts its library, by architecture
static const char *s_faketime_paths [] = {
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    NULL
};

static const char *s_offset_file;

static uint64_t
s_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

//  Sets the wall clock's offset and checks that it took: a test that ran
//  without libfaketime would otherwise pass without a step
static void
s_step (const char *offset, int64_t expected_ms)
{
    FILE *file = fopen (s_offset_file, "w");
    assert_non_null (file);
    fprintf (file, "%s\n", offset);
    assert_int_equal (fclose (file), 0);
    struct timespec real;
    clock_gettime (CLOCK_MONOTONIC, &real);
    static int64_t s_base_gap;
    static int s_have_base;
    //  The gap between the two clocks moves by the step and nothing else
    int64_t gap = (int64_t) s_wall_ms () - ((int64_t) real.tv_sec * 1000 + real.tv_nsec / 1000000);
    if (!s_have_base) {
        s_base_gap = gap;
        s_have_base = 1;
    }
    int64_t moved = gap - s_base_gap;
    assert_true (moved > expected_ms - 1000 && moved < expected_ms + 1000);
}

static void
test_step_back_does_not_lengthen (void **state)
{
    (void) state;
    s_step ("+0", 0);
    pst_msg_t *request = pst_msg_new_request ("a.b", TIMEOUT_MS);
    assert_non_null (request);
    pst_msg_t *anchored = pst_msg_new_request ("a.b", 0);
    pst_msg_set_deadline (anchored, s_wall_ms () + TIMEOUT_MS);
    //  A message decoded before the step, as a service receives one
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal (pst_msg_encode (request, &data, &size), 0);
    pst_msg_t *decoded = NULL;
    assert_int_equal (pst_msg_decode (data, size, &decoded), 0);
    free (data);
    int before = pst_msg_remaining_ms (request);
    assert_true (before > 0 && before <= TIMEOUT_MS);

    s_step ("-1h", -HOUR_MS);
    //  By the wall clock alone, each has an hour and five seconds left
    pst_msg_t *reply = pst_msg_new_reply (request);
    pst_msg_t *forward = pst_msg_new_forward (decoded);
    //  A call made now for the request, with a longer timeout of its own: it
    //  must not outlive the request (authn's calls to mfa)
    pst_msg_t *call = pst_msg_new_request ("c.d", 2 * TIMEOUT_MS);
    pst_msg_cap_deadline (call, decoded);
    pst_msg_t *capped = pst_msg_new_forward (decoded);
    pst_msg_cap_timeout (capped, 2 * TIMEOUT_MS);
    pst_msg_t *all [] = { request, anchored, decoded, reply, forward, call, capped };
    for (size_t i = 0; i < sizeof all / sizeof all [0]; i++) {
        int left = pst_msg_remaining_ms (all [i]);
        assert_true (left > 0 && left <= TIMEOUT_MS);
    }
    //  The wall clock still dates the deadline on the wire
    assert_true (pst_msg_deadline (decoded) > s_wall_ms () + HOUR_MS);

    //  A deadline set after the step counts from the new wall clock
    pst_msg_set_deadline (anchored, s_wall_ms () + TIMEOUT_MS);
    int left = pst_msg_remaining_ms (anchored);
    assert_true (left > TIMEOUT_MS - 1000 && left <= TIMEOUT_MS);
    for (size_t i = 0; i < sizeof all / sizeof all [0]; i++)
        pst_msg_destroy (&all [i]);
}

static void
test_step_forward_ends_early (void **state)
{
    (void) state;
    s_step ("+0", 0);
    pst_msg_t *request = pst_msg_new_request ("a.b", TIMEOUT_MS);
    s_step ("+1h", HOUR_MS);
    assert_int_equal (pst_msg_remaining_ms (request), 0);
    pst_msg_destroy (&request);
    s_step ("+0", 0);
}

int
main (int argc, char *argv [])
{
    (void) argc;
    //  First run: the same program again, under libfaketime
    if (!getenv ("POSTERN_CLOCK_STEP_CHILD")) {
        const char *library = getenv ("POSTERN_FAKETIME_LIB");
        for (int i = 0; !library && s_faketime_paths [i]; i++)
            if (access (s_faketime_paths [i], R_OK) == 0)
                library = s_faketime_paths [i];
        if (!library) {
            fprintf (stderr, "libfaketime is not installed (scripts/install-deps.sh installs it)\n");
            return 1;
        }
        char offset_file [] = "/tmp/postern-faketime-XXXXXX";
        int fd = mkstemp (offset_file);
        if (fd < 0) {
            perror ("offset file");
            return 1;
        }
        ssize_t written = write (fd, "+0\n", 3);
        close (fd);
        if (written != 3) {
            perror ("offset file");
            unlink (offset_file);
            return 1;
        }
        //  A sanitized build's runtime must come first among the libraries;
        //  libfaketime only wraps the clock calls, so the order check is off
        const char *asan = getenv ("ASAN_OPTIONS");
        char asan_options [1024];
        snprintf (asan_options, sizeof asan_options, "%s%sverify_asan_link_order=0",
                  asan? asan: "", asan && *asan? ":": "");
        setenv ("ASAN_OPTIONS", asan_options, 1);
        setenv ("LD_PRELOAD", library, 1);
        setenv ("FAKETIME_TIMESTAMP_FILE", offset_file, 1);
        setenv ("POSTERN_CLOCK_STEP_CHILD", "1", 1);
        setenv ("FAKETIME_NO_CACHE", "1", 1);
        setenv ("DONT_FAKE_MONOTONIC", "1", 1);
        setenv ("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
        pid_t child = fork ();
        if (child == 0) {
            execv ("/proc/self/exe", argv);
            perror ("execv");
            _exit (127);
        }
        int status = 0;
        int waited = child > 0? waitpid (child, &status, 0): -1;
        unlink (offset_file);
        if (waited < 0 || !WIFEXITED (status)) {
            fprintf (stderr, "the run under libfaketime did not finish\n");
            return 1;
        }
        return WEXITSTATUS (status);
    }
    s_offset_file = getenv ("FAKETIME_TIMESTAMP_FILE");
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_step_back_does_not_lengthen),
        cmocka_unit_test (test_step_forward_ends_early),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
