#include "mfa_jobs.h"
#include "mfa_jobs_ops.h"
#include "mfa_store.h"
#include "mfa_writer.h"
#include "pst_actor.h"
#include "pst_auth.h"
#include "pst_endpoint.h"
#include "pst_bus.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <czmq.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct _mfa_jobs_t {
    zactor_t *actor;
    char *endpoint;
    char *inproc;
};

typedef struct {
    zframe_t *identity;
    char *key;                  //  identity in hex, the mailers table key
    int credit;
    char epoch [17];            //  the mailer's run its mail.ready named last
    long long sent;             //  jobs sent to it in that run, counted as it counts them
    int64_t last_seen;          //  zclock_mono ms
} s_mailer_t;

typedef struct {
    zframe_t *worker;           //  routing id of the waiting worker
    zframe_t *payload;          //  the encoded mail.send request, as the worker sent it
    char id [PST_MSG_ID_LEN + 1];
    int64_t expires_at;         //  monotonic ms, when the request's deadline passes
    char job_id [65];
} s_job_t;

typedef struct {
    const mfa_config_t *config;
    pst_curve_t *curve;         //  mfa's bus identity (borrowed)
    pst_endpoint_t *claim;      //  the jobs endpoint, while this instance holds it
    bool authenticating;        //  holds the process's pst_auth
    zsock_t *pipe;
    zsock_t *jobs;              //  ROUTER, mailers
    zsock_t *inproc;            //  ROUTER, workers
    mfa_store_t *store;         //  for mail.check's and mail.provider's reads
    uint8_t code_key [32];      //  opens the provider's password (mail.provider)
    mfa_writer_t *writer;       //  for mail.result's writes (borrowed)
    zlistx_t *mailers;          //  s_mailer_t, least recently used first
    zlistx_t *queue;            //  s_job_t waiting for a mailer with credit
    zhashx_t *inflight;         //  request id -> s_job_t sent to a mailer
    //  The socket may hold a message, or its descriptor be unarmed: it fired,
    //  or was sent on, since a read last found it empty (pst_actor_wait's rule)
    bool jobs_unsettled;
    bool inproc_unsettled;
} s_dispatcher_t;

//  Frames of a job carry the code: wipe them before they go back to the heap.
static void
s_frame_wipe_destroy (zframe_t **frame_p)
{
    if (*frame_p) {
        memset (zframe_data (*frame_p), 0, zframe_size (*frame_p));
        zframe_destroy (frame_p);
    }
}

static void
s_job_destroy (s_job_t **job_p)
{
    if (*job_p) {
        s_job_t *job = *job_p;
        zframe_destroy (&job->worker);
        s_frame_wipe_destroy (&job->payload);
        free (job);
        *job_p = NULL;
    }
}

static void
s_job_free (void **item)
{
    s_job_destroy ((s_job_t **) item);
}

static void
s_mailer_free (void **item)
{
    s_mailer_t *mailer = (s_mailer_t *) *item;
    if (mailer) {
        zframe_destroy (&mailer->identity);
        free (mailer->key);
        free (mailer);
        *item = NULL;
    }
}

//  The envelope of [routing id][envelope] read from a ROUTER (msg, taken);
//  NULL when the shape or the envelope is wrong (logged and dropped: S18), or
//  when role is not 0 and the sender's key is not of that role (a peer that is
//  no mailer gets nothing).
static pst_msg_t *
s_decode_routed (zmsg_t *msg, unsigned role, zframe_t **identity_p, zframe_t **payload_p)
{
    pst_msg_t *decoded = NULL;
    if (role && zmsg_size (msg) == 2 && !(pst_bus_sender_role (zmsg_last (msg)) & role)) {
        pst_log (PST_LOG_WARN, "bus_sender_refused", "service", "mfa-jobs", "caller",
                 pst_curve_role_name (pst_bus_sender_role (zmsg_last (msg))), NULL);
        zmsg_destroy (&msg);
        return NULL;
    }
    if (zmsg_size (msg) == 2) {
        zframe_t *identity = zmsg_pop (msg);
        zframe_t *payload = zmsg_pop (msg);
        if (pst_msg_decode (zframe_data (payload), zframe_size (payload), &decoded) == 0) {
            *identity_p = identity;
            *payload_p = payload;
        }
        else {
            zframe_destroy (&identity);
            s_frame_wipe_destroy (&payload);
        }
    }
    if (!decoded)
        pst_log (PST_LOG_WARN, "bus_malformed", "socket", "mail_jobs", NULL);
    zmsg_destroy (&msg);
    return decoded;
}

