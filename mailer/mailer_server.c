#include "mailer_server.h"
#include "mailer_delivery.h"
#include "mailer_job.h"
#include "mailer_message.h"
#include "mailer_outbox.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <curl/curl.h>
#include <string.h>

#define HEARTBEAT_MS        1000    //  mail.ready interval (docs/protocol.md)
#define READY_TTL_MS        3000    //  mfa forgets a silent mailer after 3 s
//  Between heartbeats, a busy round says its credit again at most this often
//  when nothing an mfa instance could act on changed (so one that restarted,
//  and knows no mailer until it hears one, is not kept waiting for a heartbeat)
#define READY_GAP_MS        50
#define RESULT_TTL_MS       10000
#define WRITE_AGAIN_MS      1000    //  after a failed write of ends, the wait before the next
#define TERM_LOOK_MS        100     //  longest a busy loop goes without looking for $TERM
//  Jobs one commit takes at most, and the most credit one mail.ready grants: mfa
//  may send that many before it hears from us again
#define ACCEPT_BATCH_MAX    256
//  mfa instances one mailer serves at most (POSTERN_MFA_JOBS_ENDPOINT's list)
#define MFA_LINKS_MAX       16

//  The socket to one mfa instance, and the mail.send messages read from it
//  since start (mail.ready's received: each instance counts its own)
typedef struct {
    zsock_t *sock;
    int64_t received;
    int64_t told_received;          //  received and credit in our last mail.ready
    int told_credit;
} link_t;

//  A valid job waiting for the batch's commit, with the request to answer and
//  the mfa instance it came from
typedef struct {
    pst_msg_t *request;
    mailer_job_t *job;
    link_t *link;
} accept_t;

//  The bus thread: jobs in, readiness and results out; the deliveries run in
//  mailer_delivery's workers.
typedef struct {
    const mailer_config_t *config;
    mailer_outbox_t *outbox;
    pst_curve_t *curve;             //  this mailer's bus identity
    link_t links [MFA_LINKS_MAX];   //  a DEALER to each mfa instance
    int nlinks;
    int next_result;                //  the link the next mail.result goes to
    mailer_delivery_t *delivery;
    int64_t next_ready;             //  when the next mail.ready is due, monotonic ms
    int64_t ready_at;               //  when the last one went, monotonic ms
    int backlog;                    //  unfinished jobs in the outbox
    char epoch [17];                //  this run of the mailer, for mfa's count of sent jobs
    int64_t next_count;             //  when backlog is counted again, monotonic ms
    accept_t batch [ACCEPT_BATCH_MAX];  //  jobs read from the sockets, not yet stored
    int batched;
    mailer_delivery_result_t *unwritten;    //  ends read from the workers, not yet
    size_t nunwritten, unwritten_room;      //  written: the array, its use and size
    int64_t write_again_at;         //  after a failed write, when to try, monotonic ms
    bool ready_due;                 //  jobs stored or ended since the last mail.ready
} server_t;

//  Counts the unfinished jobs. Between counts (every HEARTBEAT_MS) the bus
//  thread keeps the figure itself, from the jobs it stores and the outcomes
//  the workers report: counting them is a walk over the whole backlog, which
//  under load cost more than storing the jobs. An outbox that cannot be
//  counted is taken as full.
static void
s_count_backlog (server_t *self)
{
    int backlog = mailer_outbox_backlog (self->outbox);
    self->backlog = backlog < 0? self->config->max_backlog: backlog;
    self->next_count = zclock_mono () + HEARTBEAT_MS;
}

//  1 when the outbox holds config->max_backlog unfinished jobs or more: then
//  no job is taken, so a relay that is down makes mfa answer
//  temporarily_unavailable instead of letting the outbox grow without bound.
static int
s_outbox_full (server_t *self, int *room_p)
{
    int room = self->config->max_backlog - self->backlog;
    if (room_p)
        *room_p = room > 0? room: 0;
    return room <= 0;
}

