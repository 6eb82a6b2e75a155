#include "mailer_server.h"
#include "mailer_job.h"
#include "mailer_message.h"
#include "mailer_outbox.h"
#include "mailer_smtp.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_log.h"
#include <curl/curl.h>
#include <stdatomic.h>

#define HEARTBEAT_MS        1000    //  mail.ready interval (docs/protocol.md)
#define READY_TTL_MS        3000    //  mfa forgets a silent mailer after 3 s
#define RESULT_TTL_MS       10000
#define WORKER_IDLE_MS      1000    //  longest sleep before a worker looks again
#define WORKER_MIN_WAIT_MS  10      //  keeps a failing database from spinning a core
#define CHECK_TIMEOUT_MS    1000    //  longest wait for mfa's answer to mail.check
#define CHECK_AGE_S         2       //  a job accepted longer ago than this is checked
#define CHECK_RETRY_MS      2000    //  mfa did not answer: the job waits this long

//  State the bus thread and the workers share; everything else is per thread.
typedef struct {
    const mailer_config_t *config;
    atomic_int stop;                //  set before workers are told to end
    atomic_int in_flight;           //  deliveries in progress
} shared_t;

//  ---------------------------------------------------------------------------
//  Workers: each owns an outbox connection, a curl handle and a client of mfa's
//  jobs endpoint (for mail.check), claims due rows and reports every terminal
//  outcome to the bus thread as [DONE][job_id][result][detail][cancelled "1"/"0"].

typedef struct {
    shared_t *shared;
    zsock_t *pipe;
    mailer_outbox_t *outbox;
    mailer_smtp_t *smtp;
    pst_client_t *mfa;
} worker_t;

static void
s_report (worker_t *self, const mailer_job_t *job, mailer_state_t state, const char *detail,
          int cancelled)
{
    zstr_sendx (self->pipe, "DONE", job->job_id, mailer_state_name (state), detail,
                cancelled? "1": "0", NULL);
}

//  Ends the job in state; cancelled: mfa said its code is dead (S22), so the
//  expiry is not a delivery problem.
static void
s_finish_as (worker_t *self, const mailer_job_t *job, mailer_state_t state,
             long code, const char *detail, int cancelled)
{
    if (mailer_outbox_finish (self->outbox, job->job_id, state, code, detail) != 0)
        return;     //  logged; the row stays 'sending' and is retried after a restart
    char code_text [16];
    snprintf (code_text, sizeof code_text, "%ld", code);
    char attempts [16];
    snprintf (attempts, sizeof attempts, "%d", job->attempts);
    const char *event = cancelled? "mail_cancelled"
                      : state == MAILER_STATE_SENT? "mail_sent"
                      : state == MAILER_STATE_FAILED? "mail_failed": "mail_expired";
    pst_log (state == MAILER_STATE_SENT || cancelled? PST_LOG_INFO: PST_LOG_WARN, event,
             "job_id", job->job_id, "smtp_code", code_text, "attempts", attempts,
             "detail", detail, NULL);
    s_report (self, job, state, detail, cancelled);
}

static void
s_finish (worker_t *self, const mailer_job_t *job, mailer_state_t state,
          long code, const char *detail)
{
    s_finish_as (self, job, state, code, detail, 0);
}

static void
s_retry (worker_t *self, const mailer_job_t *job, long code, const char *detail)
{
    int64_t delay = mailer_backoff_ms (job->attempts, pst_random_uniform (1001));
    if (mailer_outbox_retry (self->outbox, job->job_id, zclock_time () + delay, code, detail) != 0)
        return;
    char code_text [16], delay_text [24], attempts [16];
    snprintf (code_text, sizeof code_text, "%ld", code);
    snprintf (delay_text, sizeof delay_text, "%lld", (long long) delay);
    snprintf (attempts, sizeof attempts, "%d", job->attempts);
    pst_log (PST_LOG_WARN, "mail_retry", "job_id", job->job_id, "smtp_code", code_text,
             "attempts", attempts, "retry_in_ms", delay_text, "detail", detail, NULL);
}

typedef enum { CHECK_LIVE, CHECK_DEAD, CHECK_UNANSWERED } check_t;

//  A job that has waited (a retry, or a row found after a restart) may carry a
//  code that died meanwhile: superseded by a newer challenge, or used. Only mfa
//  knows, so such a job is checked first (S22). The first attempt of a fresh job
//  goes out unasked: mfa handed it over a moment ago, with a live code.
static int
s_needs_check (const mailer_job_t *job)
{
    //  attempts counts the one in progress
    return job->attempts > 1 || zclock_time () / 1000 - job->created_at > CHECK_AGE_S;
}

