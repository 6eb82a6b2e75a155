#include "mailer_delivery.h"
#include "mailer_message.h"
#include "mailer_smtp.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKER_IDLE_MS      1000    //  longest sleep before a worker looks again
#define WORKER_MIN_WAIT_MS  10      //  keeps a failing database from spinning a core
#define CHECK_TIMEOUT_MS    1000    //  longest wait for mfa's answer to mail.check
#define CHECK_AGE_S         2       //  a job accepted longer ago than this is checked
#define CHECK_RETRY_MS      2000    //  mfa did not answer: the job waits this long
#define CHECKPOINT_EVERY_MS 1000    //  at most one outbox checkpoint a second
#define WORKERS_END_MS      10000   //  longest wait for the workers' threads at a stop

//  What the owner and the workers share; everything else is per thread.
typedef struct {
    const mailer_config_t *config;
    pst_curve_t *curve;
    atomic_int stop;                //  set before workers are told to end
    atomic_llong writes;            //  outcomes the owner wrote, rows the workers put back
    atomic_llong checkpointed;      //  writes when the last checkpoint began
    atomic_llong checkpoint_at;     //  when it began, zclock_mono ms
    pthread_mutex_t lock;           //  guards handed and ended
    zlistx_t *handed;               //  mailer_job_t stored as claimed, first come first
                                    //  served: the workers take these before the outbox
    zlistx_t *ended;                //  mailer_delivery_result_t for the owner to write
    int ended_fd;                   //  eventfd: ended has become non-empty
} shared_t;

//  A worker as its owner sees it. idle is set by the worker before it looks at
//  handed a last time and waits, so a job handed meanwhile is either found by
//  that look or finds the flag (mailer_delivery_wake)
typedef struct {
    shared_t *shared;
    zactor_t *actor;
    atomic_int idle;
    int wake_fd;                    //  eventfd: a job was handed over
    atomic_int running;             //  its thread may still touch the shared state
} slot_t;

struct _mailer_delivery_t {
    shared_t shared;                //  the workers point here: the struct stays put
    slot_t *slots;                  //  nworkers of them, allocated once: they stay put too
    int nworkers;
};

//  One worker's own state
typedef struct {
    shared_t *shared;
    slot_t *slot;
    zsock_t *pipe;
    mailer_outbox_t *outbox;
    mailer_smtp_t *smtp;
    pst_client_t *mfa;
    int64_t provider_generation;    //  the stored email provider smtp uses (0: the
                                    //  configuration's server)
} worker_t;

//  The nudges between the owner and the workers are eventfds rather than
//  ZeroMQ pipes: a write to wake, a read to take, where each look at a pipe
//  cost a getpid and a poll, and the owner looked at every worker's pipe
//  each time it found no end waiting
static void
s_signal (int fd)
{
    uint64_t one = 1;
    //  Fails only when the counter would overflow: it holds a nudge already
    if (write (fd, &one, sizeof one) < 0 && errno != EAGAIN)
        pst_log (PST_LOG_WARN, "delivery_nudge_failed", "reason", strerror (errno), NULL);
}

static void
s_drain (int fd)
{
    uint64_t count;
    if (read (fd, &count, sizeof count) < 0 && errno != EAGAIN)
        pst_log (PST_LOG_WARN, "delivery_nudge_failed", "reason", strerror (errno), NULL);
}

//  Ends the job in state: the outcome goes to the owner, which writes it with
//  the others that ended meanwhile, in one transaction, and tells mfa
//  (mailer_server). cancelled: mfa said its code is dead (S22), so the expiry is
//  not a delivery problem. A job id the struct cannot hold never came from
//  mail.send (MAILER_JOB_ID_MAX): it is logged and not reported, and its row
//  stays 'sending', retried after a restart.
static void
s_end_as (worker_t *self, const mailer_job_t *job, mailer_state_t state,
             long code, const char *detail, int cancelled)
{
    size_t id_len = strlen (job->job_id);
    mailer_delivery_result_t *result = id_len <= MAILER_JOB_ID_MAX
                                     ? (mailer_delivery_result_t *) calloc (1, sizeof *result)
                                     : NULL;
    if (!result) {
        pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", job->job_id,
                 "reason", id_len > MAILER_JOB_ID_MAX? "job_id too long": "out of memory", NULL);
        return;
    }
    memcpy (result->job_id, job->job_id, id_len);
    result->state = state;
    result->cancelled = cancelled != 0;
    result->smtp_code = code;
    result->attempts = job->attempts;
    snprintf (result->detail, sizeof result->detail, "%s", detail? detail: "");
    shared_t *shared = self->shared;
    pthread_mutex_lock (&shared->lock);
    bool first = zlistx_size (shared->ended) == 0;
    void *handle = zlistx_add_end (shared->ended, result);
    pthread_mutex_unlock (&shared->lock);
    if (!handle) {
        pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", job->job_id,
                 "reason", "out of memory", NULL);
        free (result);
        return;
    }
    //  An end added behind others is found by the owner's read that takes
    //  those (it reads until the list is empty before it waits)
    if (first)
        s_signal (shared->ended_fd);
}

