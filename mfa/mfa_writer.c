#include "mfa_writer.h"
#include "pst_clock.h"
#include "pst_sql.h"
#include "pst_actor.h"
#include "pst_log.h"
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

//  A unit queued for a batch. One that a caller waits for lives on the caller's
//  stack and is posted its semaphore when its batch has ended; a posted one is
//  the writer's to free.
typedef struct s_unit_t {
    mfa_writer_fn *fn;
    void *args;
    void (*done) (void *args);  //  posted units: runs after the batch
    sem_t *finished;            //  waited units: posted after the batch
    int rc;                     //  0 when the batch committed
    bool unavailable;           //  the database could not be reached
    struct s_unit_t *next;
} s_unit_t;

struct _mfa_writer_t {
    zactor_t *actor;
    char *db_path;
    pthread_mutex_t lock;
    pthread_cond_t wake;        //  the writer waits here for units (monotonic clock)
    s_unit_t *head;             //  the queue, oldest first
    s_unit_t *tail;
    int queued;                 //  units in the queue
    int waited;                 //  of which a caller waits for
    struct timespec posted_due; //  when the oldest posted unit must be committed
    int linger_ms;              //  how long posted units may wait for company
    bool stopping;
    atomic_long commits;
};

//  Units queued or running in every writer of the process (mfa_writer_pending_all)
static atomic_long s_pending_all = 0;

static void
s_finish (s_unit_t *unit, int rc, bool unavailable)
{
    atomic_fetch_sub (&s_pending_all, 1);
    if (unit->finished) {
        unit->rc = rc;
        unit->unavailable = unavailable;
        //  The caller may return as soon as it sees this: nothing of the
        //  unit is touched after it
        sem_post (unit->finished);
    }
    else {
        if (unit->done)
            unit->done (unit->args);
        free (unit);
    }
}