//  The room left in the outbox, up to one batch, shared among the mfa
//  instances: together they may send this many jobs before our next
//  mail.ready, and each becomes a row. Not the idle delivery
//  workers: the outbox is the queue that lets a burst of challenges be
//  answered as soon as their jobs are stored, however fast SMTP goes, and
//  max_backlog is what bounds it (a relay that is down fills it, then credit is 0).
static int
s_credit (server_t *self)
{
    int room = 0;
    if (s_outbox_full (self, &room))
        return 0;
    if (room > ACCEPT_BATCH_MAX)
        room = ACCEPT_BATCH_MAX;
    //  Rounded up: with room for one job, each instance may still send one
    return (room + self->nlinks - 1) / self->nlinks;
}

static void
s_send_ready (server_t *self)
{
    int credit = s_credit (self);
    for (int i = 0; i < self->nlinks; i++) {
        pst_msg_t *ready = pst_msg_new_request ("mail.ready", READY_TTL_MS);
        if (ready) {
            //  credit counts from received: mfa may have sent jobs we have not
            //  read yet, and takes them off (docs/protocol.md, mail.ready)
            json_t *body = pst_msg_body (ready);
            json_object_set_new (body, "credit", json_integer (credit));
            json_object_set_new (body, "received", json_integer (self->links [i].received));
            json_object_set_new (body, "epoch", json_string (self->epoch));
            pst_bus_send (self->links [i].sock, NULL, ready);
        }
        pst_msg_destroy (&ready);
        self->links [i].told_received = self->links [i].received;
        self->links [i].told_credit = credit;
    }
    self->ready_at = zclock_mono ();
    self->next_ready = self->ready_at + HEARTBEAT_MS;
}

bool
mailer_ready_is_news (int credit, int told_credit, int64_t received, int64_t told_received,
                      int64_t since_last_ms, int gap_ms)
{
    return since_last_ms >= gap_ms
        || credit != told_credit
        || (told_credit > 0 && (received - told_received) * 2 >= told_credit);
}

//  After a round that stored or ended jobs: is a mail.ready worth its message
//  to any instance? Under a steady load the credit is a full batch round after
//  round, so this is one message per READY_GAP_MS (or per half batch of jobs,
//  when that comes first) instead of one per round: there were more rounds
//  than jobs, and each mail.ready woke mfa's dispatcher.
static bool
s_ready_worth_sending (server_t *self)
{
    int credit = s_credit (self);
    int64_t since_last_ms = zclock_mono () - self->ready_at;
    for (int i = 0; i < self->nlinks; i++) {
        const link_t *link = &self->links [i];
        if (mailer_ready_is_news (credit, link->told_credit, link->received,
                                  link->told_received, since_last_ms, READY_GAP_MS))
            return true;
    }
    return false;
}

//  Fire and forget: mfa records the outcome (an `fn` audit event on failure).
//  cancelled marks a job dropped because mfa said its code was dead: not a failure.
//  Any mfa instance records it (they share the database), so results take
//  turns over the links, and go to the next when one cannot take it.
static void
s_send_result (server_t *self, const mailer_delivery_result_t *result)
{
    pst_msg_t *msg = pst_msg_new_request ("mail.result", RESULT_TTL_MS);
    if (msg) {
        json_t *body = pst_msg_body (msg);
        json_object_set_new (body, "job_id", json_string (result->job_id));
        json_object_set_new (body, "result", json_string (mailer_state_name (result->state)));
        json_object_set_new (body, "detail", json_string (result->detail));
        if (result->cancelled)
            json_object_set_new (body, "cancelled", json_true ());
        int sent = -1;
        for (int tries = 0; tries < self->nlinks && sent != 0; tries++)
            sent = pst_bus_send (self->links [self->next_result++ % self->nlinks].sock,
                                 NULL, msg);
        if (sent != 0)
            pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", result->job_id, NULL);
    }
    pst_msg_destroy (&msg);
}

static void
s_reply (link_t *link, pst_msg_t **reply_p)
{
    if (pst_bus_send (link->sock, NULL, *reply_p) != 0)
        pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", "mailer",
                 "op", pst_msg_op (*reply_p), NULL);
    pst_msg_destroy (reply_p);
}

