//  Service tests of what mfa.db's commits cost (each one an fsync, S28): a
//  challenge commits twice (its claim on the request id and the send bucket
//  before the mail; its rows, audit row and kept reply after it), a verification
//  once, parallel challenges share their commits (mfa_writer's group commit), a
//  request id sent twice at once still runs once (S26), a mailer's result or
//  check that comes before its challenge's commit is not lost, and an
//  authenticator deleted while its code was mailed leaves the challenge void.
//
//  Commits are counted as SQLite writes them: the commit frames of mfa.db's WAL.
//  Batches are made deterministic without timing: the test holds the write lock
//  of mfa.db, so the writer's first batch waits, until every transaction has
//  reached the writer (mfa_writer_pending_all): however many of them that first
//  batch took, the rest are in the next one. The fake mailer holds its
//  acknowledgements until every job has come.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "mfa_test_support.h"
#include "mfa_writer.h"
#include "test_db.h"
#include "test_keys.h"
#include <sqlite3.h>

#define PARALLEL        8
#define WAIT_LIMIT_MS   10000

typedef mfa_fixture_t fixture_t;

static void
s_tune (mfa_config_t *config)
{
    //  One worker per request in flight, so they all reach the writer together
    config->workers = PARALLEL;
}

static int
s_setup (void **state)
{
    *state = mfa_fixture_new (s_tune);
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_fixture_destroy ((mfa_fixture_t **) state);
    return 0;
}

//  A connection of the test's own, on mfa's engine, to hold the writers' lock:
//  its transactions are mfa's (BEGIN IMMEDIATE, or PostgreSQL's advisory lock)
static pst_sql_t *
s_lock_open (fixture_t *fixture)
{
    return mfa_test_db (fixture->mfa);
}

//  A read-write SQLite connection of the test's own, to see the WAL
static sqlite3 *
s_open (fixture_t *fixture)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (fixture->mfa->config->db_path, &db,
                                       SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    return db;
}

static void
s_exec (sqlite3 *db, const char *sql)
{
    assert_int_equal (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
}

//  Empties the WAL, so that every frame in it from now on is ours to count
static void
s_wal_reset (fixture_t *fixture)
{
    sqlite3 *db = s_open (fixture);
    //  A connection learns the journal mode on its first read
    s_exec (db, "SELECT count(*) FROM sqlite_master");
    int log = -1, done = -1;
    assert_int_equal (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                                 &log, &done), SQLITE_OK);
    assert_int_equal (log, 0);
    sqlite3_close (db);
}

//  Commits in mfa.db's WAL since s_wal_reset: the frames of the current WAL
//  (their salts are the header's) whose "database size after commit" is set.
static int
s_wal_commits (fixture_t *fixture)
{
    char path [300];
    snprintf (path, sizeof path, "%s-wal", fixture->mfa->config->db_path);
    FILE *file = fopen (path, "rb");
    if (!file)
        return 0;
    uint32_t header [8];
    int commits = 0;
    if (fread (header, sizeof header, 1, file) == 1) {
        uint32_t page_size = ntohl (header [2]);
        uint32_t frame [6];
        while (page_size && fread (frame, sizeof frame, 1, file) == 1
        &&     frame [2] == header [4] && frame [3] == header [5]) {
            if (frame [1] != 0)
                commits++;
            if (fseek (file, page_size, SEEK_CUR) != 0)
                break;
        }
    }
    fclose (file);
    return commits;
}

//  Waits until count transactions have reached the writer
static void
s_wait_pending (long count)
{
    int64_t until = zclock_mono () + WAIT_LIMIT_MS;
    while (mfa_writer_pending_all () < count && zclock_mono () < until)
        zclock_sleep (1);
    assert_int_equal (mfa_writer_pending_all (), count);
}

static void
s_wait_jobs (fixture_t *fixture, int count)
{
    int64_t until = zclock_mono () + WAIT_LIMIT_MS;
    while (test_mailer_count (fixture->mailer) < count && zclock_mono () < until)
        zclock_sleep (5);
    assert_int_equal (test_mailer_count (fixture->mailer), count);
}

