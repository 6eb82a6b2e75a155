//  pst_actor: the start-up report, its failure modes, $TERM, per-thread clean-up,
//  and the wait on sockets' descriptors.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "pst_actor.h"
#include "pst_crypto.h"

//  How the test body behaves, and what it saw
typedef struct {
    const char *mode;
    atomic_int commands;        //  commands other than $TERM it was sent
    atomic_int ended;           //  1 once the body returned
} body_t;

//  Answers "PING" with "PONG", so a test can see what else is on the pipe
static void
s_serve (zsock_t *pipe, body_t *body)
{
    while (true) {
        char *command = zstr_recv (pipe);
        if (!command || streq (command, "$TERM")) {
            zstr_free (&command);
            break;
        }
        atomic_fetch_add (&body->commands, 1);
        if (streq (command, "PING"))
            zstr_send (pipe, "PONG");
        zstr_free (&command);
    }
}

static void
s_body (zsock_t *pipe, void *args)
{
    body_t *body = (body_t *) args;
    if (streq (body->mode, "values")) {
        pst_actor_ready (pipe, "si", "tcp://127.0.0.1:5601", 443);
        s_serve (pipe, body);
    }
    else
    if (streq (body->mode, "none")) {
        pst_actor_ready (pipe, NULL);
        s_serve (pipe, body);
    }
    else
    if (streq (body->mode, "failed"))
        pst_actor_failed (pipe, "no database");
    else
    if (streq (body->mode, "wait_term")) {
        pst_actor_ready (pipe, NULL);
        pst_actor_wait_term (pipe);
    }
    else
    if (streq (body->mode, "term_received")) {
        pst_actor_ready (pipe, NULL);
        //  Reports each verdict, so the test sees every command's
        while (true) {
            bool term = pst_actor_term_received (pipe);
            if (term)
                break;
            atomic_fetch_add (&body->commands, 1);
            zstr_send (pipe, "not term");
        }
    }
    else
    if (streq (body->mode, "named")) {
        //  Reports the name the kernel keeps for this thread
        pst_actor_name ("postern-named-thread");
        char name [16] = "";
        pthread_getname_np (pthread_self (), name, sizeof name);
        pst_actor_ready (pipe, "s", name);
        pst_actor_wait_term (pipe);
    }
    else
    if (streq (body->mode, "openssl")) {
        //  Gives this thread OpenSSL state, which the end of the actor frees
        char digest [65];
        pst_sha256_hex ("abc", 3, digest);
        pst_actor_ready (pipe, "s", digest);
        pst_actor_wait_term (pipe);
    }
    //  "silent": returns without a report
    atomic_store (&body->ended, 1);
}

static void
test_ready_reports_values (void **state)
{
    (void) state;
    body_t body = { .mode = "values" };
    char *endpoint = NULL;
    int port = 0;
    zactor_t *actor = pst_actor_new (s_body, &body, "si", &endpoint, &port);
    assert_non_null (actor);
    assert_string_equal (endpoint, "tcp://127.0.0.1:5601");
    assert_int_equal (port, 443);
    //  Nothing of the report is left on the pipe
    zstr_send (actor, "PING");
    char *answer = zstr_recv (actor);
    assert_string_equal (answer, "PONG");
    zstr_free (&answer);
    zstr_free (&endpoint);
    zactor_destroy (&actor);
    assert_null (actor);
    assert_int_equal (atomic_load (&body.ended), 1);
}

static void
test_ready_without_values (void **state)
{
    (void) state;
    body_t body = { .mode = "none" };
    zactor_t *actor = pst_actor_new (s_body, &body, NULL);
    assert_non_null (actor);
    zstr_send (actor, "PING");
    char *answer = zstr_recv (actor);
    assert_string_equal (answer, "PONG");
    zstr_free (&answer);
    zactor_destroy (&actor);
    assert_int_equal (atomic_load (&body.ended), 1);
}

//  Values the creator did not ask for are dropped with the report
static void
test_unwanted_values_dropped (void **state)
{
    (void) state;
    body_t body = { .mode = "values" };
    zactor_t *actor = pst_actor_new (s_body, &body, NULL);
    assert_non_null (actor);
    zstr_send (actor, "PING");
    char *answer = zstr_recv (actor);
    assert_string_equal (answer, "PONG");
    zstr_free (&answer);
    zactor_destroy (&actor);
}

