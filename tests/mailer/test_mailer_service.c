//  The real mailer actor, in process, against the real SMTP sink (aiosmtpd) in a
//  subprocess. The test binds a ROUTER standing in for mfa's mail-jobs endpoint;
//  whenever the test reads from it or waits, it also answers the mailer's
//  mail.check requests as the fixture's check_mode says.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_keys.h"
#include "mailer_delivery.h"
#include "mailer_job.h"
#include "mailer_outbox.h"
#include "mailer_server.h"
#include "mailer_test_sink.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_msg.h"
#include <sqlite3.h>

#define WAIT_MS         15000                   //  upper bound for anything to happen
#define POLL_MS         20
#define TO              "alice@example.com"
#define FROM_ADDRESS    "no-reply@postern.test"

//  How the stand-in mfa answers mail.check
typedef enum {
    CHECK_LIVE,                 //  {"live": true}: the default, as for a pending challenge
    CHECK_DEAD,                 //  {"live": false}: superseded, used or void
    CHECK_SILENT,               //  no answer, as when mfa is down
    CHECK_HOLD                  //  no answer yet: the test answers it (s_answer_held)
} check_mode_t;

typedef struct {
    char dir [128];
    char maildir [192];
    char outbox [192];
    zsock_t *router;            //  stands in for mfa
    char *endpoint;
    zframe_t *peer;             //  routing id of the mailer's bus DEALER, from its last message
    zlistx_t *inbox;            //  messages that came while the test waited, oldest first
    check_mode_t check_mode;
    int checks;                 //  mail.check requests received
    char checked_job [MAILER_JOB_ID_MAX + 1];   //  job_id of the last one
    zframe_t *held_route;       //  CHECK_HOLD: the answer to the check kept, and
    pst_msg_t *held_reply;      //  where the check came from
    mailer_test_sink_t sink;
    char cert [200];            //  STARTTLS certificate and key, when made
    char key [200];
    int starttls;               //  settings for the next mailer started
    const char *ca_file;
    int max_backlog;            //  0: the default
    mailer_config_t *config;
    zactor_t *mailer;
} fixture_t;

static int64_t
s_now_s (void)
{
    return zclock_time () / 1000;
}

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

//  ---------------------------------------------------------------------------
//  The SMTP sink subprocess

//  Runs a program to completion; its exit status.
static int
s_run (char *const argv [])
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, STDOUT_FILENO);
        dup2 (null, STDERR_FILENO);
        execv (argv [0], argv);
        _exit (127);
    }
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  A self-signed certificate for 127.0.0.1 in the fixture directory, for STARTTLS.
static void
s_make_certificate (fixture_t *self)
{
    snprintf (self->cert, sizeof self->cert, "%s/cert.pem", self->dir);
    snprintf (self->key, sizeof self->key, "%s/key.pem", self->dir);
    char *argv [] = {
        "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", self->key, "-out", self->cert,
        NULL
    };
    assert_int_equal (s_run (argv), 0);
}

//  Starts the sink in mode on port (0: any), with STARTTLS required when tls is
//  set, and waits until it listens.
static void
s_sink_start (fixture_t *self, const char *mode, int fail_count, int port, int tls)
{
    mailer_test_sink_start (&self->sink, mode, fail_count, port,
                            tls? self->cert: NULL, tls? self->key: NULL);
}

static void
s_sink_stop (fixture_t *self)
{
    mailer_test_sink_stop (&self->sink);
}

static int
s_mail_exists (fixture_t *self, int number)
{
    return mailer_test_sink_has (&self->sink, number);
}

static void s_pump (fixture_t *self, int ms);

static int
s_wait_mail (fixture_t *self, int number)
{
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        if (s_mail_exists (self, number))
            return 1;
        s_pump (self, POLL_MS);
    }
    return 0;
}

static char *
s_read_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    char *data = calloc (1, 1024 * 1024);
    size_t size = fread (data, 1, 1024 * 1024 - 1, file);
    fclose (file);
    data [size] = '\0';
    return data;
}

//  ---------------------------------------------------------------------------
//  The mailer actor and the bus

//  The fixture's configuration, in self->config.
static void
s_config_make (fixture_t *self, int smtp_port, int response_timeout_s)
{
    self->config = mailer_config_new ();
    assert_non_null (self->config);
    assert_int_equal (mailer_config_set (&self->config->jobs_endpoint, self->endpoint), 0);
    assert_int_equal (mailer_config_set (&self->config->keys_dir, test_keys_dir ()), 0);
    assert_int_equal (mailer_config_set (&self->config->outbox_path, self->outbox), 0);
    assert_int_equal (mailer_config_set (&self->config->default_from, "Postern <" FROM_ADDRESS ">"), 0);
    self->config->smtp_port = smtp_port;
    self->config->smtp_starttls = self->starttls;
    assert_int_equal (mailer_config_set (&self->config->smtp_ca_file, self->ca_file), 0);
    self->config->concurrency = 2;
    self->config->connect_timeout_s = 2;
    self->config->response_timeout_s = response_timeout_s;
    self->config->total_timeout_s = response_timeout_s * 2;
    if (self->max_backlog)
        self->config->max_backlog = self->max_backlog;
}

static void
s_mailer_start_with (fixture_t *self, int smtp_port, int response_timeout_s)
{
    s_config_make (self, smtp_port, response_timeout_s);
    char *status = NULL;
    self->mailer = pst_actor_new (mailer_server_actor, self->config, "s", &status);
    assert_non_null (self->mailer);
    assert_non_null (status);
    assert_string_equal (status, self->endpoint);
    zstr_free (&status);
}

static void
s_mailer_start (fixture_t *self, int smtp_port)
{
    //  generous: a slow CI host must not turn into spurious retries
    s_mailer_start_with (self, smtp_port, 10);
}

//  What a stopped mailer said is of no use any more, and its route is dead.
static void
s_mailer_stop (fixture_t *self)
{
    zactor_destroy (&self->mailer);
    mailer_config_destroy (&self->config);
    zlistx_purge (self->inbox);
    zframe_destroy (&self->peer);
}