//  One transaction for the whole batch. A unit that lost the transaction
//  (SQLite rolls it back by itself after some errors) would leave the units
//  after it to write outside any transaction: the batch stops there, and every
//  unit of it, run or not, is told that nothing was written.
static void
s_run_batch (mfa_writer_t *self, mfa_store_t *store, s_unit_t **batch, int count)
{
    pst_sql_unavailable_clear ();
    int rc = mfa_store_begin (store);
    for (int i = 0; i < count && rc == 0; i++) {
        if (batch [i]->fn (store, batch [i]->args) != 0 || !mfa_store_in_transaction (store)) {
            pst_log (PST_LOG_ERROR, "db_batch_lost", NULL);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = mfa_store_commit (store);
    if (rc)
        mfa_store_rollback (store);
    else
        atomic_fetch_add (&self->commits, 1);
    //  A batch lost with the database's connection: its callers answer 503
    bool unavailable = rc != 0 && pst_sql_unavailable_seen ();
    for (int i = 0; i < count; i++)
        s_finish (batch [i], rc, unavailable);
}

//  True when the writer has a batch to run now: a unit that a caller waits
//  for, a full batch, posted units that have waited their linger, or the queue
//  to drain before stopping. Holds self->lock.
static bool
s_batch_due (mfa_writer_t *self)
{
    if (!self->head)
        return self->stopping;
    if (self->waited > 0 || self->queued >= MFA_WRITER_BATCH_MAX || self->stopping)
        return true;
    return pst_clock_mono_reached (&self->posted_due);
}

static void
s_writer_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("mfa-writer");
    mfa_writer_t *self = (mfa_writer_t *) args;
    mfa_store_t *store = mfa_store_new (self->db_path);
    if (store && mfa_store_cache_pages (store, MFA_WRITER_CACHE_KIB) != 0)
        mfa_store_destroy (&store);
    if (!store) {
        pst_actor_failed (pipe, "the writer could not open the database");
        return;
    }
    pst_actor_ready (pipe, NULL);
    s_unit_t *batch [MFA_WRITER_BATCH_MAX];
    while (true) {
        pthread_mutex_lock (&self->lock);
        while (!s_batch_due (self)) {
            if (self->head)
                pthread_cond_timedwait (&self->wake, &self->lock, &self->posted_due);
            else
                pthread_cond_wait (&self->wake, &self->lock);
        }
        int count = 0;
        while (self->head && count < MFA_WRITER_BATCH_MAX) {
            batch [count++] = self->head;
            self->queued--;
            if (self->head->finished)
                self->waited--;
            self->head = self->head->next;
        }
        if (!self->head)
            self->tail = NULL;
        pthread_mutex_unlock (&self->lock);
        if (count == 0)
            break;          //  stopping, and nothing left to run
        s_run_batch (self, store, batch, count);
    }
    mfa_store_destroy (&store);
}

mfa_writer_t *
mfa_writer_new (const char *db_path)
{
    mfa_writer_t *self = (mfa_writer_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db_path = db_path? strdup (db_path): NULL;
    self->linger_ms = MFA_WRITER_POST_LINGER_MS;
    pthread_mutex_init (&self->lock, NULL);
    //  Posted units' lingering is timed on the monotonic clock: a wall clock
    //  stepped back must not hold them for as long as the step
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&self->wake, &attributes);
    pthread_condattr_destroy (&attributes);
    atomic_init (&self->commits, 0);
    if (self->db_path)
        self->actor = pst_actor_new (s_writer_actor, self, NULL);
    if (!self->actor)
        mfa_writer_destroy (&self);
    return self;
}

void
mfa_writer_destroy (mfa_writer_t **self_p)
{
    if (self_p && *self_p) {
        mfa_writer_t *self = *self_p;
        pthread_mutex_lock (&self->lock);
        self->stopping = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        //  The thread ends once the queue is empty; this waits for it
        zactor_destroy (&self->actor);
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
        free (self->db_path);
        free (self);
        *self_p = NULL;
    }
}

//  Appends unit to the queue; -1 when the writer is stopping. A unit that a
//  caller waits for wakes the writer; a posted one does not, unless it is the
//  first of an empty queue (its linger starts) or fills a batch: it rides along
//  with the next waited unit's commit, or is committed on its own once it has
//  lingered.
static int
s_queue (mfa_writer_t *self, s_unit_t *unit)
{
    pthread_mutex_lock (&self->lock);
    int rc = self->stopping? -1: 0;
    if (rc == 0) {
        unit->next = NULL;
        bool was_empty = self->head == NULL;
        if (self->tail)
            self->tail->next = unit;
        else
            self->head = unit;
        self->tail = unit;
        atomic_fetch_add (&s_pending_all, 1);
        self->queued++;
        if (unit->finished)
            self->waited++;
        else
        if (was_empty) {
            self->posted_due = pst_clock_mono_after (self->linger_ms);
        }
        if (unit->finished || was_empty || self->queued >= MFA_WRITER_BATCH_MAX)
            pthread_cond_signal (&self->wake);
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

int
mfa_writer_run (mfa_writer_t *self, mfa_writer_fn *fn, void *args)
{
    sem_t finished;
    if (sem_init (&finished, 0, 0) != 0)
        return -1;
    s_unit_t unit = { .fn = fn, .args = args, .finished = &finished, .rc = -1 };
    int rc = s_queue (self, &unit);
    if (rc == 0) {
        while (sem_wait (&finished) != 0 && errno == EINTR)
            ;
        rc = unit.rc;
        //  Told in the caller's thread, where its request is answered
        if (unit.unavailable)
            pst_sql_unavailable_note ();
    }
    sem_destroy (&finished);
    return rc;
}

int
mfa_writer_post (mfa_writer_t *self, mfa_writer_fn *fn, void *args, void (*done) (void *args))
{
    s_unit_t *unit = (s_unit_t *) calloc (1, sizeof *unit);
    if (unit) {
        unit->fn = fn;
        unit->args = args;
        unit->done = done;
    }
    if (!unit || s_queue (self, unit) != 0) {
        free (unit);
        if (done)
            done (args);
        return -1;
    }
    return 0;
}

void
mfa_writer_set_linger (mfa_writer_t *self, int linger_ms)
{
    pthread_mutex_lock (&self->lock);
    self->linger_ms = linger_ms < 0? 0: linger_ms;
    pthread_mutex_unlock (&self->lock);
}

long
mfa_writer_commits (mfa_writer_t *self)
{
    return atomic_load (&self->commits);
}

long
mfa_writer_pending_all (void)
{
    return atomic_load (&s_pending_all);
}
