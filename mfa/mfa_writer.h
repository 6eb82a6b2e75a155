/*  mfa_writer - group commit: many workers' transactions in one fsync.

    Every commit of mfa.db is an fsync (synchronous=FULL, S28), and SQLite lets
    one connection write at a time, so workers that each commit their own
    transaction wait for one another's fsyncs: a challenge made six of them and
    the whole service a few hundred a second. The writer is one thread with its
    own connection that takes every unit of work queued while it was busy, runs
    them back to back inside one BEGIN IMMEDIATE ... COMMIT, and only then
    wakes each unit's caller: one fsync for the batch, and no caller hears of
    its writes before the commit that holds them has returned.

    A unit is a function that runs in the writer's thread on the writer's
    store, inside the batch's transaction. It keeps its own failures to itself
    (mfa_store_savepoint: a unit that fails rolls back to its savepoint and may
    then write what its failure must leave, such as an audit row), so one unit
    never undoes another. When the transaction itself is lost (an I/O error, a
    full disk) or the commit fails, every unit of the batch is told that
    nothing of it was written.

    mfa_writer_run waits for its unit's batch; mfa_writer_post does not wait,
    for writes whose caller has nothing to answer (the dispatcher's record of a
    mailer's result). A posted unit does not start a commit of its own at once:
    it waits up to MFA_WRITER_POST_LINGER_MS (on the monotonic clock) for a unit
    that a caller waits for, and rides in that one's commit. Each commit is an
    fsync and, on a virtual machine, dozens of costly system calls; before, the
    mailer's results took a commit of their own about as often as not.
*/
#ifndef MFA_WRITER_H_INCLUDED
#define MFA_WRITER_H_INCLUDED

#include "mfa_store.h"

//  Units one batch takes at most, so that a long queue still commits now and then
#define MFA_WRITER_BATCH_MAX    256
//  How long a posted unit waits for company before it is committed on its own
#define MFA_WRITER_POST_LINGER_MS   20
//  The page cache of the writer's connection. The random keys (oob_hash,
//  request ids, users' buckets and audit rows) spread each batch over leaves
//  all through their indexes; with SQLite's 2 MB the writer read about 4 pages
//  a challenge back from the file under load, each a system call
#define MFA_WRITER_CACHE_KIB        8192

typedef struct _mfa_writer_t mfa_writer_t;

//  A unit of work: runs in the writer's thread, inside the batch's transaction,
//  on store; args is the caller's. It leaves the transaction open (a failure of
//  its own is rolled back to its savepoint) and returns 0, or -1 when it could
//  not leave the transaction in a known state (a savepoint that would not roll
//  back): then the whole batch is rolled back.
typedef int (mfa_writer_fn) (mfa_store_t *store, void *args);

//  Opens its own connection to db_path (already migrated) and starts the
//  thread. NULL on failure.
mfa_writer_t *
    mfa_writer_new (const char *db_path);
//  Runs the units still queued, then stops the thread. Callers that wait on it
//  must be gone.
void
    mfa_writer_destroy (mfa_writer_t **self_p);

//  Runs fn (store, args) in the next batch and returns when that batch has
//  committed: 0, or -1 when it did not (nothing fn wrote is kept; fn may not
//  have run at all). Blocks the calling thread; never call it from a unit.
int
    mfa_writer_run (mfa_writer_t *self, mfa_writer_fn *fn, void *args);

//  Queues fn (store, args) without waiting: it runs in the next waited unit's
//  batch, or alone once it has lingered MFA_WRITER_POST_LINGER_MS, or when the
//  writer stops; done (args) runs after that batch, committed or not, in the
//  writer's thread (to free args).
//  0, or -1 when it could not be queued (then done has run already).
int
    mfa_writer_post (mfa_writer_t *self, mfa_writer_fn *fn, void *args,
                     void (*done) (void *args));

//  Sets how long posted units queued from now on may wait for a waited unit's
//  commit (tests: a long linger makes "rides along" observable without timing)
void
    mfa_writer_set_linger (mfa_writer_t *self, int linger_ms);

//  Commits since the writer started: a test's view of how many fsyncs the
//  batches cost.
long
    mfa_writer_commits (mfa_writer_t *self);

//  Units queued or in the batch that runs, in every writer of the process: lets
//  a test that holds mfa.db's write lock (so the writer's batch waits for it)
//  see when its requests' transactions have all reached the writer.
long
    mfa_writer_pending_all (void);

#endif