//  Answers a mail.check from a delivery worker as check_mode says, and counts it.
static void
s_answer_check (fixture_t *self, zframe_t *route, const pst_msg_t *check)
{
    self->checks++;
    const char *job_id = pst_msg_get_str (check, "job_id");
    assert_non_null (job_id);
    snprintf (self->checked_job, sizeof self->checked_job, "%s", job_id);
    if (self->check_mode == CHECK_SILENT)
        return;
    if (self->check_mode == CHECK_HOLD) {
        zframe_destroy (&self->held_route);
        pst_msg_destroy (&self->held_reply);
        self->held_route = zframe_dup (route);
        self->held_reply = pst_msg_new_reply (check);
        assert_non_null (self->held_reply);
        return;
    }
    pst_msg_t *reply = pst_msg_new_reply (check);
    assert_non_null (reply);
    json_object_set_new (pst_msg_body (reply), "live",
                         json_boolean (self->check_mode == CHECK_LIVE));
    assert_int_equal (pst_bus_send (self->router, route, reply), 0);
    pst_msg_destroy (&reply);
}

//  Answers the check CHECK_HOLD kept: live or not.
static void
s_answer_held (fixture_t *self, bool live)
{
    assert_non_null (self->held_reply);
    json_object_set_new (pst_msg_body (self->held_reply), "live", json_boolean (live));
    assert_int_equal (pst_bus_send (self->router, self->held_route, self->held_reply), 0);
    pst_msg_destroy (&self->held_reply);
    zframe_destroy (&self->held_route);
}

//  Next message from the router within timeout_ms, or NULL. mail.check requests
//  are answered here and never returned; for the others, remembers the route
//  (the mailer's bus DEALER: checks come from the workers' own sockets).
static pst_msg_t *
s_recv_router (fixture_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zpoller_t *poller = zpoller_new (self->router, NULL);
    pst_msg_t *msg = NULL;
    while (!msg) {
        int64_t wait = deadline - zclock_mono ();
        if (zpoller_wait (poller, wait > 0? (int) wait: 0) != self->router)
            break;
        zmsg_t *zmsg = zmsg_recv (self->router);
        assert_non_null (zmsg);
        assert_int_equal (zmsg_size (zmsg), 2);
        zframe_t *route = zmsg_pop (zmsg);
        zframe_t *payload = zmsg_pop (zmsg);
        assert_int_equal (pst_msg_decode (zframe_data (payload), zframe_size (payload), &msg), 0);
        zframe_destroy (&payload);
        zmsg_destroy (&zmsg);
        if (streq (pst_msg_op (msg), "mail.check")) {
            s_answer_check (self, route, msg);
            pst_msg_destroy (&msg);
            zframe_destroy (&route);
        }
        else {
            zframe_destroy (&self->peer);
            self->peer = route;
        }
    }
    zpoller_destroy (&poller);
    return msg;
}

//  Serves the router for ms while the test waits for something else: checks are
//  answered, other messages kept for s_recv.
static void
s_pump (fixture_t *self, int ms)
{
    int64_t deadline = zclock_mono () + ms;
    for (int64_t left = ms; left > 0; left = deadline - zclock_mono ()) {
        pst_msg_t *msg = s_recv_router (self, (int) left);
        if (msg)
            zlistx_add_end (self->inbox, msg);
    }
}

//  Next message from the mailer within timeout_ms (kept ones first), or NULL.
static pst_msg_t *
s_recv (fixture_t *self, int timeout_ms)
{
    pst_msg_t *msg = (pst_msg_t *) zlistx_detach (self->inbox, NULL);
    return msg? msg: s_recv_router (self, timeout_ms);
}

//  Waits for a message with op (and, when given, with id or body job_id), skipping
//  the others (heartbeats). Fails the test on timeout.
static pst_msg_t *
s_expect (fixture_t *self, const char *op, const char *id, const char *job_id)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        pst_msg_t *msg = s_recv (self, (int) (deadline - zclock_mono ()));
        if (!msg)
            break;
        const char *msg_job = pst_msg_get_str (msg, "job_id");
        if (streq (pst_msg_op (msg), op)
        &&  (!id || streq (pst_msg_id (msg), id))
        &&  (!job_id || (msg_job && streq (msg_job, job_id))))
            return msg;
        pst_msg_destroy (&msg);
    }
    fail_msg ("no %s from the mailer", op);
    return NULL;
}

//  The body of a mail.send, as mfa builds it.
static json_t *
s_job_body (const char *job_id, const char *to, const char *code, int64_t expires_at)
{
    char text [128], html [128], message_id [128];
    snprintf (text, sizeof text, "Your verification code is %s.\nIt expires in 5 minutes.", code);
    snprintf (html, sizeof html, "<p>Your verification code is <b>%s</b>.</p>", code);
    snprintf (message_id, sizeof message_id, "<%s@postern.test>", job_id);
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                              "job_id", job_id, "to", to, "subject", "Verify your identity",
                              "text", text, "html", html, "message_id", message_id,
                              "expires_at", (json_int_t) expires_at);
    assert_non_null (body);
    return body;
}

//  Sends mail.send and returns its request id (caller frees).
static char *
s_send_job (fixture_t *self, const char *job_id, const char *to, const char *code,
            int64_t expires_at)
{
    assert_non_null (self->peer);
    pst_msg_t *request = pst_msg_new_request ("mail.send", 5000);
    assert_non_null (request);
    json_t *body = s_job_body (job_id, to, code, expires_at);
    pst_msg_set_body (request, &body);
    assert_int_equal (pst_bus_send (self->router, self->peer, request), 0);
    char *id = strdup (pst_msg_id (request));
    pst_msg_destroy (&request);
    return id;
}