//  Asks mfa whether the job's code is still live: mail.check {job_id} answered
//  {live: bool}. Anything but a clear answer in time is CHECK_UNANSWERED.
static check_t
s_check (worker_t *self, const mailer_job_t *job)
{
    pst_msg_t *request = pst_msg_new_request ("mail.check", CHECK_TIMEOUT_MS);
    if (!request)
        return CHECK_UNANSWERED;
    json_object_set_new (pst_msg_body (request), "job_id", json_string (job->job_id));
    //  a worker waiting for mfa is as busy as one talking SMTP: no credit for it
    atomic_fetch_add (&self->shared->in_flight, 1);
    pst_msg_t *reply = pst_client_call (self->mfa, request);
    atomic_fetch_sub (&self->shared->in_flight, 1);
    const json_t *live = reply && !pst_msg_is_error (reply)
                       ? json_object_get (pst_msg_body (reply), "live"): NULL;
    check_t answer = json_is_true (live)? CHECK_LIVE
                   : json_is_false (live)? CHECK_DEAD: CHECK_UNANSWERED;
    if (reply && answer == CHECK_UNANSWERED)
        pst_log (PST_LOG_WARN, "mail_check_refused", "job_id", job->job_id,
                 "error", pst_msg_error (reply), NULL);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    return answer;
}

//  mfa could not say whether the code is live: sending it might mail a dead
//  code, dropping it might lose a live one. Look again a little later; the
//  expiry still ends the job if mfa stays away.
static void
s_postpone (worker_t *self, const mailer_job_t *job)
{
    const char *detail = "mfa did not confirm the code is live";
    if (mailer_outbox_postpone (self->outbox, job->job_id, zclock_time () + CHECK_RETRY_MS,
                                detail) != 0)
        return;
    char delay_text [24];
    snprintf (delay_text, sizeof delay_text, "%d", CHECK_RETRY_MS);
    pst_log (PST_LOG_WARN, "mail_check_unanswered", "job_id", job->job_id,
             "retry_in_ms", delay_text, NULL);
}

//  One attempt at one claimed job.
static void
s_deliver (worker_t *self, const mailer_job_t *job)
{
    //  S22: the code in this mail is dead; sending it would only confuse
    if (zclock_time () >= job->expires_at * 1000) {
        s_finish (self, job, MAILER_STATE_EXPIRED, 0, "expired before delivery");
        return;
    }
    if (s_needs_check (job)) {
        check_t check = s_check (self, job);
        if (check == CHECK_DEAD) {
            s_finish_as (self, job, MAILER_STATE_EXPIRED, 0, "code superseded or used", 1);
            return;
        }
        if (check == CHECK_UNANSWERED) {
            s_postpone (self, job);
            return;
        }
    }
    mailer_message_t message = {
        job->from, job->to, job->subject, job->text, job->html, job->message_id, job->created_at
    };
    size_t size = 0;
    char *data = mailer_message_build (&message, &size);
    char *name = NULL;
    char *sender = NULL;
    if (!data || mailer_mailbox_parse (job->from, &name, &sender) != 0) {
        s_finish (self, job, MAILER_STATE_FAILED, 0, "message could not be built");
        free (data);
        return;
    }
    long code = 0;
    char detail [128];
    atomic_fetch_add (&self->shared->in_flight, 1);
    mailer_smtp_result_t result = mailer_smtp_send (self->smtp, sender, job->to, data, size,
                                                    &code, detail, sizeof detail);
    atomic_fetch_sub (&self->shared->in_flight, 1);
    explicit_bzero (data, size);
    free (data);
    free (name);
    free (sender);

    if (result == MAILER_SMTP_SENT)
        s_finish (self, job, MAILER_STATE_SENT, code, detail);
    else
    if (result == MAILER_SMTP_FAILED)
        s_finish (self, job, MAILER_STATE_FAILED, code, detail);
    else
    if (result == MAILER_SMTP_RETRY)
        s_retry (self, job, code, detail);
    else
        mailer_outbox_release (self->outbox, job->job_id);
}

//  How long to sleep before the next claim: until the next row is due, bounded.
static int
s_idle_wait_ms (worker_t *self)
{
    int64_t due = mailer_outbox_next_due (self->outbox);
    if (due < 0)
        return WORKER_IDLE_MS;
    int64_t wait = due - zclock_time ();
    return wait < WORKER_MIN_WAIT_MS? WORKER_MIN_WAIT_MS
         : wait > WORKER_IDLE_MS? WORKER_IDLE_MS: (int) wait;
}