static pst_msg_t *
s_challenge_request (const char *token)
{
    pst_msg_t *request = pst_msg_new_request ("challenge.create", WAIT_LIMIT_MS);
    json_t *body = json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                              "challenge_type", "oob");
    pst_msg_set_body (request, &body);
    return request;
}

static void
s_send (pst_client_t *client, const pst_msg_t *request)
{
    //  The first send waits for the connection, the rest go out at once
    while (pst_bus_send (pst_client_sock (client), NULL, request) != 0)
        zclock_sleep (5);
}

static pst_msg_t *
s_receive (pst_client_t *client)
{
    zpoller_t *poller = zpoller_new (pst_client_sock (client), NULL);
    void *which = zpoller_wait (poller, WAIT_LIMIT_MS);
    zpoller_destroy (&poller);
    assert_non_null (which);
    pst_msg_t *reply = pst_bus_recv_dealer (pst_client_sock (client));
    assert_non_null (reply);
    return reply;
}

//  ---------------------------------------------------------------------------

static void
test_a_challenge_commits_twice (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|ida", "ida@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|ida", "ida@example.com");

    s_wal_reset (fixture);
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_ok (reply);
    //  Before the mail (claim, send bucket) and after it (challenge, job, audit, reply)
    assert_int_equal (s_wal_commits (fixture), 2);
    char *oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM reply_cache WHERE op = 'challenge.create' AND sealed IS NOT NULL"), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_send_email' AND user_id = 'auth0|ida'"), 2);

    //  A verification is one transaction: claim, attempt, audit and reply in one commit
    char *code = test_mailer_code (fixture->mailer);
    s_wal_reset (fixture);
    reply = mfa_test_verify (fixture->mfa, token, oob_code, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (s_wal_commits (fixture), 1);
    //  The enrolment's verification, and this one
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM reply_cache WHERE op = 'mfa.verify_oob' AND sealed IS NOT NULL"), 2);
    free (code);
    free (oob_code);
    free (token);
}

static void
test_parallel_challenges_share_commits (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|max", "max@example.com", NULL);
    char *tokens [PARALLEL];
    for (int i = 0; i < PARALLEL; i++)
        tokens [i] = mfa_test_begin (fixture->mfa, "auth0|max", "max@example.com");
    int jobs = test_mailer_count (fixture->mailer);
    pst_client_t *client = pst_client_new (fixture->mfa->api, test_keys_curve ("gateway"), "mfa");
    sqlite3 *db = s_open (fixture);
    s_wal_reset (fixture);

    //  The first transactions: the writer's first batch waits for our lock, the
    //  others queue behind it and share the next commit
    test_mailer_hold (fixture->mailer, 1);
    s_exec (db, "BEGIN IMMEDIATE");
    for (int i = 0; i < PARALLEL; i++) {
        pst_msg_t *request = s_challenge_request (tokens [i]);
        s_send (client, request);
        pst_msg_destroy (&request);
    }
    s_wait_pending (PARALLEL);
    s_exec (db, "ROLLBACK");
    s_wait_jobs (fixture, jobs + PARALLEL);
    //  Two batches, or one when the writer woke after they had all come
    int prepared = s_wal_commits (fixture);
    assert_in_range (prepared, 1, 2);

    //  The second transactions, once the mailer acknowledges every job at once
    s_exec (db, "BEGIN IMMEDIATE");
    test_mailer_hold (fixture->mailer, 0);
    s_wait_pending (PARALLEL);
    s_exec (db, "ROLLBACK");
    zhashx_t *oob_codes = zhashx_new ();
    for (int i = 0; i < PARALLEL; i++) {
        pst_msg_t *reply = s_receive (client);
        assert_reply_ok (reply);
        zhashx_insert (oob_codes, pst_msg_get_str (reply, "oob_code"), "");
        pst_msg_destroy (&reply);
    }
    //  Sixteen transactions, four commits at most; every challenge made and answered
    assert_in_range (s_wal_commits (fixture) - prepared, 1, 2);
    assert_int_equal (zhashx_size (oob_codes), PARALLEL);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE state IN ('pending', 'superseded')"
        " AND user_id = 'auth0|max'"), PARALLEL);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE state = 'pending' AND user_id = 'auth0|max'"), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM reply_cache WHERE op = 'challenge.create' AND sealed IS NOT NULL"),
        PARALLEL);
    zhashx_destroy (&oob_codes);
    sqlite3_close (db);
    pst_client_destroy (&client);
    for (int i = 0; i < PARALLEL; i++)
        free (tokens [i]);
}