//  Sends a job and checks the mailer acknowledges it (st 0).
static void
s_send_and_expect_ack (fixture_t *self, const char *job_id, const char *code, int64_t expires_at)
{
    char *id = s_send_job (self, job_id, TO, code, expires_at);
    pst_msg_t *reply = s_expect (self, "mail.send", id, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    free (id);
}

//  Waits for the mail.result of job_id and checks its result.
static void
s_expect_result (fixture_t *self, const char *job_id, const char *result)
{
    pst_msg_t *msg = s_expect (self, "mail.result", NULL, job_id);
    assert_string_equal (pst_msg_get_str (msg, "result"), result);
    assert_non_null (pst_msg_get_str (msg, "detail"));
    //  only a job dropped on mfa's word is cancelled
    assert_null (json_object_get (pst_msg_body (msg), "cancelled"));
    pst_msg_destroy (&msg);
}

//  Waits for the mail.result of a job mfa called dead: expired, and cancelled.
static void
s_expect_cancelled (fixture_t *self, const char *job_id)
{
    pst_msg_t *msg = s_expect (self, "mail.result", NULL, job_id);
    assert_string_equal (pst_msg_get_str (msg, "result"), "expired");
    assert_string_equal (pst_msg_get_str (msg, "detail"), "code superseded or used");
    assert_true (json_is_true (json_object_get (pst_msg_body (msg), "cancelled")));
    pst_msg_destroy (&msg);
}

static void
s_expect_ready (fixture_t *self)
{
    pst_msg_t *ready = s_expect (self, "mail.ready", NULL, NULL);
    assert_true (pst_msg_get_int (ready, "credit", -1) > 0);
    pst_msg_destroy (&ready);
}

//  Waits for a mail.ready that grants credit, skipping the others.
static void
s_expect_credit (fixture_t *self)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        pst_msg_t *ready = s_expect (self, "mail.ready", NULL, NULL);
        int credit = (int) pst_msg_get_int (ready, "credit", -1);
        pst_msg_destroy (&ready);
        if (credit > 0)
            return;
    }
    fail_msg ("no credit from the mailer");
}

//  Unfinished jobs in the outbox, read through a connection of our own.
static int
s_outbox_backlog (fixture_t *self)
{
    mailer_outbox_t *outbox = mailer_outbox_new (self->outbox);
    assert_non_null (outbox);
    int backlog = mailer_outbox_backlog (outbox);
    mailer_outbox_destroy (&outbox);
    return backlog;
}

//  State of a job in the outbox, read through a connection of our own.
static mailer_state_t
s_outbox_state (fixture_t *self, const char *job_id, int *attempts_p)
{
    mailer_outbox_t *outbox = mailer_outbox_new (self->outbox);
    assert_non_null (outbox);
    mailer_state_t state = mailer_outbox_state (outbox, job_id, attempts_p);
    mailer_outbox_destroy (&outbox);
    return state;
}

//  A row as stored, read through a connection of our own.
typedef struct {
    char state [16];
    int attempts;
    int64_t next_attempt_at;    //  Unix ms
    int64_t updated_at;
    char detail [128];
} row_t;

static int
s_outbox_row (fixture_t *self, const char *job_id, row_t *row)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (self->outbox, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db,
        "SELECT state, attempts, next_attempt_at, updated_at, last_detail FROM outbox"
        " WHERE job_id = ?", -1, &stmt, NULL), SQLITE_OK);
    sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
    int found = sqlite3_step (stmt) == SQLITE_ROW;
    memset (row, 0, sizeof *row);
    if (found) {
        const char *state = (const char *) sqlite3_column_text (stmt, 0);
        const char *detail = (const char *) sqlite3_column_text (stmt, 4);
        snprintf (row->state, sizeof row->state, "%s", state? state: "");
        row->attempts = sqlite3_column_int (stmt, 1);
        row->next_attempt_at = sqlite3_column_int64 (stmt, 2);
        row->updated_at = sqlite3_column_int64 (stmt, 3);
        snprintf (row->detail, sizeof row->detail, "%s", detail? detail: "");
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return found;
}

//  Stores a job in the outbox directly, as if accepted at created_at (Unix s) by
//  a mailer that then went down.
static void
s_outbox_put (fixture_t *self, const char *job_id, const char *code, int64_t created_at)
{
    json_t *body = s_job_body (job_id, TO, code, s_now_s () + 300);
    const char *reason = NULL;
    mailer_job_t *job = mailer_job_from_body (body, "Postern <" FROM_ADDRESS ">",
                                              created_at, &reason);
    assert_non_null (job);
    mailer_outbox_t *outbox = mailer_outbox_new (self->outbox);
    assert_non_null (outbox);
    assert_int_equal (mailer_outbox_insert (outbox, job, 0), 0);
    mailer_outbox_destroy (&outbox);
    mailer_job_destroy (&job);
    json_decref (body);
}

//  Waits until a job is in a terminal state, serving the router meanwhile.
static mailer_state_t
s_expect_finished (fixture_t *self, const char *job_id)
{
    mailer_state_t job_state = MAILER_STATE_UNKNOWN;
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        job_state = s_outbox_state (self, job_id, NULL);
        if (job_state == MAILER_STATE_SENT || job_state == MAILER_STATE_FAILED
        ||  job_state == MAILER_STATE_EXPIRED)
            break;
        s_pump (self, POLL_MS);
    }
    return job_state;
}

//  Waits until a job has been tried at least once and is waiting for a retry.
static void
s_expect_retrying (fixture_t *self, const char *job_id)
{
    int attempts = 0;
    mailer_state_t job_state = MAILER_STATE_UNKNOWN;
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        job_state = s_outbox_state (self, job_id, &attempts);
        if (job_state == MAILER_STATE_PENDING && attempts >= 1)
            break;
        s_pump (self, POLL_MS);
    }
    assert_int_equal (job_state, MAILER_STATE_PENDING);
    assert_true (attempts >= 1);
}

//  ---------------------------------------------------------------------------