//  Sends [identity][payload] without giving up either frame.
static int
s_send_routed (zsock_t *router, zframe_t *identity, zframe_t *payload)
{
    zmsg_t *msg = zmsg_new ();
    zframe_t *route = zframe_dup (identity);
    zframe_t *body = zframe_dup (payload);
    zmsg_append (msg, &route);
    zmsg_append (msg, &body);
    int rc = zmsg_send (&msg, router);
    if (rc) {
        //  zmsg_send leaves the message with us on failure
        zframe_t *frame = zmsg_last (msg);
        if (frame)
            memset (zframe_data (frame), 0, zframe_size (frame));
        zmsg_destroy (&msg);
    }
    return rc;
}

static s_mailer_t *
s_mailer_find (s_dispatcher_t *self, const char *key)
{
    for (s_mailer_t *mailer = (s_mailer_t *) zlistx_first (self->mailers); mailer;
         mailer = (s_mailer_t *) zlistx_next (self->mailers))
        if (streq (mailer->key, key))
            return mailer;
    return NULL;
}

static s_mailer_t *
s_mailer_require (s_dispatcher_t *self, zframe_t *identity)
{
    char *key = zframe_strhex (identity);
    s_mailer_t *mailer = s_mailer_find (self, key);
    if (mailer) {
        free (key);
        return mailer;
    }
    mailer = (s_mailer_t *) zmalloc (sizeof *mailer);
    mailer->identity = zframe_dup (identity);
    mailer->key = key;
    zlistx_add_end (self->mailers, mailer);
    pst_log (PST_LOG_INFO, "mailer_joined", "mailer", key, NULL);
    return mailer;
}

static void
s_mailer_forget (s_dispatcher_t *self, s_mailer_t *mailer, const char *reason)
{
    pst_log (PST_LOG_WARN, "mailer_lost", "mailer", mailer->key, "reason", reason, NULL);
    void *handle = zlistx_find (self->mailers, mailer);
    if (handle)
        zlistx_delete (self->mailers, handle);
}

//  ---------------------------------------------------------------------------
//  The operations of the mail-jobs socket. A note (mail.ready, mail.result, a
//  mailer's answer to mail.send) comes from a mailer's job socket and counts as
//  its heartbeat; a request (mail.check) comes from a delivery worker's socket of
//  its own and is answered.

typedef struct {
    const pst_msg_t *msg;
    zframe_t *payload;          //  the message as it came, for relaying
    s_mailer_t *mailer;         //  a note's sender
    pst_msg_t *reply;           //  a request's answer, sent after the handler
} s_call_t;

//  mail.result: the mailer's final word on a job (mfa_jobs_ops)
static void
s_record_result (s_dispatcher_t *self, s_call_t *call)
{
    mfa_jobs_ops_record_result (call->msg, self->config, self->writer);
}

