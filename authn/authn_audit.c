//  authn_audit: the audit log's queue and its writer thread.
#include "authn_audit.h"
#include "pst_actor.h"
#include "pst_clock.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_EVERY_MS  60000
#define PRUNE_BATCH     1000

struct _authn_audit_t {
    authn_store_t *store;           //  the writer's own connection
    int retention_days;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;            //  the writer: rows queued, or stop
    pthread_cond_t written;         //  flush waiters: a batch is done
    authn_audit_row_t *queue;       //  copies, written in order
    size_t queued;
    size_t capacity;
    uint64_t recorded;              //  rows queued since the start
    uint64_t done;                  //  ... of which written (or given up)
    uint64_t dropped;
    int stop;
};

static char *
s_copy (const char *text)
{
    return text? strdup (text): NULL;
}

static void
s_row_free (authn_audit_row_t *row)
{
    free ((char *) row->type);
    free ((char *) row->user_id);
    free ((char *) row->user_name);
    free ((char *) row->client_id);
    free ((char *) row->ip);
    free ((char *) row->result);
    free ((char *) row->detail);
}

//  A batch in one transaction; rows that cannot be written are given up
//  (logged): an audit row never holds a sign-in back
static void
s_write (authn_audit_t *self, authn_audit_row_t *rows, size_t count)
{
    int rc = authn_store_begin (self->store);
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = authn_store_audit_insert (self->store, &rows [index]);
    if (rc == 0)
        rc = authn_store_commit (self->store);
    if (rc != 0) {
        authn_store_rollback (self->store);
        pst_log (PST_LOG_ERROR, "audit_write_failed", "rows", count == 1? "1": "several", NULL);
    }
}

static void
s_prune (authn_audit_t *self, int64_t now)
{
    if (self->retention_days <= 0)
        return;
    int64_t cutoff = now - (int64_t) self->retention_days * 86400 * 1000;
    if (authn_store_audit_prune (self->store, cutoff, PRUNE_BATCH) < 0)
        pst_log (PST_LOG_ERROR, "audit_prune_failed", NULL);
}

