//  The real mfa and the real mailer together, in process.
//
//  With the relay down the mailer's outbox stops at its maximum backlog, and from
//  then on challenge.create (POST /mfa/challenge) is answered
//  temporarily_unavailable (503) because no mailer accepts the job, instead of the
//  outbox growing. Once the backlog drains (here: the codes expire, S22)
//  challenges go through again.
//
//  With the relay failing, a code superseded by a newer challenge while its mail
//  waits for a retry is never mailed (S22): the mailer asks mfa (mail.check)
//  before each retry. And mfa's answers to mail.check themselves.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mailer_outbox.h"
#include "mailer_server.h"
#include "mailer_test_sink.h"
#include "pst_actor.h"
#include "mfa_jobs.h"
#include "mfa_test_support.h"
#include "test_keys.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_log.h"
#include "test_log_capture.h"

#define MAX_BACKLOG     2
#define CODE_TTL_S      6       //  long enough to see the refusal, short enough to drain
#define WAIT_MS         15000
#define POLL_MS         20

//  A TCP port on loopback that is bound but never listens: every connection to it
//  is refused at once, and nobody else can take it while fd is open.
static int
s_dead_port (int *fd_p)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *) &address, sizeof address), 0);
    socklen_t size = sizeof address;
    assert_int_equal (getsockname (fd, (struct sockaddr *) &address, &size), 0);
    *fd_p = fd;
    return ntohs (address.sin_port);
}

static int
s_backlog (const char *path)
{
    mailer_outbox_t *outbox = mailer_outbox_new (path);
    assert_non_null (outbox);
    int backlog = mailer_outbox_backlog (outbox);
    mailer_outbox_destroy (&outbox);
    return backlog;
}

static mailer_state_t
s_job_state (const char *path, const char *job_id, int *attempts_p)
{
    mailer_outbox_t *outbox = mailer_outbox_new (path);
    assert_non_null (outbox);
    mailer_state_t state = mailer_outbox_state (outbox, job_id, attempts_p);
    mailer_outbox_destroy (&outbox);
    return state;
}

//  Waits until the job is in state with at least min_attempts; its last state.
static mailer_state_t
s_wait_job (const char *path, const char *job_id, mailer_state_t state, int min_attempts)
{
    int attempts = 0;
    mailer_state_t current = MAILER_STATE_UNKNOWN;
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        current = s_job_state (path, job_id, &attempts);
        if (current == state && attempts >= min_attempts)
            break;
        zclock_sleep (POLL_MS);
    }
    return current;
}

//  The text in the first column of the first row of sql on mfa's database, or
//  NULL; caller frees.
static char *
s_db_text (mfa_harness_t *mfa, const char *sql)
{
    pst_sql_t *db = mfa_test_db (mfa);
    pst_sql_stmt_t *stmt = pst_sql_query (db, sql, "");
    assert_non_null (stmt);
    char *text = pst_sql_step (stmt) == 1? pst_sql_strdup (stmt, 0): NULL;
    pst_sql_done (stmt);
    pst_sql_close (&db);
    return text;
}

//  The job id of mfa's newest challenge.
static char *
s_last_job (mfa_harness_t *mfa)
{
    char *job_id = s_db_text (mfa, "SELECT job_id FROM mail_jobs ORDER BY challenge_id DESC LIMIT 1");
    assert_non_null (job_id);
    return job_id;
}

//  Integer answer of sql, a format with one %s for a job id (hex: safe to paste).
static long long
s_job_int (mfa_harness_t *mfa, const char *sql, const char *job_id)
{
    char query [512];
    snprintf (query, sizeof query, sql, job_id);
    return mfa_test_db_int (mfa, query);
}

//  Enrols count users with the fake mailer, which hands us the codes; then lets
//  mfa forget the fake, so every later job can only go to a real mailer.
static void
s_enrol_then_forget (mfa_harness_t *mfa, const char *const users [],
                     const char *const emails [], int count)
{
    test_mailer_t *fake = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    for (int i = 0; i < count; i++)
        mfa_test_enrol (mfa, fake, users [i], emails [i], NULL);
    test_mailer_destroy (&fake);
    zclock_sleep (MFA_JOBS_MAILER_TIMEOUT_MS + 500);
}