//  mail.ready: how many jobs the mailer can take now. Its credit counts from
//  the jobs it had read when it wrote it (received); those sent since, still
//  on their way, are taken off, so a burst never outruns the outbox's room
//  however many mail.ready cross it. A mailer's new run (another epoch)
//  starts the count again from what it says it received.
static void
s_set_credit (s_dispatcher_t *self, s_call_t *call)
{
    (void) self;
    s_mailer_t *mailer = call->mailer;
    long long credit = pst_msg_get_int (call->msg, "credit", 0);
    long long received = pst_msg_get_int (call->msg, "received", -1);
    const char *epoch = pst_msg_get_str (call->msg, "epoch");
    if (epoch && strlen (epoch) < sizeof mailer->epoch && received >= 0) {
        if (strcmp (epoch, mailer->epoch) != 0) {
            snprintf (mailer->epoch, sizeof mailer->epoch, "%s", epoch);
            mailer->sent = received;
        }
        credit -= mailer->sent - received;
    }
    mailer->credit = credit < 0? 0: credit > 1000? 1000: (int) credit;
}

//  mail.send, from a mailer: its answer to a job, back to the worker that
//  waits for it.
static void
s_relay_answer (s_dispatcher_t *self, s_call_t *call)
{
    const char *id = pst_msg_id (call->msg);
    s_job_t *job = (s_job_t *) zhashx_lookup (self->inflight, id);
    if (job) {
        self->inproc_unsettled = true;
        s_send_routed (self->inproc, job->worker, call->payload);
        pst_log (PST_LOG_DEBUG, "mail_job_answered", "job_id", job->job_id,
                 "mailer", call->mailer->key,
                 "status", pst_msg_is_error (call->msg)? "error": "ok", NULL);
        zhashx_delete (self->inflight, id);
    }
}

//  mail.check: may the mailer still send this job (mfa_jobs_ops)
static void
s_answer_check (s_dispatcher_t *self, s_call_t *call)
{
    mfa_jobs_ops_check (call->msg, call->reply, self->store, self->config);
}

//  mail.provider: the stored email provider, password opened (mfa_jobs_ops)
static void
s_answer_provider (s_dispatcher_t *self, s_call_t *call)
{
    mfa_jobs_ops_provider (call->reply, self->store, self->code_key);
}

typedef void (s_job_op_fn) (s_dispatcher_t *self, s_call_t *call);

//  The socket's rows of the operation catalogue (pst_ops.def: mailer -> mfa),
//  each with its handler; the row says what it requires and whether it is a
//  note (no answer) or a request
typedef struct {
    const pst_op_def_t *def;
    s_job_op_fn *handler;
} s_job_op_t;

typedef struct {
    const char *name;
    s_job_op_fn *handler;
} s_job_handler_t;

#define PST_OP(service, name, handler, ...) PST_WHEN (MFA_JOBS, service, { name, handler },)
static const s_job_handler_t s_job_handlers [] = {
#include "pst_ops.def"
    { NULL, NULL }
};

//  The op and its handler; 0, or -1 for an op the socket does not take
static int
s_job_op_find (const char *name, s_job_op_t *op)
{
    op->def = pst_catalogue_find (NULL, PST_SERVICE_MFA_JOBS, name);
    op->handler = NULL;
    for (const s_job_handler_t *entry = s_job_handlers; op->def && entry->name; entry++)
        if (streq (entry->name, name))
            op->handler = entry->handler;
    return op->handler? 0: -1;
}

//  A request, validated centrally as on the request sockets: one past its
//  deadline is dropped (the mailer has given up and decided without us), one
//  missing a parameter is refused; otherwise the handler fills the reply.
static void
s_answer (s_dispatcher_t *self, const s_job_op_t *op, zframe_t *identity, s_call_t *call)
{
    if (pst_msg_remaining_ms (call->msg) <= 0)
        return;
    call->reply = pst_msg_new_reply (call->msg);
    if (!call->reply)
        return;
    if (pst_catalogue_check (op->def, call->msg, call->reply) == 0)
        op->handler (self, call);
    self->jobs_unsettled = true;
    if (pst_bus_send (self->jobs, identity, call->reply) != 0)
        pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", "mfa", "op", op->def->name, NULL);
    pst_msg_destroy (&call->reply);
}