static void
s_msg_free (void **item)
{
    pst_msg_destroy ((pst_msg_t **) item);
}

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/postern-mailer-service-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    mailer_test_sink_init (&self->sink, self->dir);
    snprintf (self->maildir, sizeof self->maildir, "%s/mail", self->dir);   //  the sink's
    self->inbox = zlistx_new ();
    zlistx_set_destructor (self->inbox, s_msg_free);
    snprintf (self->outbox, sizeof self->outbox, "%s/outbox.db", self->dir);
    //  Stands in for mfa's mail-jobs socket, with mfa's key
    self->router = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    if (!self->router)
        return -1;
    self->endpoint = zsock_last_endpoint (self->router);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    s_mailer_stop (self);
    s_sink_stop (self);
    zframe_destroy (&self->peer);
    zframe_destroy (&self->held_route);
    pst_msg_destroy (&self->held_reply);
    zlistx_destroy (&self->inbox);
    test_keys_close (&self->router);
    zstr_free (&self->endpoint);
    nftw (self->dir, s_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

static void
test_delivers_one_message (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-happy", "042917", s_now_s () + 300);
    s_expect_result (self, "job-happy", "sent");
    assert_true (s_wait_mail (self, 1));

    char path [256];
    snprintf (path, sizeof path, "%s/1.json", self->maildir);
    json_t *envelope = json_load_file (path, 0, NULL);
    assert_non_null (envelope);
    assert_string_equal (json_string_value (json_object_get (envelope, "mail_from")), FROM_ADDRESS);
    json_t *rcpts = json_object_get (envelope, "rcpt_tos");
    assert_int_equal (json_array_size (rcpts), 1);
    assert_string_equal (json_string_value (json_array_get (rcpts, 0)), TO);
    json_decref (envelope);

    snprintf (path, sizeof path, "%s/1.eml", self->maildir);
    char *eml = s_read_file (path);
    assert_non_null (strstr (eml, "\r\nMessage-ID: <job-happy@postern.test>\r\n"));
    assert_non_null (strstr (eml, "\r\nTo: " TO "\r\n"));
    //  the code, once quoted-printable soft breaks are undone
    char *p;
    while ((p = strstr (eml, "=\r\n")))
        memmove (p, p + 3, strlen (p + 3) + 1);
    assert_non_null (strstr (eml, "Your verification code is 042917."));
    free (eml);

    //  mfa retries the same job: acknowledged, never delivered twice
    s_send_and_expect_ack (self, "job-happy", "042917", s_now_s () + 300);
    int attempts = 0;
    assert_int_equal (s_outbox_state (self, "job-happy", &attempts), MAILER_STATE_SENT);
    assert_int_equal (attempts, 1);
    assert_false (s_mail_exists (self, 2));
    //  the first attempt of a fresh job is not held up by a mail.check
    assert_int_equal (self->checks, 0);
}

//  Whether the descriptor is readable now, or within timeout_ms
static bool
s_readable (int fd, int timeout_ms)
{
    struct pollfd item = { fd, POLLIN, 0 };
    return poll (&item, 1, timeout_ms) == 1 && (item.revents & POLLIN);
}

//  The delivery workers and their owner, without the server: a job handed over
//  is sent, its end makes the owner's descriptor readable (the owner sleeps on
//  it, so without that nudge the end would wait for the owner's next timeout),
//  and reading the ends until none is left disarms it again
static void
test_delivery_nudges_its_owner (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    s_config_make (self, self->sink.port, 10);
    mailer_outbox_t *outbox = mailer_outbox_new (self->outbox);
    assert_non_null (outbox);
    json_t *body = s_job_body ("job-nudge", TO, "314159", s_now_s () + 300);
    const char *reason = NULL;
    mailer_job_t *job = mailer_job_from_body (body, self->config->default_from,
                                              zclock_time (), &reason);
    json_decref (body);
    assert_non_null (job);
    int64_t deadline = 0;
    int result = -1;
    const mailer_job_t *jobs [1] = { job };
    assert_int_equal (mailer_outbox_insert_batch (outbox, jobs, &deadline, 1, 1, &result), 0);
    assert_int_equal (result, 0);

    mailer_delivery_t *delivery = mailer_delivery_new (self->config, NULL);
    assert_non_null (delivery);
    int fd = mailer_delivery_fd (delivery);
    mailer_delivery_result_t end;
    assert_false (s_readable (fd, 0));
    assert_int_equal (mailer_delivery_next (delivery, &end), 0);

    mailer_delivery_hand (delivery, &job);
    assert_null (job);
    mailer_delivery_wake (delivery);
    assert_true (s_readable (fd, WAIT_MS));
    assert_int_equal (mailer_delivery_next (delivery, &end), 1);
    assert_string_equal (end.job_id, "job-nudge");
    assert_int_equal (end.state, MAILER_STATE_SENT);
    assert_int_equal (mailer_delivery_next (delivery, &end), 0);
    assert_false (s_readable (fd, 0));
    assert_true (s_wait_mail (self, 1));

    mailer_delivery_destroy (&delivery);
    assert_null (delivery);
    mailer_outbox_destroy (&outbox);
}

static void
test_permanent_failure_not_retried (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "reject-550", 0, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-550", "111111", s_now_s () + 300);
    s_expect_result (self, "job-550", "failed");
    int attempts = 0;
    //  terminal after one attempt: no row is left for a retry to pick up
    assert_int_equal (s_outbox_state (self, "job-550", &attempts), MAILER_STATE_FAILED);
    assert_int_equal (attempts, 1);
    assert_false (s_mail_exists (self, 1));
}

static void
test_temporary_failure_retried_once (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "tempfail-451", 1, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-451", "222222", s_now_s () + 300);
    s_expect_result (self, "job-451", "sent");
    assert_true (s_wait_mail (self, 1));
    int attempts = 0;
    assert_int_equal (s_outbox_state (self, "job-451", &attempts), MAILER_STATE_SENT);
    assert_int_equal (attempts, 2);
    assert_false (s_mail_exists (self, 2));
    //  the retry asked mfa first (S22), which said live
    assert_int_equal (self->checks, 1);
    assert_string_equal (self->checked_job, "job-451");
}

//  S22: a retry asks mfa first. A code mfa calls dead (superseded by a newer
//  challenge, or used) is never mailed although the relay would take it now; the
//  row ends expired and mfa hears the job was cancelled, not that it failed. A
//  fresh job still goes out at once, unasked.
static void
test_dead_code_not_retried (void **state)
{
    fixture_t *self = *state;
    self->check_mode = CHECK_DEAD;
    s_sink_start (self, "tempfail-451", 1, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-dead", "161616", s_now_s () + 300);
    s_expect_cancelled (self, "job-dead");
    assert_int_equal (self->checks, 1);
    assert_string_equal (self->checked_job, "job-dead");
    row_t row;
    assert_true (s_outbox_row (self, "job-dead", &row));
    assert_string_equal (row.state, "expired");
    assert_string_equal (row.detail, "code superseded or used");

    //  the relay takes mail now: the next job, fresh, is delivered without a check
    s_send_and_expect_ack (self, "job-fresh", "171717", s_now_s () + 300);
    s_expect_result (self, "job-fresh", "sent");
    assert_true (s_wait_mail (self, 1));
    assert_int_equal (self->checks, 1);
    char *eml = mailer_test_sink_read (&self->sink, 1);
    assert_non_null (strstr (eml, "<job-fresh@postern.test>"));
    assert_null (strstr (eml, "161616"));
    free (eml);
    assert_false (s_mail_exists (self, 2));
}

//  mfa does not answer the check (down, or slow): the code may be dead, so nothing
//  is sent; the job goes back to wait, uncounted, and asks again later. Once mfa
//  answers live, it is delivered.
static void
test_unanswered_check_postpones (void **state)
{
    fixture_t *self = *state;
    self->check_mode = CHECK_SILENT;
    s_sink_start (self, "tempfail-451", 1, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-wait", "212121", s_now_s () + 300);

    //  after the first unanswered check: pending again, due a while later
    row_t row = { 0 };
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        if (s_outbox_row (self, "job-wait", &row) && streq (row.state, "pending")
        &&  streq (row.detail, "mfa did not confirm the code is live"))
            break;
        s_pump (self, POLL_MS);
    }
    assert_string_equal (row.state, "pending");
    assert_string_equal (row.detail, "mfa did not confirm the code is live");
    assert_int_equal (row.attempts, 1);         //  the one SMTP attempt, not the check
    assert_true (row.next_attempt_at - row.updated_at >= 1500);
    assert_true (self->checks >= 1);
    assert_string_equal (self->checked_job, "job-wait");

    //  and it asks again
    for (int waited = 0; waited < WAIT_MS && self->checks < 2; waited += POLL_MS)
        s_pump (self, POLL_MS);
    assert_true (self->checks >= 2);
    assert_false (s_mail_exists (self, 1));

    self->check_mode = CHECK_LIVE;
    s_expect_result (self, "job-wait", "sent");
    assert_true (s_wait_mail (self, 1));
    char *eml = mailer_test_sink_read (&self->sink, 1);
    assert_non_null (strstr (eml, "212121"));
    free (eml);
    int attempts = 0;
    assert_int_equal (s_outbox_state (self, "job-wait", &attempts), MAILER_STATE_SENT);
    assert_int_equal (attempts, 2);
    assert_false (s_mail_exists (self, 2));
}

//  Rows found in the outbox at start that were accepted a while ago (the mailer
//  was down meanwhile) are checked before their first attempt; a row accepted a
//  moment ago is not.
static void
test_old_rows_checked_at_start (void **state)
{
    fixture_t *self = *state;
    self->check_mode = CHECK_DEAD;
    s_sink_start (self, "ok", 0, 0, 0);
    s_outbox_put (self, "job-stale", "222333", s_now_s () - 60);
    s_outbox_put (self, "job-new", "444555", s_now_s ());
    s_mailer_start (self, self->sink.port);
    assert_int_equal (s_expect_finished (self, "job-stale"), MAILER_STATE_EXPIRED);
    assert_int_equal (s_expect_finished (self, "job-new"), MAILER_STATE_SENT);
    assert_int_equal (self->checks, 1);
    assert_string_equal (self->checked_job, "job-stale");
    assert_true (s_wait_mail (self, 1));
    char *eml = mailer_test_sink_read (&self->sink, 1);
    assert_non_null (strstr (eml, "<job-new@postern.test>"));
    free (eml);
    assert_false (s_mail_exists (self, 2));
}

//  A stop while a delivery ends: the worker's outcome reaches the bus thread
//  after it stopped reading its sockets, and is still written, so the job is
//  not sent again at the next start. The worker is held in its mail.check
//  (the row was accepted a minute ago) until the stop has begun.
static void
test_stop_writes_the_last_ends (void **state)
{
    fixture_t *self = *state;
    self->check_mode = CHECK_HOLD;
    s_sink_start (self, "ok", 0, 0, 0);
    s_outbox_put (self, "job-held", "565656", s_now_s () - 60);
    s_mailer_start (self, self->sink.port);
    for (int waited = 0; waited < WAIT_MS && !self->held_reply; waited += POLL_MS)
        s_pump (self, POLL_MS);
    assert_non_null (self->held_reply);
    assert_string_equal (self->checked_job, "job-held");
    //  The bus thread leaves its loop at once and waits for the worker, which
    //  waits for the answer (it has 1 s). Answered after 100 ms, the end comes
    //  when only the stop can write it; answered sooner, a round writes it:
    //  either way the row must end 'expired'
    zstr_send (self->mailer, "$TERM");
    zclock_sleep (100);
    s_answer_held (self, false);
    s_mailer_stop (self);
    row_t row;
    assert_true (s_outbox_row (self, "job-held", &row));
    assert_string_equal (row.state, "expired");
    assert_string_equal (row.detail, "code superseded or used");
    assert_false (s_mail_exists (self, 1));
}

static void
test_expired_job_never_sent (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-old", "333333", s_now_s () - 10);
    s_expect_result (self, "job-old", "expired");
    assert_int_equal (s_outbox_state (self, "job-old", NULL), MAILER_STATE_EXPIRED);
    //  a live job sent after it is delivered as message 1: the old one never was
    s_send_and_expect_ack (self, "job-live", "444444", s_now_s () + 300);
    s_expect_result (self, "job-live", "sent");
    assert_true (s_wait_mail (self, 1));
    char path [256];
    snprintf (path, sizeof path, "%s/1.eml", self->maildir);
    char *eml = s_read_file (path);
    assert_non_null (strstr (eml, "<job-live@postern.test>"));
    assert_null (strstr (eml, "333333"));
    free (eml);
    assert_false (s_mail_exists (self, 2));
}

static void
test_injection_refused (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    char *id = s_send_job (self, "job-evil", TO "\r\nRCPT TO:<eve@evil.test>", "555555",
                           s_now_s () + 300);
    pst_msg_t *reply = s_expect (self, "mail.send", id, NULL);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_REQUEST);
    pst_msg_destroy (&reply);
    free (id);
    assert_int_equal (s_outbox_state (self, "job-evil", NULL), MAILER_STATE_UNKNOWN);
}

static void
test_outbox_survives_restart (void **state)
{
    fixture_t *self = *state;
    //  learn a free port, then close it: the relay is down
    s_sink_start (self, "ok", 0, 0, 0);
    int port = self->sink.port;
    s_sink_stop (self);
    s_mailer_start (self, port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-durable", "666666", s_now_s () + 300);
    //  wait for a failed attempt, so the job is known to have met the closed port
    s_expect_retrying (self, "job-durable");
    s_mailer_stop (self);

    s_sink_start (self, "ok", 0, port, 0);
    assert_int_equal (self->sink.port, port);
    s_mailer_start (self, port);
    s_expect_result (self, "job-durable", "sent");
    //  a retry after a restart is a retry: mfa was asked first
    assert_true (self->checks >= 1);
    assert_true (s_wait_mail (self, 1));
    char path [256];
    snprintf (path, sizeof path, "%s/1.eml", self->maildir);
    char *eml = s_read_file (path);
    assert_non_null (strstr (eml, "\r\nMessage-ID: <job-durable@postern.test>\r\n"));
    assert_non_null (strstr (eml, "666666"));
    free (eml);
    assert_int_equal (s_outbox_state (self, "job-durable", NULL), MAILER_STATE_SENT);
    assert_false (s_mail_exists (self, 2));
}

//  A relay that accepts TCP and never speaks: the per-stage timeout frees the
//  worker (a retry, F6), and stopping the mailer abandons the stalled attempt
//  instead of waiting it out; the job stays pending, the attempt uncounted.
static void
test_silent_relay (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "hang", 0, 0, 0);
    s_mailer_start_with (self, self->sink.port, 1);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-silent", "777777", s_now_s () + 300);
    s_expect_retrying (self, "job-silent");
    s_mailer_stop (self);

    //  now a long stage timeout, and stop while the attempt hangs
    s_mailer_start_with (self, self->sink.port, 600);
    mailer_state_t job_state = MAILER_STATE_UNKNOWN;
    for (int waited = 0; waited < WAIT_MS; waited += POLL_MS) {
        job_state = s_outbox_state (self, "job-silent", NULL);
        if (job_state == MAILER_STATE_SENDING)
            break;
        s_pump (self, POLL_MS);
    }
    assert_int_equal (job_state, MAILER_STATE_SENDING);
    int before = 0;
    s_outbox_state (self, "job-silent", &before);
    s_mailer_stop (self);
    int attempts = 0;
    assert_int_equal (s_outbox_state (self, "job-silent", &attempts), MAILER_STATE_PENDING);
    assert_int_equal (attempts, before - 1);
}

//  S24: STARTTLS required and the relay's certificate verified against the CA file.
static void
test_starttls_verified (void **state)
{
    fixture_t *self = *state;
    s_make_certificate (self);
    s_sink_start (self, "ok", 0, 0, 1);
    self->starttls = 1;
    self->ca_file = self->cert;
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-tls", "888888", s_now_s () + 300);
    s_expect_result (self, "job-tls", "sent");
    assert_true (s_wait_mail (self, 1));
}

//  An untrusted certificate is not talked to, whatever the relay offers.
static void
test_starttls_untrusted_certificate (void **state)
{
    fixture_t *self = *state;
    s_make_certificate (self);
    s_sink_start (self, "ok", 0, 0, 1);
    self->starttls = 1;
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-mitm", "999999", s_now_s () + 300);
    s_expect_retrying (self, "job-mitm");
    assert_false (s_mail_exists (self, 1));
}

//  A relay that does not offer STARTTLS gets nothing when TLS is required.
static void
test_starttls_not_offered (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    self->starttls = 1;
    s_mailer_start (self, self->sink.port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-plain", "101010", s_now_s () + 300);
    s_expect_retrying (self, "job-plain");
    assert_false (s_mail_exists (self, 1));
}

//  A relay that is down fills the outbox only up to the maximum backlog: then the
//  mailer announces no credit (mfa sends it nothing and answers the challenge with
//  temporarily_unavailable) and refuses a job that comes anyway. Once the relay is
//  back and the backlog drains, credit and jobs come back.
static void
test_backlog_bounds_credit (void **state)
{
    fixture_t *self = *state;
    //  learn a free port, then close it: the relay is down
    s_sink_start (self, "ok", 0, 0, 0);
    int port = self->sink.port;
    s_sink_stop (self);
    self->max_backlog = 2;
    s_mailer_start (self, port);
    s_expect_ready (self);
    s_send_and_expect_ack (self, "job-b1", "121212", s_now_s () + 300);
    s_send_and_expect_ack (self, "job-b2", "131313", s_now_s () + 300);
    assert_int_equal (s_outbox_backlog (self), 2);

    //  Every announcement after the second ack, while both jobs wait: no credit.
    //  The workers are idle between retries, so idle workers alone would grant 2.
    int64_t until = zclock_mono () + 2500;
    int readies = 0;
    while (zclock_mono () < until) {
        pst_msg_t *msg = s_recv (self, (int) (until - zclock_mono ()));
        if (!msg)
            break;
        if (streq (pst_msg_op (msg), "mail.ready")) {
            assert_int_equal (pst_msg_get_int (msg, "credit", -1), 0);
            readies++;
        }
        pst_msg_destroy (&msg);
    }
    assert_true (readies >= 2);
    s_expect_retrying (self, "job-b1");

    //  a job sent regardless (mfa acting on an older mail.ready) is refused, not stored
    char *id = s_send_job (self, "job-b3", TO, "141414", s_now_s () + 300);
    pst_msg_t *reply = s_expect (self, "mail.send", id, NULL);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), PST_ERR_UNAVAILABLE);
    pst_msg_destroy (&reply);
    free (id);
    assert_int_equal (s_outbox_state (self, "job-b3", NULL), MAILER_STATE_UNKNOWN);
    assert_int_equal (s_outbox_backlog (self), 2);

    //  the relay comes back: both waiting jobs go out at their next retry
    s_sink_start (self, "ok", 0, port, 0);
    assert_int_equal (self->sink.port, port);
    assert_true (s_wait_mail (self, 2));
    for (int waited = 0; waited < WAIT_MS && s_outbox_backlog (self) > 0; waited += POLL_MS)
        s_pump (self, POLL_MS);
    assert_int_equal (s_outbox_backlog (self), 0);
    assert_int_equal (s_outbox_state (self, "job-b1", NULL), MAILER_STATE_SENT);
    assert_int_equal (s_outbox_state (self, "job-b2", NULL), MAILER_STATE_SENT);

    //  room again: credit is announced and a new job is taken and delivered
    s_expect_credit (self);
    s_send_and_expect_ack (self, "job-b4", "151515", s_now_s () + 300);
    s_expect_result (self, "job-b4", "sent");
    assert_true (s_wait_mail (self, 3));
}