static void
test_failed_is_null (void **state)
{
    (void) state;
    body_t body = { .mode = "failed" };
    char *endpoint = (char *) "untouched";
    zactor_t *actor = pst_actor_new (s_body, &body, "s", &endpoint);
    assert_null (actor);
    assert_string_equal (endpoint, "untouched");
    //  The actor has ended by then
    assert_int_equal (atomic_load (&body.ended), 1);
}

//  A body that returns without a report is a failure, not a creator that waits
//  forever (nor one that mistakes the thread's end for a report)
static void
test_silent_body_is_null (void **state)
{
    (void) state;
    body_t body = { .mode = "silent" };
    zactor_t *actor = pst_actor_new (s_body, &body, NULL);
    assert_null (actor);
    body_t again = { .mode = "silent" };
    char *endpoint = NULL;
    actor = pst_actor_new (s_body, &again, "s", &endpoint);
    assert_null (actor);
    assert_null (endpoint);
}

//  Values asked for but none reported: a mismatch, reported as a failure
static void
test_missing_values_is_null (void **state)
{
    (void) state;
    body_t body = { .mode = "none" };
    char *endpoint = NULL;
    zactor_t *actor = pst_actor_new (s_body, &body, "s", &endpoint);
    assert_null (actor);
    assert_null (endpoint);
    assert_int_equal (atomic_load (&body.ended), 1);
}

static void
test_wait_term_drops_other_commands (void **state)
{
    (void) state;
    body_t body = { .mode = "wait_term" };
    zactor_t *actor = pst_actor_new (s_body, &body, NULL);
    assert_non_null (actor);
    zstr_send (actor, "PING");
    zstr_send (actor, "WAKE");
    //  Still waiting: PING got no answer and did not end it
    zpoller_t *poller = zpoller_new (actor, NULL);
    assert_null (zpoller_wait (poller, 100));
    assert_int_equal (atomic_load (&body.ended), 0);
    zpoller_destroy (&poller);
    zactor_destroy (&actor);
    assert_int_equal (atomic_load (&body.ended), 1);
}

static void
test_term_received (void **state)
{
    (void) state;
    body_t body = { .mode = "term_received" };
    zactor_t *actor = pst_actor_new (s_body, &body, NULL);
    assert_non_null (actor);
    zstr_send (actor, "WAKE");
    char *answer = zstr_recv (actor);
    assert_string_equal (answer, "not term");
    zstr_free (&answer);
    zstr_send (actor, "$TERMINATE");
    answer = zstr_recv (actor);
    assert_string_equal (answer, "not term");
    zstr_free (&answer);
    assert_int_equal (atomic_load (&body.commands), 2);
    zactor_destroy (&actor);
    assert_int_equal (atomic_load (&body.ended), 1);
    assert_int_equal (atomic_load (&body.commands), 2);
}