//  False when no message was waiting
static bool
s_from_mailer (s_dispatcher_t *self)
{
    zmsg_t *received = zmsg_recv (self->jobs);
    if (!received)
        return false;
    zframe_t *identity = NULL, *payload = NULL;
    pst_msg_t *msg = s_decode_routed (received, PST_CALLER_MAILER, &identity, &payload);
    if (!msg)
        return true;
    s_job_op_t op;
    int known = s_job_op_find (pst_msg_op (msg), &op) == 0;
    s_call_t call = { .msg = msg, .payload = payload };
    if (known && !(op.def->flags & PST_OP_NOTE))
        //  A delivery worker's socket never takes jobs: registering it would
        //  only add a mailer with no credit, to be forgotten 3 s later
        s_answer (self, &op, identity, &call);
    else {
        //  Anything else comes from a mailer's job socket, which this keeps alive
        call.mailer = s_mailer_require (self, identity);
        call.mailer->last_seen = zclock_mono ();
        //  A note is checked as a request is, but nobody hears the refusal
        pst_msg_t *refusal = known? pst_msg_new_reply (msg): NULL;
        if (!known)
            pst_log (PST_LOG_WARN, "mail_op_unknown", "op", pst_msg_op (msg), NULL);
        else
        if (refusal && pst_catalogue_check (op.def, msg, refusal) != 0)
            pst_log (PST_LOG_WARN, "bus_malformed", "socket", "mail_jobs", "op", op.def->name,
                     "detail", pst_msg_error_text (refusal), NULL);
        else
        if (refusal)
            op.handler (self, &call);
        pst_msg_destroy (&refusal);
    }
    pst_msg_destroy (&msg);
    zframe_destroy (&identity);
    s_frame_wipe_destroy (&payload);
    return true;
}

//  False when no message was waiting
static bool
s_from_worker (s_dispatcher_t *self)
{
    zmsg_t *received = zmsg_recv (self->inproc);
    if (!received)
        return false;
    zframe_t *identity = NULL, *payload = NULL;
    pst_msg_t *msg = s_decode_routed (received, 0, &identity, &payload);
    if (!msg)
        return true;
    if (!streq (pst_msg_op (msg), "mail.send")) {
        pst_log (PST_LOG_WARN, "mail_op_unknown", "op", pst_msg_op (msg), NULL);
        zframe_destroy (&identity);
        s_frame_wipe_destroy (&payload);
    }
    else {
        s_job_t *job = (s_job_t *) zmalloc (sizeof *job);
        job->worker = identity;
        job->payload = payload;
        job->expires_at = zclock_mono () + pst_msg_remaining_ms (msg);
        snprintf (job->id, sizeof job->id, "%s", pst_msg_id (msg));
        const char *job_id = pst_msg_get_str (msg, "job_id");
        snprintf (job->job_id, sizeof job->job_id, "%s", job_id? job_id: "");
        zlistx_add_end (self->queue, job);
    }
    pst_msg_destroy (&msg);
    return true;
}

//  First mailer with credit, least recently used first.
static s_mailer_t *
s_mailer_ready (s_dispatcher_t *self)
{
    for (s_mailer_t *mailer = (s_mailer_t *) zlistx_first (self->mailers); mailer;
         mailer = (s_mailer_t *) zlistx_next (self->mailers))
        if (mailer->credit > 0)
            return mailer;
    return NULL;
}

static void
s_dispatch (s_dispatcher_t *self)
{
    s_job_t *job;
    while ((job = (s_job_t *) zlistx_first (self->queue))) {
        s_mailer_t *mailer = s_mailer_ready (self);
        if (!mailer)
            break;
        self->jobs_unsettled = true;
        if (s_send_routed (self->jobs, mailer->identity, job->payload)) {
            //  ROUTER_MANDATORY: the mailer is gone; the job stays queued
            s_mailer_forget (self, mailer, "unreachable");
            continue;
        }
        mailer->credit--;
        mailer->sent++;
        zlistx_move_end (self->mailers, zlistx_find (self->mailers, mailer));
        zlistx_detach (self->queue, NULL);
        pst_log (PST_LOG_DEBUG, "mail_job_dispatched", "job_id", job->job_id,
                 "mailer", mailer->key, NULL);
        //  A duplicate id (a retried call) replaces the older entry
        zhashx_update (self->inflight, job->id, job);
    }
}

