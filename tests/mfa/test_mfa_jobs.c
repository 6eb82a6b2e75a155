//  Service tests of the mail dispatcher: jobs go to mailers by readiness, a gone
//  mailer voids the challenge (S20), mail.result failures become `fn` events.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "mfa_test_support.h"
#include "test_keys.h"

static void
test_jobs_shared_by_mailers (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *first = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, first, "auth0|sam", "sam@example.com", NULL);
    assert_int_equal (test_mailer_count (first), 1);

    //  A second replica joins: without any configuration it takes a share
    test_mailer_t *second = test_mailer_new (mfa->jobs);
    char *token = mfa_test_begin (mfa, "auth0|sam", "sam@example.com");
    int sent = 0;
    while (sent < 12 && (test_mailer_count (second) < 2 || test_mailer_count (first) < 3)) {
        pst_msg_t *reply = mfa_test_challenge (mfa, token);
        assert_reply_ok (reply);
        pst_msg_destroy (&reply);
        sent++;
    }
    int one = test_mailer_count (first), two = test_mailer_count (second);
    assert_int_equal (one + two, 1 + sent);
    assert_true (one >= 3);
    assert_true (two >= 2);
    free (token);
    test_mailer_destroy (&first);
    test_mailer_destroy (&second);
    mfa_harness_destroy (&mfa);
}

static void
test_gone_mailer_voids_challenge (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *mailer = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, mailer, "auth0|tina", "tina@example.com", NULL);
    test_mailer_destroy (&mailer);

    char *token = mfa_test_begin (mfa, "auth0|tina", "tina@example.com");
    pst_msg_t *reply = mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s}", "mfa_token", token, "client_id", "app1"), NULL, 800);
    assert_reply_error (reply, "temporarily_unavailable", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM challenges WHERE state = 'void'"), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_send_email_failure'"), 1);

    //  A new mailer takes over
    mailer = test_mailer_new (mfa->jobs);
    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (mailer), 1);
    free (token);
    test_mailer_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

static void
test_mail_result_recorded (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *mailer = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, mailer, "auth0|uma", "uma@example.com", NULL);
    char *job = test_mailer_last (mailer);
    json_t *body = json_loads (job, 0, NULL);
    char *job_id = strdup (json_string_value (json_object_get (body, "job_id")));
    json_decref (body);
    zstr_free (&job);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM mail_jobs WHERE state = 'accepted'"), 1);

    assert_int_equal (test_mailer_report (mailer, job_id, "failed"), 0);
    assert_int_equal (mfa_test_db_wait (mfa,
        "SELECT count(*) FROM audit WHERE type = 'fn' AND user_id = 'auth0|uma'"
        " AND result = 'failure'", 1, 3000), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM mail_jobs WHERE state = 'failed'"), 1);
    //  An unknown job or result changes nothing
    assert_int_equal (test_mailer_report (mailer, "0123456789abcdef", "failed"), 0);
    assert_int_equal (test_mailer_report (mailer, job_id, "bogus"), 0);
    assert_int_equal (test_mailer_report (mailer, job_id, "sent"), 0);
    assert_int_equal (mfa_test_db_wait (mfa,
        "SELECT count(*) FROM mail_jobs WHERE state = 'sent'", 1, 3000), 1);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM audit WHERE type = 'fn'"), 1);
    free (job_id);
    test_mailer_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

//  The next message on sock within timeout_ms, decoded, or NULL.
static pst_msg_t *
s_recv_within (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    pst_msg_t *msg = zpoller_wait (poller, timeout_ms)? pst_bus_recv_dealer (sock): NULL;
    zpoller_destroy (&poller);
    return msg;
}

//  The jobs socket's table: a request (mail.check) is checked centrally before
//  its handler (expired: dropped; a missing job_id: refused by name); a note
//  missing a required parameter changes nothing.
static void
test_jobs_table_checks (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *mailer = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, mailer, "auth0|val", "val@example.com", NULL);
    char *job = test_mailer_last (mailer);
    json_t *body = json_loads (job, 0, NULL);
    char *job_id = strdup (json_string_value (json_object_get (body, "job_id")));
    json_decref (body);
    zstr_free (&job);

    zsock_t *sock = test_keys_dealer ("mailer", "mfa", mfa->jobs);
    assert_non_null (sock);
    //  mail.check without job_id, or with an empty one
    for (int empty = 0; empty < 2; empty++) {
        pst_msg_t *request = pst_msg_new_request ("mail.check", 2000);
        if (empty)
            json_object_set_new (pst_msg_body (request), "job_id", json_string (""));
        assert_int_equal (pst_bus_send (sock, NULL, request), 0);
        pst_msg_t *reply = s_recv_within (sock, 2000);
        assert_non_null (reply);
        assert_string_equal (pst_msg_id (reply), pst_msg_id (request));
        assert_reply_error (reply, "invalid_request", "Missing required parameter: job_id");
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    //  past its deadline: no answer at all
    pst_msg_t *request = pst_msg_new_request ("mail.check", 2000);
    json_object_set_new (pst_msg_body (request), "job_id", json_string (job_id));
    pst_msg_set_deadline (request, (uint64_t) zclock_time () - 1000);
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    pst_msg_destroy (&request);
    pst_msg_t *reply = s_recv_within (sock, 500);
    assert_null (reply);

    //  mail.result without result: the job is not touched
    request = pst_msg_new_request ("mail.result", 2000);
    json_object_set_new (pst_msg_body (request), "job_id", json_string (job_id));
    json_object_set_new (pst_msg_body (request), "detail", json_string ("550 no"));
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    pst_msg_destroy (&request);
    //  nor does a well-formed one about a job that is not ours
    request = pst_msg_new_request ("mail.result", 2000);
    json_object_set_new (pst_msg_body (request), "job_id", json_string ("0123456789abcdef"));
    json_object_set_new (pst_msg_body (request), "result", json_string ("sent"));
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    pst_msg_destroy (&request);
    //  a check sent after both notes is answered after they were handled (one
    //  thread, in order)
    request = pst_msg_new_request ("mail.check", 2000);
    json_object_set_new (pst_msg_body (request), "job_id", json_string (job_id));
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    reply = s_recv_within (sock, 2000);
    assert_non_null (reply);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    //  A result waits in the writer for the next waited commit (mfa_writer's
    //  linger): a sign-in's write, queued after them, commits whatever they wrote
    char *token = mfa_test_begin (mfa, "auth0|after-results", "after-results@example.com");
    free (token);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM mail_jobs WHERE state = 'accepted'"), 1);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM audit WHERE type = 'fn'"), 0);

    zsock_destroy (&sock);
    free (job_id);
    test_mailer_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