//  A body that used OpenSSL ends cleanly (its thread state freed by the shim,
//  which ASan would report if it were freed twice), and the clean-up can run
//  again in a thread that has none left
static void
test_thread_end (void **state)
{
    (void) state;
    for (int round = 0; round < 4; round++) {
        body_t body = { .mode = "openssl" };
        char *digest = NULL;
        zactor_t *actor = pst_actor_new (s_body, &body, "s", &digest);
        assert_non_null (actor);
        assert_string_equal (digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        zstr_free (&digest);
        zactor_destroy (&actor);
        assert_int_equal (atomic_load (&body.ended), 1);
    }
    pst_actor_thread_end ();
    pst_actor_thread_end ();
}

//  pst_actor_name names the body's own thread, its first 15 bytes
static void
test_thread_name (void **state)
{
    (void) state;
    char mine [16] = "", after [16] = "";
    pthread_getname_np (pthread_self (), mine, sizeof mine);
    body_t body = { .mode = "named" };
    char *name = NULL;
    zactor_t *actor = pst_actor_new (s_body, &body, "s", &name);
    assert_non_null (actor);
    assert_string_equal (name, "postern-named-t");
    zstr_free (&name);
    zactor_destroy (&actor);
    //  The creator's thread keeps its own name
    pthread_getname_np (pthread_self (), after, sizeof after);
    assert_string_equal (after, mine);
}

//  pst_actor_wait: what woke it, each alone; which socket fired; a command
//  other than $TERM is read and dropped; a socket read until empty is waited
//  on again.
static void
test_actor_wait (void **state)
{
    (void) state;
    zsock_t *owner = NULL;
    zsock_t *inbox = zsys_create_pipe (&owner);   //  as an actor's pipe
    zsock_t *pull = zsock_new_pull ("inproc://test-actor-wait");
    zsock_t *push = zsock_new_push ("inproc://test-actor-wait");
    zsock_t *other_pull = zsock_new_pull ("inproc://test-actor-wait-other");
    zsock_t *other_push = zsock_new_push ("inproc://test-actor-wait-other");
    int fds [2];
    assert_non_null (inbox);
    assert_non_null (pull);
    assert_non_null (push);
    assert_non_null (other_pull);
    assert_non_null (other_push);
    assert_int_equal (pipe (fds), 0);
    zsock_set_rcvtimeo (pull, 0);
    zsock_set_rcvtimeo (other_pull, 0);
    zsock_t *sockets [2] = { pull, other_pull };
    bool fired [2] = { true, true };

    //  The first look at each: empty, so their descriptors are armed
    assert_false (pst_actor_term_pending (inbox));
    assert_null (zstr_recv (pull));
    assert_null (zstr_recv (other_pull));
    assert_int_equal (pst_actor_wait (inbox, sockets, 2, fds [0], 0, fired), 0);
    assert_false (fired [0]);
    assert_false (fired [1]);

    //  Only the socket that received says it fired
    zstr_send (other_push, "job");
    int woke = pst_actor_wait (inbox, sockets, 2, fds [0], 10000, fired);
    assert_int_equal (woke, PST_ACTOR_WOKE_SOCKET);
    assert_false (fired [0]);
    assert_true (fired [1]);
    char *job = zstr_recv (other_pull);
    assert_string_equal (job, "job");
    zstr_free (&job);
    assert_null (zstr_recv (other_pull));

    zstr_send (push, "job");
    woke = pst_actor_wait (inbox, sockets, 2, fds [0], 10000, fired);
    assert_int_equal (woke, PST_ACTOR_WOKE_SOCKET);
    assert_true (fired [0]);
    assert_false (fired [1]);
    job = zstr_recv (pull);
    assert_string_equal (job, "job");
    zstr_free (&job);
    assert_null (zstr_recv (pull));

    assert_int_equal (write (fds [1], "x", 1), 1);
    assert_int_equal (pst_actor_wait (inbox, sockets, 2, fds [0], 10000, fired),
                      PST_ACTOR_WOKE_FD);
    assert_false (fired [0]);
    assert_false (fired [1]);
    char byte;
    assert_int_equal (read (fds [0], &byte, 1), 1);

    //  Another command wakes it and is dropped; $TERM is said
    zstr_send (owner, "WAKE");
    assert_int_equal (pst_actor_wait (inbox, sockets, 2, -1, 10000, NULL), 0);
    assert_false (zsock_events (inbox) & ZMQ_POLLIN);
    zstr_send (owner, "$TERM");
    assert_int_equal (pst_actor_wait (inbox, sockets, 2, -1, 10000, NULL), PST_ACTOR_WOKE_TERM);

    assert_int_equal (pst_actor_wait (inbox, sockets, PST_ACTOR_WAIT_MAX + 1, -1, 0, NULL), -1);
    close (fds [0]);
    close (fds [1]);
    zsock_destroy (&other_push);
    zsock_destroy (&other_pull);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zsock_destroy (&inbox);
    zsock_destroy (&owner);
}

int
main (void)
{
    zsys_init ();
    if (pst_crypto_init () != 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ready_reports_values),
        cmocka_unit_test (test_ready_without_values),
        cmocka_unit_test (test_unwanted_values_dropped),
        cmocka_unit_test (test_failed_is_null),
        cmocka_unit_test (test_silent_body_is_null),
        cmocka_unit_test (test_missing_values_is_null),
        cmocka_unit_test (test_wait_term_drops_other_commands),
        cmocka_unit_test (test_term_received),
        cmocka_unit_test (test_thread_end),
        cmocka_unit_test (test_thread_name),
        cmocka_unit_test (test_actor_wait),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