static void
s_expire (s_dispatcher_t *self)
{
    int64_t now = zclock_mono ();
    //  zlistx_delete moves the cursor back, so deleting while iterating is safe
    for (s_job_t *job = (s_job_t *) zlistx_first (self->queue); job;
         job = (s_job_t *) zlistx_next (self->queue))
        if (job->expires_at <= now) {
            pst_log (PST_LOG_WARN, "mail_job_dropped", "job_id", job->job_id,
                     "reason", "no mailer before the deadline", NULL);
            zlistx_delete (self->queue, zlistx_cursor (self->queue));
        }

    zlistx_t *late = zlistx_new ();
    for (s_job_t *job = (s_job_t *) zhashx_first (self->inflight); job;
         job = (s_job_t *) zhashx_next (self->inflight))
        if (job->expires_at <= now)
            zlistx_add_end (late, job->id);
    for (char *id = (char *) zlistx_first (late); id; id = (char *) zlistx_next (late)) {
        pst_log (PST_LOG_WARN, "mail_job_unanswered", "request_id", id, NULL);
        zhashx_delete (self->inflight, id);
    }
    zlistx_destroy (&late);

    for (s_mailer_t *mailer = (s_mailer_t *) zlistx_first (self->mailers); mailer;
         mailer = (s_mailer_t *) zlistx_next (self->mailers))
        if (now - mailer->last_seen > MFA_JOBS_MAILER_TIMEOUT_MS) {
            pst_log (PST_LOG_WARN, "mailer_lost", "mailer", mailer->key, "reason", "silent", NULL);
            zlistx_delete (self->mailers, zlistx_cursor (self->mailers));
        }
}

static void
s_dispatcher_destroy (s_dispatcher_t *self)
{
    zlistx_destroy (&self->queue);
    zhashx_destroy (&self->inflight);
    zlistx_destroy (&self->mailers);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->inproc);
    //  After the socket: a CURVE server must not outlive its handler
    pst_endpoint_release (&self->claim);
    if (self->authenticating)
        pst_auth_release ();
    mfa_store_destroy (&self->store);
}

//  What the dispatcher starts from
typedef struct {
    const mfa_config_t *config;
    pst_curve_t *curve;
    mfa_writer_t *writer;
    const uint8_t *code_key;
} s_args_t;

//  Binds both routers; 0, or -1 with a log line.
static int
s_dispatcher_init (s_dispatcher_t *self, const s_args_t *args, char **endpoint_p,
                   char **inproc_p)
{
    const mfa_config_t *config = args->config;
    self->config = config;
    self->curve = args->curve;
    self->writer = args->writer;
    memcpy (self->code_key, args->code_key, sizeof self->code_key);
    self->mailers = zlistx_new ();
    zlistx_set_destructor (self->mailers, s_mailer_free);
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, s_job_free);
    self->inflight = zhashx_new ();
    zhashx_set_destructor (self->inflight, s_job_free);
    self->store = mfa_store_new (config->db_path);
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->inproc = zsock_new (ZMQ_ROUTER);
    if (!self->store || !self->jobs || !self->inproc)
        return -1;
    pst_bus_tune (self->jobs);
    pst_bus_tune (self->inproc);
    //  A job for a mailer that is gone, or too far behind, fails at once instead of
    //  vanishing or blocking the dispatcher: it stays queued for another mailer
    zsock_set_router_mandatory (self->jobs, 1);
    zsock_set_sndtimeo (self->jobs, 0);
    //  Only mailers' keys may connect and ask for codes to mail (S27)
    self->authenticating = pst_auth_acquire (pst_curve_dir (self->curve)) == 0;
    if (!self->authenticating || !(self->claim = pst_endpoint_claim (config->jobs_endpoint))
    ||  pst_curve_server (self->curve, self->jobs) != 0)
        return -1;
    if (zsock_bind (self->jobs, "%s", config->jobs_endpoint) < 0) {
        pst_log (PST_LOG_ERROR, "bind_failed", "endpoint", config->jobs_endpoint, NULL);
        return -1;
    }
    if (zsock_bind (self->inproc, "inproc://mfa-jobs-%p", (void *) self) < 0)
        return -1;
    *endpoint_p = zsock_last_endpoint (self->jobs);
    *inproc_p = zsock_last_endpoint (self->inproc);
    return *endpoint_p && *inproc_p? 0: -1;
}