static void *
s_writer (void *args)
{
    pst_actor_name ("authn-audit");
    authn_audit_t *self = (authn_audit_t *) args;
    int64_t last_prune = 0;
    pthread_mutex_lock (&self->lock);
    while (1) {
        if (self->queued == 0 && !self->stop) {
            struct timespec until = pst_clock_mono_after (1000);
            pthread_cond_timedwait (&self->wake, &self->lock, &until);
        }
        authn_audit_row_t *rows = self->queue;
        size_t count = self->queued;
        uint64_t upto = self->recorded;
        uint64_t dropped = self->dropped;
        int stop = self->stop;
        self->queue = NULL;
        self->queued = self->capacity = 0;
        self->dropped = 0;
        pthread_mutex_unlock (&self->lock);

        if (dropped)
            pst_log (PST_LOG_ERROR, "audit_rows_dropped", "reason", "queue full", NULL);
        if (count)
            s_write (self, rows, count);
        for (size_t index = 0; index < count; index++)
            s_row_free (&rows [index]);
        free (rows);
        int64_t mono = pst_clock_mono_ms ();
        if (last_prune == 0 || mono - last_prune >= PRUNE_EVERY_MS) {
            //  Rows are dated by the wall clock; the interval runs on the monotonic one
            s_prune (self, pst_clock_wall_ms ());
            last_prune = mono;
        }
        pthread_mutex_lock (&self->lock);
        self->done = upto;
        pthread_cond_broadcast (&self->written);
        if (stop && self->queued == 0)
            break;
        if (!stop && self->queued) {
            //  Gather what comes in the next moment into the same commit
            pthread_mutex_unlock (&self->lock);
            struct timespec pause = { 0, AUTHN_AUDIT_FLUSH_MS * 1000000L };
            nanosleep (&pause, NULL);
            pthread_mutex_lock (&self->lock);
        }
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

authn_audit_t *
authn_audit_new (const authn_config_t *config)
{
    authn_audit_t *self = (authn_audit_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->retention_days = config->audit_retention_days;
    self->store = authn_store_new (config->db_path);
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init (&monotonic);
    pthread_condattr_setclock (&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init (&self->wake, &monotonic);
    pthread_cond_init (&self->written, &monotonic);
    pthread_condattr_destroy (&monotonic);
    if (!self->store || pthread_create (&self->thread, NULL, s_writer, self) != 0) {
        authn_store_destroy (&self->store);
        pthread_mutex_destroy (&self->lock);
        pthread_cond_destroy (&self->wake);
        pthread_cond_destroy (&self->written);
        free (self);
        return NULL;
    }
    return self;
}

void
authn_audit_destroy (authn_audit_t **self_p)
{
    if (self_p && *self_p) {
        authn_audit_t *self = *self_p;
        pthread_mutex_lock (&self->lock);
        self->stop = 1;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
        authn_store_destroy (&self->store);
        pthread_mutex_destroy (&self->lock);
        pthread_cond_destroy (&self->wake);
        pthread_cond_destroy (&self->written);
        free (self);
        *self_p = NULL;
    }
}

void
authn_audit_record (authn_audit_t *self, const authn_audit_row_t *row)
{
    if (!self || !row->type)
        return;
    authn_audit_row_t copy = {
        s_copy (row->type), s_copy (row->user_id), s_copy (row->user_name),
        s_copy (row->client_id), s_copy (row->ip), s_copy (row->result? row->result: "success"),
        s_copy (row->detail), row->created_at
    };
    pthread_mutex_lock (&self->lock);
    if (self->queued == self->capacity && self->capacity < AUTHN_AUDIT_QUEUE_MAX) {
        size_t capacity = self->capacity? self->capacity * 2: 64;
        authn_audit_row_t *queue = (authn_audit_row_t *) realloc (self->queue,
                                                                  capacity * sizeof *queue);
        if (queue) {
            self->queue = queue;
            self->capacity = capacity;
        }
    }
    int kept = copy.type && copy.result && self->queued < self->capacity;
    if (kept) {
        self->queue [self->queued++] = copy;
        self->recorded++;
        pthread_cond_signal (&self->wake);
    }
    else
        self->dropped++;
    pthread_mutex_unlock (&self->lock);
    if (!kept)
        s_row_free (&copy);
}

int
authn_audit_flush (authn_audit_t *self)
{
    if (!self)
        return 0;
    struct timespec until = pst_clock_mono_after (1000);
    int rc = 0;
    pthread_mutex_lock (&self->lock);
    uint64_t wanted = self->recorded;
    pthread_cond_signal (&self->wake);
    while (rc == 0 && self->done < wanted)
        rc = pthread_cond_timedwait (&self->written, &self->lock, &until);
    pthread_mutex_unlock (&self->lock);
    return rc == 0? 0: -1;
}

//  ---------------------------------------------------------------------------
//  Grants

static const struct {
    const char *grant_type;
    const char *success;
    const char *failure;
} s_grants [] = {
    { "password",                                               "s",       "f" },
    { "http://auth0.com/oauth/grant-type/password-realm",       "s",       "f" },
    { "client_credentials",                                     "seccft",  "feccft" },
    { "http://auth0.com/oauth/grant-type/mfa-oob",              "seoobft", "feoobft" },
    { "http://auth0.com/oauth/grant-type/mfa-otp",              "seotpft", "feotpft" },
    { "http://auth0.com/oauth/grant-type/mfa-recovery-code",    "sercft",  "fercft" },
    { "refresh_token",                                          "sertft",  "fertft" },
    { NULL, NULL, NULL }
};

void
authn_audit_grant (authn_audit_t *self, const pst_msg_t *request, const pst_msg_t *reply,
                   const char *grant_type, const authn_audit_note_t *note, int64_t now_ms)
{
    int index = 0;
    while (s_grants [index].grant_type && strcmp (s_grants [index].grant_type, grant_type) != 0)
        index++;
    const char *error = pst_msg_error (reply);
    if (!s_grants [index].grant_type || (error && strcmp (error, PST_ERR_MFA_REQUIRED) == 0))
        return;
    const char *type = note->type? note->type
                     : error && strcmp (error, PST_ERR_TOO_MANY_ATTEMPTS) == 0? "limit_wc"
                     : error? s_grants [index].failure: s_grants [index].success;
    //  The client as the request named it (its authentication may be what failed)
    const char *audience = pst_json_str (pst_msg_body (request), "audience");
    char detail [600];
    if (error)
        snprintf (detail, sizeof detail, "%.500s", pst_msg_error_text (reply));
    else
        snprintf (detail, sizeof detail, "%s%.500s", audience? "audience: ": "",
                  audience? audience: "");
    authn_audit_row_t row = {
        .type = type, .user_id = *note->user_id? note->user_id: NULL,
        .user_name = *note->user_name? note->user_name: NULL,
        .client_id = *note->client_id? note->client_id
                                     : pst_json_str (pst_msg_body (request), "client_id"),
        .ip = pst_msg_client_ip (request), .result = error? "failure": "success",
        .detail = *detail? detail: NULL, .created_at = now_ms
    };
    authn_audit_record (self, &row);
}