//  mail.ready {credit, received, epoch} to the jobs socket from sock
static void
s_ready (zsock_t *sock, int credit, int received, const char *epoch)
{
    pst_msg_t *ready = pst_msg_new_request ("mail.ready", 3000);
    json_object_set_new (pst_msg_body (ready), "credit", json_integer (credit));
    json_object_set_new (pst_msg_body (ready), "received", json_integer (received));
    json_object_set_new (pst_msg_body (ready), "epoch", json_string (epoch));
    assert_int_equal (pst_bus_send (sock, NULL, ready), 0);
    pst_msg_destroy (&ready);
}

//  The next mail.send on the mailer's socket within timeout_ms (kept in jobs
//  for its answer), or 0 when none came
static int
s_job_within (zsock_t *sock, zlistx_t *jobs, int timeout_ms)
{
    pst_msg_t *job = s_recv_within (sock, timeout_ms);
    if (!job)
        return 0;
    assert_string_equal (pst_msg_op (job), "mail.send");
    zlistx_add_end (jobs, job);
    return 1;
}

//  A mailer's credit counts from the jobs it had read when it wrote it: jobs
//  mfa sent since are on their way and come off it, so a second mail.ready
//  written before they arrived grants nothing more (a burst never outruns the
//  mailer's room). A new run of the mailer (another epoch) counts afresh.
static void
test_credit_counts_jobs_on_their_way (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *helper = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, helper, "auth0|una", "una@example.com", NULL);
    test_mailer_destroy (&helper);

    zsock_t *mailer = test_keys_dealer ("mailer", "mfa", mfa->jobs);
    zsock_t *gateway = test_keys_dealer ("gateway", "mfa", mfa->api);
    assert_non_null (mailer);
    assert_non_null (gateway);
    s_ready (mailer, 2, 0, "run-one");
    for (int index = 0; index < 4; index++) {
        char *token = mfa_test_begin (mfa, "auth0|una", "una@example.com");
        pst_msg_t *request = pst_msg_new_request ("challenge.create", 8000);
        json_object_set_new (pst_msg_body (request), "mfa_token", json_string (token));
        json_object_set_new (pst_msg_body (request), "client_id", json_string ("app1"));
        json_object_set_new (pst_msg_body (request), "challenge_type", json_string ("oob"));
        pst_msg_set_caller (request, "test-caller", NULL);
        pst_msg_set_client_ip (request, "127.0.0.1");
        assert_int_equal (pst_bus_send (gateway, NULL, request), 0);
        pst_msg_destroy (&request);
        free (token);
    }
    zlistx_t *jobs = zlistx_new ();
    assert_int_equal (s_job_within (mailer, jobs, 3000), 1);
    assert_int_equal (s_job_within (mailer, jobs, 3000), 1);
    assert_int_equal (s_job_within (mailer, jobs, 500), 0);
    //  Written as if those two were still on their way: nothing more
    s_ready (mailer, 2, 0, "run-one");
    assert_int_equal (s_job_within (mailer, jobs, 500), 0);
    //  A restarted mailer has read nothing of its new run: one more
    s_ready (mailer, 1, 0, "run-two");
    assert_int_equal (s_job_within (mailer, jobs, 3000), 1);
    assert_int_equal (s_job_within (mailer, jobs, 500), 0);
    //  It read that one: the last comes
    s_ready (mailer, 1, 1, "run-two");
    assert_int_equal (s_job_within (mailer, jobs, 3000), 1);
    assert_int_equal (zlistx_size (jobs), 4);

    //  Every job stored: each challenge is answered
    pst_msg_t *job;
    while ((job = (pst_msg_t *) zlistx_detach (jobs, NULL))) {
        pst_msg_t *ack = pst_msg_new_reply (job);
        assert_int_equal (pst_bus_send (mailer, NULL, ack), 0);
        pst_msg_destroy (&ack);
        pst_msg_destroy (&job);
    }
    for (int index = 0; index < 4; index++) {
        pst_msg_t *reply = s_recv_within (gateway, 3000);
        assert_reply_ok (reply);
        pst_msg_destroy (&reply);
    }
    zlistx_destroy (&jobs);
    zsock_destroy (&gateway);
    zsock_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_jobs_shared_by_mailers),
        cmocka_unit_test (test_gone_mailer_voids_challenge),
        cmocka_unit_test (test_mail_result_recorded),
        cmocka_unit_test (test_jobs_table_checks),
        cmocka_unit_test (test_credit_counts_jobs_on_their_way),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