//  mail.send: a valid job joins the batch that s_accept stores once the socket
//  has no more; an invalid one is refused at once.
static void
s_handle_send (server_t *self, link_t *link, const pst_msg_t *request)
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
        s_reply (link, &reply);
        return;
    }
    pst_msg_destroy (&reply);
    accept_t *entry = &self->batch [self->batched++];
    entry->request = pst_msg_new_reply (request);
    entry->job = job;
    entry->link = link;
    if (!entry->request) {
        mailer_job_destroy (&entry->job);
        self->batched--;
    }
}

//  Stores the batch in one commit (one fsync for all of it), then answers each
//  job: st 0 only now that it is committed (S20). Jobs past the room left in
//  the outbox are refused: mfa relays that to the worker, which voids the
//  challenge with a 503.
static void
s_accept (server_t *self)
{
    if (self->batched == 0)
        return;
    int room = 0;
    s_outbox_full (self, &room);
    const mailer_job_t *jobs [ACCEPT_BATCH_MAX];
    int64_t deadlines [ACCEPT_BATCH_MAX];
    int results [ACCEPT_BATCH_MAX];
    int stored = 0;
    for (int i = 0; i < self->batched; i++) {
        accept_t *entry = &self->batch [i];
        if (i >= room) {
            pst_log (PST_LOG_WARN, "mail_refused_full", "job_id", entry->job->job_id, NULL);
            pst_msg_fail (entry->request, PST_ERR_UNAVAILABLE, "The mail queue is full");
            continue;
        }
        jobs [stored] = entry->job;
        //  The time the caller has left, counted on both clocks since the request
        //  came: mfa gives up on the monotonic one too, and a job it has given up
        //  on must not be stored even if the wall clock was stepped back meanwhile
        deadlines [stored++] = zclock_time () + pst_msg_remaining_ms (entry->request);
    }
    //  Stored as claimed: each stored job goes to the delivery workers in memory
    if (stored > 0)
        mailer_outbox_insert_batch (self->outbox, jobs, deadlines, stored, 1, results);
    for (int i = 0, next = 0; i < self->batched; i++) {
        accept_t *entry = &self->batch [i];
        int rc = i < room? results [next++]: -3;
        self->backlog += rc == 0;
        if (rc == 0 || rc == 1)
            pst_log (PST_LOG_INFO, rc == 0? "mail_accepted": "mail_duplicate",
                     "job_id", entry->job->job_id, "request_id", pst_msg_id (entry->request),
                     NULL);
        if (rc == -2)   //  the caller gave up before the commit: nothing stored, no reply
            pst_log (PST_LOG_INFO, "mail_dropped_late", "job_id", entry->job->job_id, NULL);
        else {
            if (rc == -1)
                pst_msg_fail (entry->request, PST_ERR_INTERNAL, "The mail could not be queued");
            s_reply (entry->link, &entry->request);
        }
        pst_msg_destroy (&entry->request);
        if (rc == 0)
            mailer_delivery_hand (self->delivery, &entry->job);
        mailer_job_destroy (&entry->job);
    }
    self->batched = 0;
    if (stored > 0) {
        mailer_delivery_wake (self->delivery);
        self->ready_due = true;
    }
}

//  Logs one job's end, as the worker saw it
static void
s_log_end (const mailer_delivery_result_t *result)
{
    char code_text [24], attempts [16];
    snprintf (code_text, sizeof code_text, "%ld", result->smtp_code);
    snprintf (attempts, sizeof attempts, "%d", result->attempts);
    const char *event = result->cancelled? "mail_cancelled"
                      : result->state == MAILER_STATE_SENT? "mail_sent"
                      : result->state == MAILER_STATE_FAILED? "mail_failed": "mail_expired";
    pst_log (result->state == MAILER_STATE_SENT || result->cancelled? PST_LOG_INFO: PST_LOG_WARN,
             event, "job_id", result->job_id, "smtp_code", code_text, "attempts", attempts,
             "detail", result->detail, NULL);
}

