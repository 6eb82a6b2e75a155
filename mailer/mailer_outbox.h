/*  mailer_outbox - the mailer's durable queue, one SQLite file per replica.

    A job is acknowledged to mfa only after its row is committed (S20), so a killed
    mailer loses nothing: on restart every row still pending, or caught in the
    middle of a delivery, is tried again with the same Message-ID (S23).

    Row states: pending -> sending -> sent | failed | expired, or back to pending
    with a later next_attempt_at after a temporary failure. A fresh job handed to
    a worker in memory starts as sending. A terminal row keeps
    its envelope and outcome but loses its subject and bodies, which carry the code
    (S8). Each thread opens its own outbox: SQLite connections are not shared.
    Times are explicit arguments (Unix ms unless named _s) so tests control them.
*/
#ifndef MAILER_OUTBOX_H_INCLUDED
#define MAILER_OUTBOX_H_INCLUDED

#include "mailer_job.h"
#include <stdint.h>

#define MAILER_BACKOFF_BASE_MS  1000
#define MAILER_BACKOFF_CAP_MS   60000
#define MAILER_BACKOFF_JITTER   20      //  percent, either way

typedef enum {
    MAILER_STATE_PENDING,
    MAILER_STATE_SENDING,
    MAILER_STATE_SENT,
    MAILER_STATE_FAILED,
    MAILER_STATE_EXPIRED,
    MAILER_STATE_UNKNOWN            //  no such job
} mailer_state_t;

typedef struct _mailer_outbox_t mailer_outbox_t;

//  Opens (creating and migrating) the outbox at path. NULL on failure (logged).
mailer_outbox_t *
    mailer_outbox_new (const char *path);
//  For a delivery worker's connection: its commits (claims, retries, releases)
//  are not synced to disk one by one (synchronous=NORMAL), while the bus
//  thread's acceptance of a job is (FULL, S20), and its outcomes are not
//  (mailer_outbox_finish_batch). A killed process loses none of
//  them (they are in the WAL, which the OS holds); a power cut may lose the last
//  few, and then a job goes out again after the restart, as after a kill
//  between DATA and the final 250 (same code and Message-ID, S23). 0 or -1.
int
    mailer_outbox_for_delivery (mailer_outbox_t *self);
void
    mailer_outbox_destroy (mailer_outbox_t **self_p);

//  Stores a new pending job, due at once. 0 stored, 1 when a job with this job_id
//  exists already (mfa retried: nothing is written), -1 on error. When
//  deadline_ms is not 0 and has passed by the time the row is ready to commit, the
//  transaction is rolled back and -2 returned: the caller has given up, and a job
//  it considers failed must not be sent (S20).
int
    mailer_outbox_insert (mailer_outbox_t *self, const mailer_job_t *job,
                          int64_t deadline_ms);

//  Stores count jobs in one transaction, so they share one commit (one fsync).
//  Only on a connection whose commits are synced (FULL; one for delivery is
//  not): else nothing is stored, -1, logged (outbox_not_synced).
//  results [i] says what became of jobs [i], as mailer_outbox_insert would:
//  0 stored, 1 a duplicate, -2 its deadlines_ms [i] (0: none) had passed when
//  the batch was ready to commit, so it was not stored, -1 an error (a job that
//  failed alone does not undo the others). When the commit fails every job that
//  was not late is -1. sending: the rows go in as claimed ('sending', their
//  first attempt counted), for a caller that hands the jobs to the delivery
//  workers itself (mailer_delivery_hand) instead of letting them claim the
//  rows; a crash leaves them to mailer_outbox_recover, as a claimed row.
//  Returns 0, or -1 when nothing was stored.
int
    mailer_outbox_insert_batch (mailer_outbox_t *self, const mailer_job_t *const *jobs,
                                const int64_t *deadlines_ms, int count, int sending,
                                int *results);