//  Credit is the room left in the outbox, up to one batch, whatever the number
//  of delivery workers: the outbox is the queue. It counts from the jobs the
//  mailer had read when it wrote it, in this run of the mailer (its epoch).
static void
test_credit_is_outbox_room (void **state)
{
    fixture_t *self = *state;
    s_sink_start (self, "ok", 0, 0, 0);
    self->max_backlog = 300;
    s_mailer_start (self, self->sink.port);
    pst_msg_t *ready = s_expect (self, "mail.ready", NULL, NULL);
    assert_int_equal (pst_msg_get_int (ready, "credit", -1), 256);
    //  ... counted from the jobs read so far, in this run of the mailer
    assert_int_equal (pst_msg_get_int (ready, "received", -1), 0);
    assert_non_null (pst_msg_get_str (ready, "epoch"));
    char *epoch = strdup (pst_msg_get_str (ready, "epoch"));
    assert_int_equal (strlen (epoch), 16);
    pst_msg_destroy (&ready);
    s_send_and_expect_ack (self, "job-r1", "161616", s_now_s () + 300);
    //  The next mail.ready counts the job. It may come before the job's result
    //  (then s_expect_result passes over it) or after: any after the result
    //  counts it too
    s_expect_result (self, "job-r1", "sent");
    ready = s_expect (self, "mail.ready", NULL, NULL);
    assert_int_equal (pst_msg_get_int (ready, "received", -1), 1);
    assert_string_equal (pst_msg_get_str (ready, "epoch"), epoch);
    pst_msg_destroy (&ready);
    s_mailer_stop (self);
    self->max_backlog = 100;
    s_mailer_start (self, self->sink.port);
    //  The first run's last heartbeats may still be waiting: the new run's
    //  first mail.ready is the first with another epoch
    ready = s_expect (self, "mail.ready", NULL, NULL);
    while (streq (pst_msg_get_str (ready, "epoch"), epoch)) {
        pst_msg_destroy (&ready);
        ready = s_expect (self, "mail.ready", NULL, NULL);
    }
    assert_int_equal (pst_msg_get_int (ready, "credit", -1), 100);
    assert_int_equal (pst_msg_get_int (ready, "received", -1), 0);
    pst_msg_destroy (&ready);
    free (epoch);
}