//  Takes every end the workers reported into self->unwritten (which also
//  reads their nudge, so the wait does not wake for them again). An end
//  that finds no room is logged and dropped: its row stays 'sending' and goes
//  out again after a restart. Returns how many were read.
static int
s_read_ends (server_t *self)
{
    int read = 0;
    mailer_delivery_result_t result;
    while (mailer_delivery_next (self->delivery, &result)) {
        read++;
        if (self->nunwritten == self->unwritten_room) {
            size_t room = self->unwritten_room? self->unwritten_room * 2: ACCEPT_BATCH_MAX;
            void *grown = realloc (self->unwritten, room * sizeof result);
            if (!grown) {
                pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", result.job_id,
                         "reason", "out of memory", NULL);
                continue;
            }
            self->unwritten = (mailer_delivery_result_t *) grown;
            self->unwritten_room = room;
        }
        self->unwritten [self->nunwritten++] = result;
    }
    return read;
}

//  Writes count ends, one transaction, then tells mfa of each written and
//  counts the room it frees. An end whose row is not 'sending' any more is
//  not told. -1 when the transaction failed: nothing was written.
static int
s_write_ends (server_t *self, const mailer_delivery_result_t *results, int count)
{
    mailer_outbox_end_t ends [ACCEPT_BATCH_MAX];
    int written [ACCEPT_BATCH_MAX];
    for (int i = 0; i < count; i++)
        ends [i] = (mailer_outbox_end_t) { results [i].job_id, results [i].state,
                                           results [i].smtp_code, results [i].detail };
    if (mailer_outbox_finish_batch (self->outbox, ends, count, written) != 0)
        return -1;
    int told = 0;
    for (int i = 0; i < count; i++) {
        if (written [i] != 0)
            continue;
        told++;
        s_log_end (&results [i]);
        //  A job ended: mfa hears the outcome, and that there is room again
        if (self->backlog > 0)
            self->backlog--;
        s_send_result (self, &results [i]);
    }
    if (told > 0) {
        mailer_delivery_written (self->delivery, told);
        self->ready_due = true;
    }
    return 0;
}

//  The ends the workers reported: written a batch per transaction, then told
//  to mfa. When a write fails (the outbox busy past its timeout, a disk
//  error) the ends wait and are tried again WRITE_AGAIN_MS later, or at once
//  when now (the stop). Returns how many ends were read.
static int
s_end_jobs (server_t *self, bool now)
{
    int read = s_read_ends (self);
    if (self->nunwritten == 0 || (!now && zclock_mono () < self->write_again_at))
        return read;
    size_t done = 0;
    while (done < self->nunwritten) {
        size_t left = self->nunwritten - done;
        int count = left < ACCEPT_BATCH_MAX? (int) left: ACCEPT_BATCH_MAX;
        if (s_write_ends (self, self->unwritten + done, count) != 0) {
            char waiting [24];
            snprintf (waiting, sizeof waiting, "%zu", left);
            pst_log (PST_LOG_ERROR, "mail_results_unwritten", "count", waiting, NULL);
            self->write_again_at = zclock_mono () + WRITE_AGAIN_MS;
            break;
        }
        done += (size_t) count;
    }
    memmove (self->unwritten, self->unwritten + done,
             (self->nunwritten - done) * sizeof *self->unwritten);
    self->nunwritten -= done;
    return read;
}

//  Operations mfa may send us: the mailer's rows of the operation catalogue
//  (pst_ops.def), each with its handler. mail.send requires nothing there:
//  mailer_job_from_body checks every field of a job and names the first bad one
//  ("Invalid or missing ...").
typedef struct {
    const char *op;
    void (*handler) (server_t *self, link_t *link, const pst_msg_t *request);
} op_t;

#define PST_OP(service, name, handler, ...) PST_WHEN (MAILER, service, { name, handler },)
static const op_t s_ops [] = {
#include "pst_ops.def"
    { NULL, NULL }
};