static void
s_end (worker_t *self, const mailer_job_t *job, mailer_state_t state,
          long code, const char *detail)
{
    s_end_as (self, job, state, code, detail, 0);
}

static void
s_retry (worker_t *self, const mailer_job_t *job, long code, const char *detail)
{
    int64_t delay = mailer_backoff_ms (job->attempts, pst_random_uniform (1001));
    if (mailer_outbox_retry (self->outbox, job->job_id, zclock_time () + delay, code, detail) != 0)
        return;
    atomic_fetch_add (&self->shared->writes, 1);
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
    pst_msg_t *reply = pst_client_call (self->mfa, request);
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
s_postpone (worker_t *self, const mailer_job_t *job, const char *detail)
{
    if (mailer_outbox_postpone (self->outbox, job->job_id, zclock_time () + CHECK_RETRY_MS,
                                detail) != 0)
        return;
    atomic_fetch_add (&self->shared->writes, 1);
    char delay_text [24];
    snprintf (delay_text, sizeof delay_text, "%d", CHECK_RETRY_MS);
    pst_log (PST_LOG_WARN, "mail_check_unanswered", "job_id", job->job_id,
             "retry_in_ms", delay_text, NULL);
}

//  Points smtp at the email provider stored on mfa when the job was made from
//  a newer one than smtp uses: mail.provider answers it with its password
//  (the CURVE link encrypts it; it is never logged). A provider disabled, or
//  none, sends with the configuration's server. 0, or -1 when mfa did not answer.
static int
s_provider (worker_t *self, const mailer_job_t *job)
{
    if (job->provider_generation <= self->provider_generation)
        return 0;
    pst_msg_t *request = pst_msg_new_request ("mail.provider", CHECK_TIMEOUT_MS);
    pst_msg_t *reply = request? pst_client_call (self->mfa, request): NULL;
    const json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    const json_t *generation = json_object_get (body, "generation");
    int rc = json_is_integer (generation)? 0: -1;
    if (rc == 0) {
        const json_t *credentials = json_object_get (body, "credentials");
        const char *host = json_string_value (json_object_get (credentials, "smtp_host"));
        json_int_t port = json_integer_value (json_object_get (credentials, "smtp_port"));
        int enabled = json_is_true (json_object_get (body, "enabled"));
        if (!enabled || !host || port < 1 || port > 65535)
            host = NULL;
        rc = mailer_smtp_use (self->smtp, host, (int) port,
            host? json_string_value (json_object_get (credentials, "smtp_user")): NULL,
            host? json_string_value (json_object_get (credentials, "smtp_pass")): NULL);
        if (rc == 0)
            self->provider_generation = json_integer_value (generation);
        char generation_text [24], port_text [8];
        snprintf (generation_text, sizeof generation_text, "%lld",
                  (long long) json_integer_value (generation));
        snprintf (port_text, sizeof port_text, "%d", host? (int) port: 0);
        pst_log (rc? PST_LOG_WARN: PST_LOG_INFO, "mail_provider_applied",
                 "generation", generation_text, "smtp_host", host? host: "(configuration)",
                 "smtp_port", host? port_text: NULL, "result", rc? "refused": "ok", NULL);
    }
    else
    if (reply)
        pst_log (PST_LOG_WARN, "mail_provider_refused", "error", pst_msg_error (reply), NULL);
    if (reply) {
        //  The password is wiped before the reply goes back to the heap
        json_t *pass = json_object_get (json_object_get (pst_msg_body (reply), "credentials"),
                                        "smtp_pass");
        if (json_string_value (pass))
            explicit_bzero ((char *) json_string_value (pass), json_string_length (pass));
    }
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    return rc;
}

//  One attempt at one claimed job.
static void
s_deliver (worker_t *self, const mailer_job_t *job)
{
    //  S22: the code in this mail is dead; sending it would only confuse
    if (zclock_time () >= job->expires_at * 1000) {
        s_end (self, job, MAILER_STATE_EXPIRED, 0, "expired before delivery");
        return;
    }
    if (s_needs_check (job)) {
        check_t check = s_check (self, job);
        if (check == CHECK_DEAD) {
            s_end_as (self, job, MAILER_STATE_EXPIRED, 0, "code superseded or used", 1);
            return;
        }
        if (check == CHECK_UNANSWERED) {
            s_postpone (self, job, "mfa did not confirm the code is live");
            return;
        }
    }
    if (s_provider (self, job) != 0) {
        s_postpone (self, job, "mfa did not answer with the email provider");
        return;
    }
    mailer_message_t message = {
        job->from, job->to, job->subject, job->text, job->html, job->message_id, job->created_at
    };
    size_t size = 0;
    char *data = mailer_message_build (&message, &size);
    char *name = NULL;
    char *sender = NULL;
    if (!data || mailer_mailbox_parse (job->from, &name, &sender) != 0) {
        s_end (self, job, MAILER_STATE_FAILED, 0, "message could not be built");
        free (data);
        return;
    }
    long code = 0;
    char detail [128];
    mailer_smtp_result_t result = mailer_smtp_send (self->smtp, sender, job->to, data, size,
                                                    &code, detail, sizeof detail);
    explicit_bzero (data, size);
    free (data);
    free (name);
    free (sender);

    if (result == MAILER_SMTP_SENT)
        s_end (self, job, MAILER_STATE_SENT, code, detail);
    else
    if (result == MAILER_SMTP_FAILED)
        s_end (self, job, MAILER_STATE_FAILED, code, detail);
    else
    if (result == MAILER_SMTP_RETRY)
        s_retry (self, job, code, detail);
    else {
        //  Stopped mid-attempt: the job waits for the next start, uncounted
        if (mailer_outbox_release (self->outbox, job->job_id) == 0)
            atomic_fetch_add (&self->shared->writes, 1);
    }
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

//  A worker with nothing to do checkpoints the outbox when jobs ended since the
//  last checkpoint, but not more than once every CHECKPOINT_EVERY_MS across all
//  workers: under load a worker finds the outbox empty between most jobs, and a
//  checkpoint after each (a prune, a TRUNCATE and their fsyncs, under the write
//  lock the bus thread needs to accept jobs) cost more than the deliveries. The
//  one that is due is taken by a single worker; the others wake within
//  WORKER_IDLE_MS and see it done.
static void
s_checkpoint_when_due (worker_t *self)
{
    shared_t *shared = self->shared;
    long long writes = atomic_load (&shared->writes);
    if (writes == atomic_load (&shared->checkpointed))
        return;
    long long now = (long long) zclock_mono ();
    long long last = atomic_load (&shared->checkpoint_at);
    if (now - last < CHECKPOINT_EVERY_MS
    ||  !atomic_compare_exchange_strong (&shared->checkpoint_at, &last, now))
        return;
    atomic_store (&shared->checkpointed, writes);
    mailer_outbox_checkpoint (self->outbox);
}

//  The first job handed over in memory, or NULL
static mailer_job_t *
s_take_handed (shared_t *shared)
{
    pthread_mutex_lock (&shared->lock);
    mailer_job_t *job = (mailer_job_t *) zlistx_detach (shared->handed, NULL);
    pthread_mutex_unlock (&shared->lock);
    return job;
}

static size_t
s_handed_count (shared_t *shared)
{
    pthread_mutex_lock (&shared->lock);
    size_t count = zlistx_size (shared->handed);
    pthread_mutex_unlock (&shared->lock);
    return count;
}

//  Fresh jobs come handed over in memory (mailer_delivery_hand), already
//  stored as claimed; the outbox is looked at for due rows (retries, rows
//  recovered at start) only when one may be due, so a wake-up for a fresh
//  job costs no write transaction of its own.
static void
s_worker_loop (worker_t *self)
{
    //  When due rows are looked for next, on the monotonic clock: the rows'
    //  times are Unix ms (they outlive the process), but a wall clock stepped
    //  back must not hold this look back by as much
    int64_t next_look = 0;
    bool term = pst_actor_term_pending (self->pipe);
    while (!term && !atomic_load (&self->shared->stop)) {
        mailer_job_t *job = s_take_handed (self->shared);
        if (!job && zclock_mono () >= next_look) {
            job = mailer_outbox_claim (self->outbox, zclock_time ());
            if (!job)
                next_look = zclock_mono () + s_idle_wait_ms (self);
        }
        if (job) {
            s_deliver (self, job);
            mailer_job_destroy (&job);
            continue;
        }
        s_checkpoint_when_due (self);
        atomic_store (&self->slot->idle, 1);
        if (s_handed_count (self->shared) > 0) {
            atomic_store (&self->slot->idle, 0);
            continue;
        }
        int64_t wait = next_look - zclock_mono ();
        int woke = pst_actor_wait (self->pipe, NULL, 0, self->slot->wake_fd,
                                   wait < 0? 0: wait > WORKER_IDLE_MS? WORKER_IDLE_MS
                                                                     : (int) wait, NULL);
        atomic_store (&self->slot->idle, 0);
        if (woke < 0 || (woke == 0 && zsys_interrupted))
            break;
        term = (woke & PST_ACTOR_WOKE_TERM) != 0;
        if (woke & PST_ACTOR_WOKE_FD)
            s_drain (self->slot->wake_fd);      //  a job was handed over
    }
}

static void
s_worker_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("mailer-send");
    slot_t *slot = (slot_t *) args;
    worker_t self = { slot->shared, slot, pipe, NULL, NULL, NULL, 0 };
    self.outbox = mailer_outbox_new (self.shared->config->outbox_path);
    if (self.outbox && mailer_outbox_for_delivery (self.outbox) != 0)
        mailer_outbox_destroy (&self.outbox);
    self.smtp = mailer_smtp_new (self.shared->config, &self.shared->stop);
    //  A socket of its own, so a check never waits behind the bus thread. It is a
    //  request client (ZMQ_IMMEDIATE, linger 0): with mfa down a check fails within
    //  its timeout instead of queueing for a later mfa
    const char *endpoint = self.shared->config->jobs_endpoint;
    self.mfa = endpoint? pst_client_new (endpoint, self.shared->curve, "mfa"): NULL;
    if (self.outbox && self.smtp && self.mfa) {
        pst_actor_ready (pipe, NULL);
        s_worker_loop (&self);
    }
    else
        pst_actor_failed (pipe, "delivery worker could not start");
    pst_client_destroy (&self.mfa);
    mailer_smtp_destroy (&self.smtp);
    mailer_outbox_destroy (&self.outbox);
    atomic_store (&slot->running, 0);       //  last: nothing of slot is touched after
}

//  ---------------------------------------------------------------------------
//  The owner's side

mailer_delivery_t *
mailer_delivery_new (const mailer_config_t *config, pst_curve_t *curve)
{
    mailer_delivery_t *self = (mailer_delivery_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->shared.config = config;
    self->shared.curve = curve;
    atomic_init (&self->shared.stop, 0);
    atomic_init (&self->shared.writes, 0);
    atomic_init (&self->shared.checkpointed, 0);
    atomic_init (&self->shared.checkpoint_at, 0);
    pthread_mutex_init (&self->shared.lock, NULL);
    self->shared.handed = zlistx_new ();
    self->shared.ended = zlistx_new ();
    self->shared.ended_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->nworkers = config->concurrency > 0? config->concurrency: 1;
    self->slots = (slot_t *) calloc ((size_t) self->nworkers, sizeof (slot_t));
    for (int i = 0; self->slots && i < self->nworkers; i++)
        self->slots [i].wake_fd = -1;
    if (!self->slots || !self->shared.handed || !self->shared.ended || self->shared.ended_fd < 0) {
        mailer_delivery_destroy (&self);
        return NULL;
    }
    for (int i = 0; i < self->nworkers; i++) {
        slot_t *slot = &self->slots [i];
        slot->shared = &self->shared;
        atomic_init (&slot->idle, 0);
        slot->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
        atomic_init (&slot->running, slot->wake_fd >= 0);
        slot->actor = slot->wake_fd >= 0? pst_actor_new (s_worker_actor, slot, NULL): NULL;
        if (!slot->actor) {
            mailer_delivery_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
mailer_delivery_stop (mailer_delivery_t *self)
{
    //  A delivery in progress sees the flag and gives up (MAILER_SMTP_ABORTED)
    atomic_store (&self->shared.stop, 1);
    for (int i = 0; self->slots && i < self->nworkers; i++)
        zactor_destroy (&self->slots [i].actor);
}

//  zactor_destroy returns early when a signal interrupts its wait, with the
//  worker's thread still running: the shared state must outlive it
static bool
s_workers_ended (mailer_delivery_t *self)
{
    int64_t until = zclock_mono () + WORKERS_END_MS;
    for (int i = 0; self->slots && i < self->nworkers; i++)
        while (atomic_load (&self->slots [i].running)) {
            if (zclock_mono () >= until)
                return false;
            zclock_sleep (1);
        }
    return true;
}

void
mailer_delivery_destroy (mailer_delivery_t **self_p)
{
    if (self_p && *self_p) {
        mailer_delivery_t *self = *self_p;
        mailer_delivery_stop (self);
        if (!s_workers_ended (self)) {
            //  Left allocated rather than freed under a running thread; the
            //  process is stopping
            pst_log (PST_LOG_ERROR, "delivery_workers_not_ended", NULL);
            *self_p = NULL;
            return;
        }
        for (int i = 0; self->slots && i < self->nworkers; i++)
            if (self->slots [i].wake_fd >= 0)
                close (self->slots [i].wake_fd);
        free (self->slots);
        //  Jobs nobody took stay claimed in the outbox: the next start recovers them
        mailer_job_t *job;
        while (self->shared.handed
        &&     (job = (mailer_job_t *) zlistx_detach (self->shared.handed, NULL)))
            mailer_job_destroy (&job);
        zlistx_destroy (&self->shared.handed);
        //  So do jobs whose end the owner did not read (it reads them all after
        //  mailer_delivery_stop): they are sent again after the restart
        mailer_delivery_result_t *result;
        while (self->shared.ended
        &&     (result = (mailer_delivery_result_t *) zlistx_detach (self->shared.ended, NULL))) {
            pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", result->job_id,
                     "reason", "not written before the stop", NULL);
            free (result);
        }
        zlistx_destroy (&self->shared.ended);
        if (self->shared.ended_fd >= 0)
            close (self->shared.ended_fd);
        pthread_mutex_destroy (&self->shared.lock);
        free (self);
        *self_p = NULL;
    }
}

void
mailer_delivery_hand (mailer_delivery_t *self, mailer_job_t **job_p)
{
    mailer_job_t *job = *job_p;
    *job_p = NULL;
    job->attempts = 1;
    pthread_mutex_lock (&self->shared.lock);
    void *handle = zlistx_add_end (self->shared.handed, job);
    pthread_mutex_unlock (&self->shared.lock);
    if (!handle)
        mailer_job_destroy (&job);      //  its row waits for the next start's recovery
}

void
mailer_delivery_wake (mailer_delivery_t *self)
{
    //  One idle worker per job waiting; a busy one finds the rest when it is done.
    //  The flag is taken back here, so a worker is not nudged twice for one wait
    size_t waiting = s_handed_count (&self->shared);
    for (int i = 0; i < self->nworkers && waiting > 0; i++) {
        int idle = 1;
        if (atomic_compare_exchange_strong (&self->slots [i].idle, &idle, 0)) {
            s_signal (self->slots [i].wake_fd);
            waiting--;
        }
    }
}

int
mailer_delivery_fd (mailer_delivery_t *self)
{
    return self->shared.ended_fd;
}

//  The first end in the list, detached; NULL when there is none
static mailer_delivery_result_t *
s_take_ended (shared_t *shared)
{
    pthread_mutex_lock (&shared->lock);
    mailer_delivery_result_t *result = (mailer_delivery_result_t *) zlistx_detach (shared->ended,
                                                                                   NULL);
    pthread_mutex_unlock (&shared->lock);
    return result;
}

int
mailer_delivery_next (mailer_delivery_t *self, mailer_delivery_result_t *result)
{
    mailer_delivery_result_t *ended = s_take_ended (&self->shared);
    if (!ended) {
        //  The nudge is read only once the list is empty, so the owner's next
        //  wait does not wake for ends already read; an end added after this
        //  look nudges again (it finds the list empty), and the wait wakes
        s_drain (self->shared.ended_fd);
        ended = s_take_ended (&self->shared);
    }
    if (!ended)
        return 0;
    *result = *ended;
    free (ended);
    return 1;
}

void
mailer_delivery_written (mailer_delivery_t *self, int count)
{
    atomic_fetch_add (&self->shared.writes, count);
}