//  Next message from a second stand-in mfa other than mail.check (those are
//  answered "live"), with its route; NULL after timeout_ms.
static pst_msg_t *
s_recv_second (zsock_t *router, zframe_t **route_p, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zpoller_t *poller = zpoller_new (router, NULL);
        int64_t wait = deadline - zclock_mono ();
        void *which = zpoller_wait (poller, wait > 0? (int) wait: 0);
        zpoller_destroy (&poller);
        if (which != router)
            return NULL;
        zmsg_t *zmsg = zmsg_recv (router);
        assert_non_null (zmsg);
        zframe_t *route = zmsg_pop (zmsg);
        zframe_t *payload = zmsg_pop (zmsg);
        pst_msg_t *msg = NULL;
        assert_int_equal (pst_msg_decode (zframe_data (payload), zframe_size (payload), &msg), 0);
        zframe_destroy (&payload);
        zmsg_destroy (&zmsg);
        if (streq (pst_msg_op (msg), "mail.check")) {
            pst_msg_t *reply = pst_msg_new_reply (msg);
            json_object_set_new (pst_msg_body (reply), "live", json_true ());
            assert_int_equal (pst_bus_send (router, route, reply), 0);
            pst_msg_destroy (&reply);
            pst_msg_destroy (&msg);
            zframe_destroy (&route);
            continue;
        }
        *route_p = route;
        return msg;
    }
    return NULL;
}