static void
s_handle_one (server_t *self, link_t *link, pst_msg_t *msg)
{
    if (streq (pst_msg_op (msg), "mail.send"))
        link->received++;
    const op_t *op = s_ops;
    while (op->op && !streq (op->op, pst_msg_op (msg)))
        op++;
    const pst_op_def_t *def = op->op? pst_catalogue_find (NULL, PST_SERVICE_MAILER, op->op): NULL;
    pst_msg_t *reply = def? pst_msg_new_reply (msg): NULL;
    if (!op->op)
        pst_log (PST_LOG_WARN, "bus_unknown_op", "service", "mailer", "op", pst_msg_op (msg), NULL);
    else
    if (pst_msg_remaining_ms (msg) <= 0)
        pst_log (PST_LOG_INFO, "bus_request_expired", "service", "mailer",
                 "op", pst_msg_op (msg), "request_id", pst_msg_id (msg), NULL);
    else
    if (reply && pst_catalogue_check (def, msg, reply) != 0)
        s_reply (link, &reply);
    else
    if (reply)
        op->handler (self, link, msg);
    pst_msg_destroy (&reply);
}

//  Reads every socket until it is empty: the links' jobs join the batch, stored
//  together (under load many challenges share one commit) whenever it is full
//  and at the end; the workers' results go to mfa. True when anything was read.
static bool
s_read_round (server_t *self)
{
    bool moved = false;
    for (int i = 0; i < self->nlinks; i++) {
        link_t *link = &self->links [i];
        pst_msg_t *msg = NULL;
        while (pst_bus_recv_dealer_nowait (link->sock, &msg)) {
            moved = true;
            if (msg)        //  NULL: malformed, pst_bus logged it
                s_handle_one (self, link, msg);
            pst_msg_destroy (&msg);
            if (self->batched == ACCEPT_BATCH_MAX)
                s_accept (self);
        }
    }
    s_accept (self);
    if (s_end_jobs (self, false) > 0)
        moved = true;
    return moved;
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

//  One DEALER per mfa instance of the list: each instance sends jobs and
//  counts credit for the mailers it hears from, so each must hear from us
static int
s_connect_links (server_t *self)
{
    char *list = strdup (self->config->jobs_endpoint);
    int several = strchr (self->config->jobs_endpoint, ',') != NULL;
    char *saved = NULL;
    int rc = list? 0: -1;
    for (char *endpoint = list? strtok_r (list, ", ", &saved): NULL; endpoint && rc == 0;
         endpoint = strtok_r (NULL, ", ", &saved)) {
        if (self->nlinks == MFA_LINKS_MAX) {
            pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_MFA_JOBS_ENDPOINT",
                     "reason", "more mfa instances than a mailer serves (16)", NULL);
            rc = -1;
            break;
        }
        zsock_t *sock = zsock_new (ZMQ_DEALER);
        if (!sock) {
            rc = -1;
            break;
        }
        self->links [self->nlinks++].sock = sock;
        pst_bus_tune (sock);
        //  One mfa: without ZMQ_IMMEDIATE its results queue while it restarts
        //  and flush on reconnect. Several: a result goes to one that is
        //  connected (a send to one that is not fails at once, and the next is
        //  tried), not into the queue of an instance that may never come back.
        if (several)
            zsock_set_immediate (sock, 1);
        if (pst_curve_client (self->curve, sock, "mfa") != 0)
            rc = -1;
        else
        if (zsock_connect (sock, "%s", endpoint) != 0) {
            pst_log (PST_LOG_ERROR, "bus_connect_failed", "endpoint", endpoint, NULL);
            rc = -1;
        }
    }
    free (list);
    return rc == 0 && self->nlinks > 0? 0: -1;
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
    self->curve = pst_curve_new (config->keys_dir, config->key_name, true);
    if (!self->curve || !config->jobs_endpoint || s_connect_links (self) != 0)
        return -1;
    self->delivery = mailer_delivery_new (config, self->curve);
    return self->delivery? 0: -1;
}