//  Returns rows left in 'sending' by a process that died to 'pending', and makes
//  every pending row due now. Call once at start, before any worker runs. Number
//  of rows changed, or -1.
int
    mailer_outbox_recover (mailer_outbox_t *self);

//  Claims the oldest pending row that is due (next_attempt_at <= now_ms) or whose
//  expires_at has passed: marks it 'sending', counts the attempt and returns it
//  (caller destroys). NULL when nothing is due or on error.
mailer_job_t *
    mailer_outbox_claim (mailer_outbox_t *self, int64_t now_ms);

//  Ends a claimed job in state sent, failed or expired, with the last SMTP code
//  and a short detail, wiping subject and bodies. 0 or -1.
int
    mailer_outbox_finish (mailer_outbox_t *self, const char *job_id,
                          mailer_state_t state, long smtp_code, const char *detail);

//  One claimed job's end, for mailer_outbox_finish_batch (strings borrowed)
typedef struct {
    const char *job_id;
    mailer_state_t state;           //  sent, failed or expired
    long smtp_code;
    const char *detail;
} mailer_outbox_end_t;

//  Ends count claimed jobs as mailer_outbox_finish would, in one transaction
//  whose commit is not synced on its own (synchronous=NORMAL for it, as a
//  delivery worker's): the bus thread ends the jobs its workers report, and its
//  next acceptance of a job, synced (S20), takes these frames to disk with it,
//  as the WAL is synced in order. A kill loses none of them; a power cut may
//  lose the last few, and those jobs go out again after the restart (S23).
//  results [i] says what became of ends [i]: 0 ended, -1 not (no such claimed
//  row, or an error). Returns 0 when the transaction was committed, -1 when it
//  failed (then every result is -1, and the caller may try them again).
int
    mailer_outbox_finish_batch (mailer_outbox_t *self, const mailer_outbox_end_t *ends,
                                int count, int *results);

//  Puts a claimed job back to pending, due at next_attempt_ms. 0 or -1.
int
    mailer_outbox_retry (mailer_outbox_t *self, const char *job_id,
                         int64_t next_attempt_ms, long smtp_code, const char *detail);

//  Puts a claimed job back to pending, due at once, without counting the attempt
//  (delivery was interrupted by shutdown, not refused). 0 or -1.
int
    mailer_outbox_release (mailer_outbox_t *self, const char *job_id);

//  Puts a claimed job back to pending, due at next_attempt_ms (never past its
//  expiry), without counting the attempt, and keeps detail as its last detail:
//  nothing was sent because mfa could not say whether the code is still live
//  (mail.check unanswered). 0 or -1.
int
    mailer_outbox_postpone (mailer_outbox_t *self, const char *job_id,
                            int64_t next_attempt_ms, const char *detail);

//  Earliest time something will be due (Unix ms: next_attempt_at or expiry of a
//  pending row), or -1 when nothing is pending.
int64_t
    mailer_outbox_next_due (mailer_outbox_t *self);

//  Jobs not yet in a terminal state, or -1.
int
    mailer_outbox_backlog (mailer_outbox_t *self);

//  State of a job and, when attempts_p is not NULL, its attempt count.
mailer_state_t
    mailer_outbox_state (mailer_outbox_t *self, const char *job_id, int *attempts_p);

//  Name of a state as stored and as sent in mail.result ("sent", ...).
const char *
    mailer_state_name (mailer_state_t state);

//  Deletes finished rows past their retention, then a best-effort WAL
//  checkpoint: with truncation when no job is left to send, so that pages that
//  held codes of finished jobs do not linger in the -wal file; a passive one,
//  which holds up no writer, while jobs remain. Call when idle.
void
    mailer_outbox_checkpoint (mailer_outbox_t *self);

//  Delay before attempt number attempts + 1 after a temporary failure: 1 s doubled
//  per attempt, capped at 60 s, scaled by a jitter of ±20% drawn from random, a
//  uniform value in [0, 1000]. Pure, so tests can pin the random value.
int64_t
    mailer_backoff_ms (int attempts, uint32_t random);

#endif