static void
test_a_request_id_sent_twice_at_once_runs_once (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|una", "una@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|una", "una@example.com");
    int jobs = test_mailer_count (fixture->mailer);
    pst_client_t *client = pst_client_new (fixture->mfa->api, test_keys_curve ("gateway"), "mfa");
    pst_sql_t *db = s_lock_open (fixture);

    //  Both runs look the id up before either has claimed it (our lock keeps the
    //  first claim from committing) and both reach the writer: one claims, the
    //  other finds the claim, writes nothing and answers with the first's reply
    assert_int_equal (pst_sql_begin (db), 0);
    pst_msg_t *request = s_challenge_request (token);
    s_send (client, request);
    s_send (client, request);
    pst_msg_destroy (&request);
    s_wait_pending (2);
    assert_int_equal (pst_sql_rollback (db), 0);
    pst_msg_t *first = s_receive (client);
    pst_msg_t *second = s_receive (client);
    assert_reply_ok (first);
    assert_reply_ok (second);
    assert_string_equal (pst_msg_get_str (first, "oob_code"), pst_msg_get_str (second, "oob_code"));
    assert_int_equal (test_mailer_count (fixture->mailer), jobs + 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE user_id = 'auth0|una' AND state = 'pending'"), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_send_email' AND user_id = 'auth0|una'"), 2);
    pst_msg_destroy (&first);
    pst_msg_destroy (&second);
    pst_sql_close (&db);
    pst_client_destroy (&client);
    free (token);
}

//  mail.check {job_id} from sock: the reply
static pst_msg_t *
s_mail_check (zsock_t *sock, const char *job_id)
{
    pst_msg_t *request = pst_msg_new_request ("mail.check", WAIT_LIMIT_MS);
    json_object_set_new (pst_msg_body (request), "job_id", json_string (job_id));
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    pst_msg_destroy (&request);
    zpoller_t *poller = zpoller_new (sock, NULL);
    pst_msg_t *reply = zpoller_wait (poller, WAIT_LIMIT_MS)? pst_bus_recv_dealer (sock): NULL;
    zpoller_destroy (&poller);
    assert_non_null (reply);
    return reply;
}