static void
s_dispatcher_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("mfa-jobs");
    s_dispatcher_t self = { 0 };
    char *endpoint = NULL, *inproc = NULL;
    int rc = s_dispatcher_init (&self, (const s_args_t *) args, &endpoint, &inproc);
    if (rc == 0)
        pst_actor_ready (pipe, "ss", endpoint, inproc);
    else
        pst_actor_failed (pipe, "mail jobs sockets could not start");
    free (endpoint);
    free (inproc);
    //  A socket that fired or was sent on is read until empty, again while a
    //  round moved anything or sent, then the thread waits on them
    //  (pst_actor_wait); at least every 100 ms, for the jobs that expire
    bool term = rc != 0 || pst_actor_term_pending (pipe);
    zsock_t *sockets [2] = { self.jobs, self.inproc };
    if (rc == 0) {
        zsock_set_rcvtimeo (self.jobs, 0);
        zsock_set_rcvtimeo (self.inproc, 0);
    }
    self.jobs_unsettled = self.inproc_unsettled = true;
    while (!term) {
        bool moved;
        do {
            moved = false;
            if (self.jobs_unsettled) {
                while (s_from_mailer (&self))
                    moved = true;
                self.jobs_unsettled = false;    //  what it sent came before the empty read
            }
            if (self.inproc_unsettled) {
                while (s_from_worker (&self))
                    moved = true;
                self.inproc_unsettled = false;
            }
            s_expire (&self);
            s_dispatch (&self);
        } while (moved || self.jobs_unsettled || self.inproc_unsettled);
        bool fired [2];
        int woke = pst_actor_wait (pipe, sockets, 2, -1, 100, fired);
        if (woke < 0)
            break;
        term = (woke & PST_ACTOR_WOKE_TERM) != 0;
        self.jobs_unsettled = woke > 0 && fired [0];
        self.inproc_unsettled = woke > 0 && fired [1];
    }
    s_dispatcher_destroy (&self);
}

mfa_jobs_t *
mfa_jobs_new (const mfa_config_t *config, pst_curve_t *curve, mfa_writer_t *writer,
              const uint8_t code_key [32])
{
    mfa_jobs_t *self = (mfa_jobs_t *) zmalloc (sizeof *self);
    //  Read by the dispatcher while it starts, which pst_actor_new waits for
    s_args_t args = { config, curve, writer, code_key };
    self->actor = pst_actor_new (s_dispatcher_actor, &args, "ss",
                                 &self->endpoint, &self->inproc);
    if (!self->actor || !self->endpoint || !*self->endpoint || !self->inproc || !*self->inproc)
        mfa_jobs_destroy (&self);
    return self;
}

void
mfa_jobs_destroy (mfa_jobs_t **self_p)
{
    if (self_p && *self_p) {
        mfa_jobs_t *self = *self_p;
        zactor_destroy (&self->actor);
        zstr_free (&self->endpoint);
        zstr_free (&self->inproc);
        free (self);
        *self_p = NULL;
    }
}

const char *
mfa_jobs_endpoint (mfa_jobs_t *self)
{
    return self->endpoint;
}

const char *
mfa_jobs_inproc (mfa_jobs_t *self)
{
    return self->inproc;
}