//  Several mfa instances (a list of jobs endpoints): the mailer tells each it
//  is ready, shares its credit among them, answers a job on the socket it came
//  from, and counts each instance's jobs apart
static void
test_serves_every_mfa_instance (void **state)
{
    fixture_t *self = *state;
    zsock_t *second = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    assert_non_null (second);
    char *second_endpoint = zsock_last_endpoint (second);
    char *list = NULL;
    assert_true (asprintf (&list, "%s, %s", self->endpoint, second_endpoint) > 0);
    s_sink_start (self, "ok", 0, 0, 0);
    self->max_backlog = 300;
    self->config = mailer_config_new ();
    assert_int_equal (mailer_config_set (&self->config->jobs_endpoint, list), 0);
    assert_int_equal (mailer_config_set (&self->config->keys_dir, test_keys_dir ()), 0);
    assert_int_equal (mailer_config_set (&self->config->outbox_path, self->outbox), 0);
    self->config->smtp_port = self->sink.port;
    self->config->max_backlog = 300;
    self->mailer = pst_actor_new (mailer_server_actor, self->config, "s", NULL);
    assert_non_null (self->mailer);
    //  Each instance hears from the mailer, with half the room (256 of 300)
    pst_msg_t *ready = s_expect (self, "mail.ready", NULL, NULL);
    assert_int_equal (pst_msg_get_int (ready, "credit", -1), 128);
    pst_msg_destroy (&ready);
    zframe_t *route = NULL;
    ready = s_recv_second (second, &route, WAIT_MS);
    assert_non_null (ready);
    assert_string_equal (pst_msg_op (ready), "mail.ready");
    assert_int_equal (pst_msg_get_int (ready, "credit", -1), 128);
    pst_msg_destroy (&ready);
    //  A job from the second instance is answered to the second instance
    pst_msg_t *request = pst_msg_new_request ("mail.send", 5000);
    json_t *body = s_job_body ("job-second", TO, "262626", s_now_s () + 300);
    pst_msg_set_body (request, &body);
    assert_int_equal (pst_bus_send (second, route, request), 0);
    zframe_destroy (&route);
    pst_msg_t *answer = NULL;
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (!answer && zclock_mono () < deadline) {
        pst_msg_t *msg = s_recv_second (second, &route, WAIT_MS);
        assert_non_null (msg);
        zframe_destroy (&route);
        if (streq (pst_msg_op (msg), "mail.send") && streq (pst_msg_id (msg), pst_msg_id (request)))
            answer = msg;
        else
        if (streq (pst_msg_op (msg), "mail.ready")) {
            //  Counted for this instance only
            assert_true (pst_msg_get_int (msg, "received", -1) <= 1);
            pst_msg_destroy (&msg);
        }
        else
            pst_msg_destroy (&msg);
    }
    assert_non_null (answer);
    assert_false (pst_msg_is_error (answer));
    pst_msg_destroy (&answer);
    pst_msg_destroy (&request);
    //  The mail goes out, and its result reaches one of them (either records
    //  it); the first instance, which sent nothing, hears a mail.ready whose
    //  count stays 0. The two come in either order
    int result = 0;
    int first_ready = 0;
    deadline = zclock_mono () + WAIT_MS;
    while (!(result && first_ready) && zclock_mono () < deadline) {
        pst_msg_t *msg = s_recv_router (self, 50);
        if (msg && streq (pst_msg_op (msg), "mail.ready")) {
            assert_int_equal (pst_msg_get_int (msg, "received", -1), 0);
            first_ready = 1;
        }
        if (!msg)
            msg = s_recv_second (second, &route, 50);
        zframe_destroy (&route);
        if (msg && streq (pst_msg_op (msg), "mail.result")) {
            assert_string_equal (pst_msg_get_str (msg, "job_id"), "job-second");
            assert_string_equal (pst_msg_get_str (msg, "result"), "sent");
            result = 1;
        }
        pst_msg_destroy (&msg);
    }
    assert_true (result);
    assert_true (first_ready);
    assert_true (s_mail_exists (self, 1));
    s_mailer_stop (self);
    test_keys_close (&second);
    zstr_free (&second_endpoint);
    free (list);
}