//  Starts the real mailer on mfa's jobs endpoint; config (returned in *config_p,
//  caller destroys after the mailer) relays to smtp_port.
static zactor_t *
s_mailer_new (mfa_harness_t *mfa, const char *outbox, int smtp_port, int max_backlog,
              mailer_config_t **config_p)
{
    mailer_config_t *config = mailer_config_new ();
    assert_int_equal (mailer_config_set (&config->keys_dir, test_keys_dir ()), 0);
    assert_non_null (config);
    assert_int_equal (mailer_config_set (&config->jobs_endpoint, mfa->jobs), 0);
    assert_int_equal (mailer_config_set (&config->outbox_path, outbox), 0);
    config->smtp_port = smtp_port;
    config->concurrency = 2;
    config->connect_timeout_s = 1;
    if (max_backlog)
        config->max_backlog = max_backlog;
    char *status = NULL;
    zactor_t *mailer = pst_actor_new (mailer_server_actor, config, "s", &status);
    assert_non_null (mailer);
    assert_non_null (status);
    assert_string_equal (status, mfa->jobs);
    zstr_free (&status);
    *config_p = config;
    return mailer;
}

static void
s_tune (mfa_config_t *config)
{
    config->code_ttl_s = CODE_TTL_S;
}

//  What a test starts, so that teardown stops it even when an assertion failed
//  half way (no SMTP sink or mailer outlives its test).
typedef struct {
    char dir [64];              //  outbox and sink files
    char outbox [128];
    mfa_harness_t *mfa;
    test_mailer_t *fake;
    pst_client_t *client;
    mailer_config_t *config;
    zactor_t *mailer;
    mailer_test_sink_t sink;
    int dead_fd;                //  holds the dead relay's port, -1 when none
} fixture_t;

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof *self);
    if (!self)
        return -1;
    snprintf (self->dir, sizeof self->dir, "/tmp/postern-mailer-mfa-XXXXXX");
    if (!mkdtemp (self->dir)) {
        free (self);
        return -1;
    }
    snprintf (self->outbox, sizeof self->outbox, "%s/mailer-outbox.db", self->dir);
    mailer_test_sink_init (&self->sink, self->dir);
    self->dead_fd = -1;
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    pst_log_set_fd (STDERR_FILENO);
    zactor_destroy (&self->mailer);
    mailer_config_destroy (&self->config);
    pst_client_destroy (&self->client);
    test_mailer_destroy (&self->fake);
    mailer_test_sink_stop (&self->sink);
    if (self->dead_fd >= 0)
        close (self->dead_fd);
    mfa_harness_destroy (&self->mfa);
    nftw (self->dir, s_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

static void
test_full_outbox_makes_challenge_unavailable (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    mfa_harness_t *mfa = self->mfa = mfa_harness_new (s_tune);
    //  Each waiting job for a user of its own: a second challenge of one user
    //  would supersede the first, whose job the mailer then cancels (S22)
    const char *const users [MAX_BACKLOG] = { "auth0|bea", "auth0|cal" };
    const char *const emails [MAX_BACKLOG] = { "bea@example.com", "cal@example.com" };
    s_enrol_then_forget (mfa, users, emails, MAX_BACKLOG);

    int dead_port = s_dead_port (&self->dead_fd);
    const char *outbox = self->outbox;
    self->mailer = s_mailer_new (mfa, outbox, dead_port, MAX_BACKLOG, &self->config);

    //  The first MAX_BACKLOG challenges are stored by the mailer (a challenge only
    //  succeeds once its job is committed to the outbox) and wait for the relay.
    char *token = NULL;
    for (int i = 0; i < MAX_BACKLOG; i++) {
        free (token);
        token = mfa_test_begin (mfa, users [i], emails [i]);
        pst_msg_t *reply = mfa_test_challenge (mfa, token);
        assert_reply_ok (reply);
        pst_msg_destroy (&reply);
    }
    assert_int_equal (s_backlog (outbox), MAX_BACKLOG);

    //  The outbox is full: no mailer accepts, and the caller hears 503
    pst_msg_t *reply = mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "oob"), NULL, 1500);
    assert_reply_error (reply, "temporarily_unavailable", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_backlog (outbox), MAX_BACKLOG);

    //  The codes expire, the mailer ends both jobs and announces credit again: a
    //  new challenge is accepted (and waits in turn).
    for (int waited = 0; waited < WAIT_MS && s_backlog (outbox) > 0; waited += POLL_MS)
        zclock_sleep (POLL_MS);
    assert_int_equal (s_backlog (outbox), 0);
    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (s_backlog (outbox), 1);
    free (token);
}