//  A challenge's rows are written once its mailer holds the job, so the
//  mailer's word on the job can come first: a check is told to ask again
//  later, and a result waits in a row of its own for the challenge, which
//  then writes the failed delivery's `fn` event with its user.
static void
test_a_mailers_word_before_its_challenge (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|ria", "ria@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|ria", "ria@example.com");
    int jobs = test_mailer_count (fixture->mailer);
    pst_client_t *client = pst_client_new (fixture->mfa->api, test_keys_curve ("gateway"), "mfa");
    zsock_t *mailer = test_keys_dealer ("mailer", "mfa", fixture->mfa->jobs);
    assert_non_null (mailer);

    test_mailer_hold (fixture->mailer, 1);
    pst_msg_t *request = s_challenge_request (token);
    s_send (client, request);
    pst_msg_destroy (&request);
    s_wait_jobs (fixture, jobs + 1);
    char *job = test_mailer_last (fixture->mailer);
    json_t *body = json_loads (job, 0, NULL);
    char *job_id = strdup (json_string_value (json_object_get (body, "job_id")));
    json_decref (body);
    zstr_free (&job);
    char sql [300];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM mail_jobs WHERE job_id = '%s'", job_id);
    assert_int_equal (mfa_test_db_int (fixture->mfa, sql), 0);

    //  Not recorded yet: ask again later; an id that was never ours: dead
    pst_msg_t *reply = s_mail_check (mailer, job_id);
    assert_reply_error (reply, "temporarily_unavailable", NULL);
    pst_msg_destroy (&reply);
    reply = s_mail_check (mailer, "0123456789abcdef0123456789abcdef");
    assert_reply_ok (reply);
    assert_true (json_is_false (json_object_get (pst_msg_body (reply), "live")));
    pst_msg_destroy (&reply);

    //  The result first: kept, with no user yet, and no `fn` event
    assert_int_equal (test_mailer_report (fixture->mailer, job_id, "failed"), 0);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM mail_jobs WHERE job_id = '%s'"
              " AND state = 'failed' AND user_id IS NULL AND challenge_id IS NULL", job_id);
    assert_int_equal (mfa_test_db_wait (fixture->mfa, sql, 1, WAIT_LIMIT_MS), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'fn' AND user_id = 'auth0|ria'"), 0);

    //  Then the acknowledgement: the challenge is answered and recorded, its
    //  job keeps the result and gains the challenge and the user
    test_mailer_hold (fixture->mailer, 0);
    reply = s_receive (client);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM mail_jobs JOIN challenges"
              " ON challenges.id = mail_jobs.challenge_id WHERE job_id = '%s'"
              " AND mail_jobs.state = 'failed' AND mail_jobs.user_id = 'auth0|ria'"
              " AND challenges.state = 'pending'", job_id);
    assert_int_equal (mfa_test_db_int (fixture->mfa, sql), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'fn' AND user_id = 'auth0|ria'"
        " AND result = 'failure' AND detail = '550 mailbox unavailable'"), 1);
    //  and a check now finds the code live
    reply = s_mail_check (mailer, job_id);
    assert_reply_ok (reply);
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "live")));
    pst_msg_destroy (&reply);

    free (job_id);
    zsock_destroy (&mailer);
    pst_client_destroy (&client);
    free (token);
}

//  An authenticator deleted while its code is mailed: the challenge is
//  recorded void, as deleting it would have made it, and its code completes
//  nothing
static void
test_an_authenticator_deleted_while_its_code_is_mailed (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|sol", "sol@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|sol", "sol@example.com");
    int jobs = test_mailer_count (fixture->mailer);
    pst_client_t *client = pst_client_new (fixture->mfa->api, test_keys_curve ("gateway"), "mfa");

    test_mailer_hold (fixture->mailer, 1);
    pst_msg_t *request = s_challenge_request (token);
    s_send (client, request);
    pst_msg_destroy (&request);
    s_wait_jobs (fixture, jobs + 1);
    pst_sql_t *db = mfa_test_db (fixture->mfa);
    assert_int_equal (pst_sql_run (db, "DELETE FROM authenticators"
                                   " WHERE user_id = 'auth0|sol' AND type = 'email'", ""), 1);
    pst_sql_close (&db);
    test_mailer_hold (fixture->mailer, 0);
    pst_msg_t *reply = s_receive (client);
    assert_reply_error (reply, "invalid_request", "Invalid authenticator_id.");
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE user_id = 'auth0|sol' AND state = 'pending'"), 0);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE user_id = 'auth0|sol' AND state = 'void'"), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE user_id = 'auth0|sol'"
        " AND type = 'gd_send_email_failure'"), 1);
    pst_client_destroy (&client);
    free (token);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_a_request_id_sent_twice_at_once_runs_once,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_mailers_word_before_its_challenge,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_authenticator_deleted_while_its_code_is_mailed,
                                         s_setup, s_teardown),
    };
    //  Commits counted in SQLite's WAL: the SQLite run's alone
    const struct CMUnitTest sqlite_tests [] = {
        cmocka_unit_test_setup_teardown (test_a_challenge_commits_twice, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_parallel_challenges_share_commits,
                                         s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (!test_db_is_postgres ())
        failed += cmocka_run_group_tests_name ("sqlite", sqlite_tests, NULL, NULL);
    return failed;
}