//  When a mail.ready is worth sending after stored or ended jobs: the rule on
//  its own, since the service tests cannot tell a held-back one from the
//  heartbeat without timing.
static void
test_ready_is_news (void **state)
{
    (void) state;
    //  Nothing an instance could act on, within the gap: held back
    assert_false (mailer_ready_is_news (256, 256, 10, 0, 0, 50));
    assert_false (mailer_ready_is_news (256, 256, 127, 0, 49, 50));
    //  The gap has passed
    assert_true (mailer_ready_is_news (256, 256, 10, 0, 50, 50));
    //  Half the credit told is used: at once
    assert_true (mailer_ready_is_news (256, 256, 128, 0, 0, 50));
    assert_true (mailer_ready_is_news (256, 256, 1128, 1000, 0, 50));
    assert_false (mailer_ready_is_news (256, 256, 1127, 1000, 0, 50));
    //  Another credit (the outbox filling or draining): at once
    assert_true (mailer_ready_is_news (255, 256, 0, 0, 0, 50));
    assert_true (mailer_ready_is_news (1, 0, 0, 0, 0, 50));
    assert_true (mailer_ready_is_news (0, 1, 0, 0, 0, 50));
    //  A credit of 1: one job used it up (half or more)
    assert_true (mailer_ready_is_news (1, 1, 1, 0, 0, 50));
    //  Still full, nothing read: no news until the gap (not one message a round)
    assert_false (mailer_ready_is_news (0, 0, 5, 5, 0, 50));
}

//  Starts a mailer with config and stops it again; 1 when it started.
static int
s_starts (const mailer_config_t *config)
{
    char *status = NULL;
    zactor_t *mailer = pst_actor_new (mailer_server_actor, (void *) config, "s", &status);
    int started = mailer != NULL;
    if (started)
        assert_string_equal (status, config->jobs_endpoint);
    zstr_free (&status);
    zactor_destroy (&mailer);
    return started;
}

//  A mailer that could never send (its default From is not a mailbox) refuses to
//  start instead of failing every job later.
static void
test_refuses_bad_config (void **state)
{
    fixture_t *self = *state;
    mailer_config_t *config = mailer_config_new ();
    assert_int_equal (mailer_config_set (&config->keys_dir, test_keys_dir ()), 0);
    assert_int_equal (mailer_config_set (&config->jobs_endpoint, self->endpoint), 0);
    assert_int_equal (mailer_config_set (&config->outbox_path, self->outbox), 0);
    assert_int_equal (mailer_config_set (&config->default_from, "Postern <not-an-address>"), 0);
    assert_false (s_starts (config));
    //  the same config with a valid From starts (so the refusal above was the From)
    assert_int_equal (mailer_config_set (&config->default_from, "Postern <" FROM_ADDRESS ">"), 0);
    assert_true (s_starts (config));
    mailer_config_destroy (&config);
}

//  SMTP AUTH without STARTTLS would put the password on the wire: the service
//  refuses to start, whoever built the config, unless plain text was allowed.
static void
test_refuses_plaintext_auth (void **state)
{
    fixture_t *self = *state;
    mailer_config_t *config = mailer_config_new ();
    assert_int_equal (mailer_config_set (&config->keys_dir, test_keys_dir ()), 0);
    assert_int_equal (mailer_config_set (&config->jobs_endpoint, self->endpoint), 0);
    assert_int_equal (mailer_config_set (&config->outbox_path, self->outbox), 0);
    assert_int_equal (mailer_config_set (&config->smtp_user, "postern"), 0);
    assert_int_equal (mailer_config_set (&config->smtp_password, "hunter2"), 0);
    assert_false (s_starts (config));
    config->smtp_allow_plaintext_auth = 1;
    assert_true (s_starts (config));
    config->smtp_allow_plaintext_auth = 0;
    config->smtp_starttls = 1;
    assert_true (s_starts (config));
    mailer_config_destroy (&config);
}

int
main (void)
{
    assert_int_equal (pst_crypto_init (), 0);
    //  a dead sink must not kill the test with SIGPIPE
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_delivers_one_message, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_delivery_nudges_its_owner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_permanent_failure_not_retried, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_temporary_failure_retried_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_dead_code_not_retried, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unanswered_check_postpones, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_old_rows_checked_at_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_expired_job_never_sent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_stop_writes_the_last_ends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_injection_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_outbox_survives_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_silent_relay, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_starttls_verified, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_starttls_untrusted_certificate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_starttls_not_offered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_backlog_bounds_credit, s_setup, s_teardown),
        cmocka_unit_test (test_ready_is_news),
        cmocka_unit_test_setup_teardown (test_credit_is_outbox_room, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_serves_every_mfa_instance, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refuses_bad_config, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refuses_plaintext_auth, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