//  Each socket is read until it is empty, again while a round read anything,
//  then the thread waits on them all (pst_actor_wait). A round that stored or
//  ended jobs is followed by one mail.ready, however many it saw, when that is
//  news (s_ready_worth_sending); news held back goes out READY_GAP_MS after the
//  last mail.ready, by the wait's timeout.
static void
s_serve (server_t *self, zsock_t *pipe)
{
    //  At most 16 links; the workers' ends wake it through one descriptor
    zsock_t *sockets [PST_ACTOR_WAIT_MAX];
    size_t count = 0;
    for (int i = 0; i < self->nlinks; i++)
        sockets [count++] = self->links [i].sock;
    int ends_fd = mailer_delivery_fd (self->delivery);
    s_count_backlog (self);
    s_send_ready (self);
    bool term = pst_actor_term_pending (pipe);
    int64_t next_term_look = zclock_mono () + TERM_LOOK_MS;
    while (!term) {
        //  Readiness is said between rounds, not once the sockets run dry: under
        //  a steady load they may not, and mfa would wait for credit meanwhile
        bool moved = s_read_round (self);
        if (zclock_mono () >= self->next_count)
            s_count_backlog (self);
        if ((self->ready_due && s_ready_worth_sending (self))
        ||  zclock_mono () >= self->next_ready) {
            s_send_ready (self);
            self->ready_due = false;
            moved = true;       //  a send may take a link's commands: read again
        }
        if (moved) {
            //  The wait below looks at the pipe; under a steady load it may
            //  not come for a while, so the pipe is looked at now and then
            if (zclock_mono () >= next_term_look) {
                term = pst_actor_term_pending (pipe);
                next_term_look = zclock_mono () + TERM_LOOK_MS;
            }
            continue;
        }
        //  News held back by READY_GAP_MS goes out when the gap has passed
        int64_t wake_at = self->next_ready;
        if (self->ready_due && self->ready_at + READY_GAP_MS < wake_at)
            wake_at = self->ready_at + READY_GAP_MS;
        if (self->nunwritten > 0 && self->write_again_at < wake_at)
            wake_at = self->write_again_at;
        int64_t wait = wake_at - zclock_mono ();
        int woke = pst_actor_wait (pipe, sockets, count, ends_fd, wait > 0? (int) wait: 0, NULL);
        if (woke < 0) {
            pst_log (PST_LOG_ERROR, "service_poll_failed", "service", "mailer", NULL);
            break;
        }
        term = (woke & PST_ACTOR_WOKE_TERM) != 0;
    }
}

void
mailer_server_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("mailer-bus");
    server_t self = { .config = (const mailer_config_t *) args };
    pst_random_hex (self.epoch, sizeof self.epoch, 8);
    int curl_ok = curl_global_init (CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (curl_ok && s_start (&self) == 0) {
        pst_actor_ready (pipe, "s", self.config->jobs_endpoint);
        pst_log (PST_LOG_INFO, "service_started", "service", "mailer",
                 "endpoint", self.config->jobs_endpoint, NULL);
        s_serve (&self, pipe);
        //  The ends of the deliveries that finished before the workers stopped
        //  are written, so a stop sends nothing twice. mfa may not hear of
        //  them: the links are closed at once (linger 0), and its job rows
        //  stay 'accepted', as for a result lost on the way
        mailer_delivery_stop (self.delivery);
        s_end_jobs (&self, true);
        for (size_t i = 0; i < self.nunwritten; i++)
            pst_log (PST_LOG_WARN, "mail_result_dropped", "job_id", self.unwritten [i].job_id,
                     "reason", "not written before the stop", NULL);
    }
    else {
        pst_log (PST_LOG_ERROR, "service_start_failed", "service", "mailer", NULL);
        pst_actor_failed (pipe, "mailer could not start");
    }
    mailer_delivery_destroy (&self.delivery);
    for (int i = 0; i < self.nlinks; i++)
        zsock_destroy (&self.links [i].sock);
    pst_curve_destroy (&self.curve);
    mailer_outbox_destroy (&self.outbox);
    free (self.unwritten);
    if (curl_ok)
        curl_global_cleanup ();
}