static void
s_worker_loop (worker_t *self)
{
    zpoller_t *poller = zpoller_new (self->pipe, NULL);
    int dirty = 0;
    while (poller && !atomic_load (&self->shared->stop)) {
        mailer_job_t *job = mailer_outbox_claim (self->outbox, zclock_time ());
        if (job) {
            s_deliver (self, job);
            mailer_job_destroy (&job);
            dirty = 1;
            continue;
        }
        if (dirty) {
            mailer_outbox_checkpoint (self->outbox);
            dirty = 0;
        }
        if (zpoller_wait (poller, s_idle_wait_ms (self)) == self->pipe) {
            if (pst_actor_term_received (self->pipe))
                break;      //  else a nudge to look for work now
        }
        else
        if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
}

static void
s_worker_actor (zsock_t *pipe, void *args)
{
    worker_t self = { (shared_t *) args, pipe, NULL, NULL, NULL };
    self.outbox = mailer_outbox_new (self.shared->config->outbox_path);
    self.smtp = mailer_smtp_new (self.shared->config, &self.shared->stop);
    //  A socket of its own, so a check never waits behind the bus thread. It is a
    //  request client (ZMQ_IMMEDIATE, linger 0): with mfa down a check fails within
    //  its timeout instead of queueing for a later mfa
    const char *endpoint = self.shared->config->jobs_endpoint;
    self.mfa = endpoint? pst_client_new (endpoint): NULL;
    if (self.outbox && self.smtp && self.mfa) {
        pst_actor_ready (pipe, NULL);
        s_worker_loop (&self);
    }
    else
        pst_actor_failed (pipe, "delivery worker could not start");
    pst_client_destroy (&self.mfa);
    mailer_smtp_destroy (&self.smtp);
    mailer_outbox_destroy (&self.outbox);
}

//  ---------------------------------------------------------------------------
//  The bus thread: jobs in, readiness and results out.

typedef struct {
    shared_t shared;
    const mailer_config_t *config;
    mailer_outbox_t *outbox;
    zsock_t *jobs;                  //  DEALER to mfa
    zactor_t **workers;
    int nworkers;
    int64_t next_ready;             //  when the next mail.ready is due, Unix ms
} server_t;

//  1 when the outbox holds config->max_backlog unfinished jobs or more (or cannot
//  be counted): then no job is taken, so a relay that is down makes mfa answer
//  temporarily_unavailable instead of letting the outbox grow without bound.
static int
s_outbox_full (server_t *self, int *room_p)
{
    int backlog = mailer_outbox_backlog (self->outbox);
    int room = backlog < 0? 0: self->config->max_backlog - backlog;
    if (room_p)
        *room_p = room > 0? room: 0;
    return room <= 0;
}

//  Idle workers, but never more than the room left in the outbox: mfa may send
//  this many jobs before our next mail.ready, and each becomes a row.
static int
s_credit (server_t *self)
{
    int room = 0;
    if (s_outbox_full (self, &room))
        return 0;
    int credit = self->config->concurrency - atomic_load (&self->shared.in_flight);
    if (credit > room)
        credit = room;
    return credit > 0? credit: 0;
}

static void
s_send_ready (server_t *self)
{
    pst_msg_t *ready = pst_msg_new_request ("mail.ready", READY_TTL_MS);
    if (ready) {
        json_object_set_new (pst_msg_body (ready), "credit", json_integer (s_credit (self)));
        pst_bus_send (self->jobs, NULL, ready);
    }
    pst_msg_destroy (&ready);
    self->next_ready = zclock_time () + HEARTBEAT_MS;
}

//  Fire and forget: mfa records the outcome (an `fn` audit event on failure).
//  cancelled marks a job dropped because mfa said its code was dead: not a failure.
static void
s_send_result (server_t *self, const char *job_id, const char *result, const char *detail,
               int cancelled)
{
    pst_msg_t *msg = pst_msg_new_request ("mail.result", RESULT_TTL_MS);
    if (msg) {
        json_t *body = pst_msg_body (msg);
        json_object_set_new (body, "job_id", json_string (job_id));
        json_object_set_new (body, "result", json_string (result));
        json_object_set_new (body, "detail", json_string (detail));
        if (cancelled)
            json_object_set_new (body, "cancelled", json_true ());
        if (pst_bus_send (self->jobs, NULL, msg) != 0)
            pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", job_id, NULL);
    }
    pst_msg_destroy (&msg);
}

//  Nudges every worker to look for work now; a busy worker finds the nudge when it
//  is done, and a full pipe means it will look anyway.
static void
s_wake_workers (server_t *self)
{
    for (int i = 0; i < self->nworkers; i++)
        zmq_send (zsock_resolve (self->workers [i]), "WAKE", 4, ZMQ_DONTWAIT);
}

static void
s_reply (server_t *self, pst_msg_t **reply_p)
{
    if (pst_bus_send (self->jobs, NULL, *reply_p) != 0)
        pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", "mailer",
                 "op", pst_msg_op (*reply_p), NULL);
    pst_msg_destroy (reply_p);
}