//  The code in a mailed message (text part: "code is: 123456").
static char *
s_code_in (const char *eml)
{
    const char *mark = strstr (eml, "code is: ");
    assert_non_null (mark);
    assert_true (strspn (mark + 9, "0123456789") >= 6);
    return strndup (mark + 9, 6);
}

//  S22 end to end: the relay fails, so the mail of challenge 1 waits for a retry;
//  the user asks again and challenge 2 supersedes challenge 1 while both mails
//  wait. When the relay recovers only challenge 2's code is mailed; challenge 1's
//  outbox row ends expired, and mfa records the job as cancelled, not as a failed
//  notification.
static void
test_superseded_code_never_mailed (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    mfa_harness_t *mfa = self->mfa = mfa_harness_new (NULL);
    const char *const user [] = { "auth0|dot" }, *const email [] = { "dot@example.com" };
    s_enrol_then_forget (mfa, user, email, 1);
    const char *outbox = self->outbox;
    mailer_test_sink_t *sink = &self->sink;
    int port = s_dead_port (&self->dead_fd);
    self->mailer = s_mailer_new (mfa, outbox, port, 0, &self->config);

    char *token = mfa_test_begin (mfa, "auth0|dot", "dot@example.com");
    pst_msg_t *reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *job1 = s_last_job (mfa);
    //  its first attempt met the dead relay: it waits for a retry
    assert_int_equal (s_wait_job (outbox, job1, MAILER_STATE_PENDING, 1), MAILER_STATE_PENDING);

    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    char *oob2 = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    char *job2 = s_last_job (mfa);
    assert_string_not_equal (job1, job2);
    assert_int_equal (s_job_int (mfa, "SELECT state = 'superseded' FROM challenges"
        " WHERE id = (SELECT challenge_id FROM mail_jobs WHERE job_id = '%s')", job1), 1);
    assert_int_equal (s_wait_job (outbox, job2, MAILER_STATE_PENDING, 1), MAILER_STATE_PENDING);

    //  the relay recovers, on the port the mailer has been failing on
    close (self->dead_fd);
    self->dead_fd = -1;
    mailer_test_sink_start (sink, "ok", 0, port, NULL, NULL);
    assert_int_equal (sink->port, port);
    assert_int_equal (s_wait_job (outbox, job2, MAILER_STATE_SENT, 1), MAILER_STATE_SENT);
    assert_int_equal (s_wait_job (outbox, job1, MAILER_STATE_EXPIRED, 0), MAILER_STATE_EXPIRED);

    //  one message, and its code is challenge 2's: it completes the MFA
    assert_true (mailer_test_sink_has (sink, 1));
    char *eml = mailer_test_sink_read (sink, 1);
    char *code = s_code_in (eml);
    free (eml);
    reply = mfa_test_verify (mfa, token, oob2, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_false (mailer_test_sink_has (sink, 2));

    //  mfa: job 2 sent, job 1 cancelled, and no failed-notification event (the
    //  results reach mfa's writer without a caller waiting: they may linger)
    char query [256];
    snprintf (query, sizeof query,
              "SELECT count(*) FROM mail_jobs WHERE job_id = '%s' AND state = 'sent'", job2);
    assert_int_equal (mfa_test_db_wait (mfa, query, 1, WAIT_MS), 1);
    snprintf (query, sizeof query,
              "SELECT count(*) FROM mail_jobs WHERE job_id = '%s' AND state = 'cancelled'", job1);
    assert_int_equal (mfa_test_db_wait (mfa, query, 1, WAIT_MS), 1);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM audit WHERE type = 'fn'"), 0);

    free (code);
    free (oob2);
    free (job1);
    free (job2);
    free (token);
}

//  mail.check as a mailer's worker sends it: 1 live, 0 dead, -1 error or silence.
static int
s_check (pst_client_t *client, const char *job_id)
{
    pst_msg_t *request = pst_msg_new_request ("mail.check", 2000);
    assert_non_null (request);
    if (job_id)
        json_object_set_new (pst_msg_body (request), "job_id", json_string (job_id));
    pst_msg_t *reply = pst_client_call (client, request);
    pst_msg_destroy (&request);
    int live = -1;
    if (reply && !pst_msg_is_error (reply)) {
        json_t *value = json_object_get (pst_msg_body (reply), "live");
        assert_true (json_is_boolean (value));
        live = json_is_true (value);
    }
    pst_msg_destroy (&reply);
    return live;
}

//  mfa's dispatcher answers mail.check itself: live only while the job's challenge
//  can still be completed with the code (S22).
static void
test_mail_check_answers (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    mfa_harness_t *mfa = self->mfa = mfa_harness_new (NULL);
    test_mailer_t *fake = self->fake = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, fake, "auth0|eve", "eve@example.com", NULL);
    pst_client_t *client = self->client = pst_client_new (mfa->jobs, test_keys_curve ("mailer"), "mfa");
    assert_non_null (client);
    //  From here on mfa's log is kept, to see which mailers it registers
    test_log_capture ();

    //  never a job of ours
    assert_int_equal (s_check (client, "0123456789abcdef0123456789abcdef"), 0);
    char long_id [200];
    memset (long_id, 'a', sizeof long_id - 1);
    long_id [sizeof long_id - 1] = '\0';
    assert_int_equal (s_check (client, long_id), 0);
    //  no job_id: an error, not an answer
    pst_msg_t *request = pst_msg_new_request ("mail.check", 2000);
    pst_msg_t *reply = pst_client_call (client, request);
    assert_reply_error (reply, PST_ERR_INVALID_REQUEST, NULL);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);

    //  the enrolment's code was used
    char *enrolment = s_last_job (mfa);
    assert_int_equal (s_check (client, enrolment), 0);

    char *token = mfa_test_begin (mfa, "auth0|eve", "eve@example.com");
    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *job1 = s_last_job (mfa);
    assert_int_equal (s_check (client, job1), 1);          //  pending

    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    char *oob2 = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    char *job2 = s_last_job (mfa);
    assert_int_equal (s_check (client, job1), 0);          //  superseded
    assert_int_equal (s_check (client, job2), 1);

    char *code = test_mailer_code (fake);
    reply = mfa_test_verify (mfa, token, oob2, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (s_check (client, job2), 0);          //  used

    //  a pending challenge whose code has expired (mfa's clock)
    char *token2 = mfa_test_begin (mfa, "auth0|eve", "eve@example.com");
    reply = mfa_test_challenge (mfa, token2);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *job3 = s_last_job (mfa);
    assert_int_equal (s_check (client, job3), 1);
    mfa_test_clock_advance ((int64_t) mfa->config->code_ttl_s * 1000 + 1000);
    assert_int_equal (s_check (client, job3), 0);

    //  A checking socket never takes jobs: mfa did not register it as a mailer
    //  (while the log shows it was listening: the challenges were logged)
    char *logged = test_log_captured (STDERR_FILENO);
    int joined = test_log_count (logged, "\"mailer_joined\"");
    assert_true (strlen (logged) > 0);
    free (logged);
    assert_int_equal (joined, 0);

    free (job3);
    free (token2);
    free (code);
    free (job2);
    free (oob2);
    free (job1);
    free (token);
    free (enrolment);
}

int
main (void)
{
    assert_int_equal (pst_crypto_init (), 0);
    //  a dead sink must not kill the test with SIGPIPE
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_full_outbox_makes_challenge_unavailable,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_superseded_code_never_mailed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_mail_check_answers, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