static void
s_handle_send (server_t *self, const pst_msg_t *request)
{
    pst_msg_t *reply = pst_msg_new_reply (request);
    if (!reply)
        return;
    const char *reason = NULL;
    mailer_job_t *job = mailer_job_from_body (pst_msg_body (request), self->config->default_from,
                                              zclock_time () / 1000, &reason);
    if (!job) {
        pst_log (PST_LOG_WARN, "mail_invalid", "request_id", pst_msg_id (request),
                 "field", reason, NULL);
        pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid or missing %s", reason);
        s_reply (self, &reply);
        return;
    }
    if (s_outbox_full (self, NULL)) {
        //  mfa relays this to the worker, which voids the challenge with a 503 (S20)
        pst_log (PST_LOG_WARN, "mail_refused_full", "job_id", job->job_id, NULL);
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "The mail queue is full");
        s_reply (self, &reply);
        mailer_job_destroy (&job);
        return;
    }
    int rc = mailer_outbox_insert (self->outbox, job, (int64_t) pst_msg_deadline (request));
    if (rc == 0 || rc == 1) {
        pst_log (PST_LOG_INFO, rc == 0? "mail_accepted": "mail_duplicate",
                 "job_id", job->job_id, "request_id", pst_msg_id (request), NULL);
        s_reply (self, &reply);
        s_wake_workers (self);
    }
    else
    if (rc == -2)   //  the caller gave up before the commit: nothing stored, no reply
        pst_log (PST_LOG_INFO, "mail_dropped_late", "job_id", job->job_id, NULL);
    else {
        pst_msg_fail (reply, PST_ERR_INTERNAL, "The mail could not be queued");
        s_reply (self, &reply);
    }
    pst_msg_destroy (&reply);
    mailer_job_destroy (&job);
}

//  Operations mfa may send us, as data.
typedef struct {
    const char *op;
    void (*handler) (server_t *self, const pst_msg_t *request);
} op_t;

static const op_t s_ops [] = {
    { "mail.send", s_handle_send },
    { NULL, NULL }
};

static void
s_handle_jobs (server_t *self)
{
    pst_msg_t *msg = pst_bus_recv_dealer (self->jobs);
    if (!msg)
        return;     //  malformed: pst_bus logged it
    const op_t *op = s_ops;
    while (op->op && !streq (op->op, pst_msg_op (msg)))
        op++;
    if (!op->op)
        pst_log (PST_LOG_WARN, "bus_unknown_op", "service", "mailer", "op", pst_msg_op (msg), NULL);
    else
    if (pst_msg_remaining_ms (msg) <= 0)
        pst_log (PST_LOG_INFO, "bus_request_expired", "service", "mailer",
                 "op", pst_msg_op (msg), "request_id", pst_msg_id (msg), NULL);
    else
        op->handler (self, msg);
    pst_msg_destroy (&msg);
}

//  A worker finished a job: tell mfa the outcome and that there is room again.
static void
s_handle_worker (server_t *self, zactor_t *worker)
{
    char *command = NULL, *job_id = NULL, *result = NULL, *detail = NULL, *cancelled = NULL;
    if (zstr_recvx (worker, &command, &job_id, &result, &detail, &cancelled, NULL) == 5
    &&  streq (command, "DONE")) {
        s_send_result (self, job_id, result, detail, streq (cancelled, "1"));
        s_send_ready (self);
    }
    zstr_free (&command);
    zstr_free (&job_id);
    zstr_free (&result);
    zstr_free (&detail);
    zstr_free (&cancelled);
}

static void
s_stop_workers (server_t *self)
{
    atomic_store (&self->shared.stop, 1);
    for (int i = 0; self->workers && i < self->nworkers; i++)
        zactor_destroy (&self->workers [i]);
    free (self->workers);
    self->workers = NULL;
}

static int
s_start_workers (server_t *self)
{
    self->nworkers = self->config->concurrency > 0? self->config->concurrency: 1;
    self->workers = (zactor_t **) calloc ((size_t) self->nworkers, sizeof (zactor_t *));
    if (!self->workers)
        return -1;
    for (int i = 0; i < self->nworkers; i++) {
        self->workers [i] = pst_actor_new (s_worker_actor, &self->shared, NULL);
        if (!self->workers [i])
            return -1;
    }
    return 0;
}

//  A From every job falls back on must itself be valid, or nothing could be sent;
//  and a setting that would expose the SMTP password stops us here (whoever built
//  the config), before anything is connected.
static int
s_check_config (const mailer_config_t *config)
{
    char *name = NULL;
    char *address = NULL;
    int rc = mailer_mailbox_parse (config->default_from, &name, &address);
    free (name);
    free (address);
    if (rc != 0)
        pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_SMTP_FROM", NULL);
    if (!config->smtp_host || !*config->smtp_host) {
        pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_SMTP_HOST", NULL);
        rc = -1;
    }
    if (config->max_backlog < 1) {
        pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_MAILER_MAX_BACKLOG", NULL);
        rc = -1;
    }
    if (mailer_config_check (config) != 0)
        rc = -1;
    return rc;
}

static int
s_start (server_t *self)
{
    const mailer_config_t *config = self->config;
    if (s_check_config (config) != 0)
        return -1;
    self->outbox = mailer_outbox_new (config->outbox_path);
    if (!self->outbox)
        return -1;
    //  rows caught mid-delivery by a crash go out again with the same Message-ID
    int recovered = mailer_outbox_recover (self->outbox);
    if (recovered > 0) {
        char count [16];
        snprintf (count, sizeof count, "%d", recovered);
        pst_log (PST_LOG_WARN, "mail_recovered", "count", count, NULL);
    }
    self->jobs = zsock_new (ZMQ_DEALER);
    if (!self->jobs || !config->jobs_endpoint)
        return -1;
    //  Without ZMQ_IMMEDIATE, results queue while mfa restarts and flush on reconnect
    pst_bus_tune (self->jobs);
    if (zsock_connect (self->jobs, "%s", config->jobs_endpoint) != 0) {
        pst_log (PST_LOG_ERROR, "bus_connect_failed", "endpoint", config->jobs_endpoint, NULL);
        return -1;
    }
    return s_start_workers (self);
}

static void
s_serve (server_t *self, zsock_t *pipe)
{
    zpoller_t *poller = zpoller_new (pipe, self->jobs, NULL);
    for (int i = 0; poller && i < self->nworkers; i++)
        zpoller_add (poller, self->workers [i]);
    s_send_ready (self);
    while (poller) {
        int64_t wait = self->next_ready - zclock_time ();
        void *which = zpoller_wait (poller, wait > 0? (int) wait: 0);
        if (which == pipe) {
            if (pst_actor_term_received (pipe))
                break;
        }
        else
        if (which == self->jobs)
            s_handle_jobs (self);
        else
        if (which)
            s_handle_worker (self, (zactor_t *) which);
        else
        if (zpoller_terminated (poller))
            break;
        if (zclock_time () >= self->next_ready)
            s_send_ready (self);
    }
    zpoller_destroy (&poller);
}

void
mailer_server_actor (zsock_t *pipe, void *args)
{
    server_t self = { .config = (const mailer_config_t *) args };
    self.shared.config = self.config;
    atomic_init (&self.shared.stop, 0);
    atomic_init (&self.shared.in_flight, 0);
    int curl_ok = curl_global_init (CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (curl_ok && s_start (&self) == 0) {
        pst_actor_ready (pipe, "s", self.config->jobs_endpoint);
        pst_log (PST_LOG_INFO, "service_started", "service", "mailer",
                 "endpoint", self.config->jobs_endpoint, NULL);
        s_serve (&self, pipe);
    }
    else {
        pst_log (PST_LOG_ERROR, "service_start_failed", "service", "mailer", NULL);
        pst_actor_failed (pipe, "mailer could not start");
    }
    s_stop_workers (&self);
    zsock_destroy (&self.jobs);
    mailer_outbox_destroy (&self.outbox);
    if (curl_ok)
        curl_global_cleanup ();
}
