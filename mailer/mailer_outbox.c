#include "mailer_outbox.h"
#include "pst_clock.h"
#include "pst_db.h"
#include "pst_log.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Finished rows are kept this long for diagnostics, then deleted.
#define RETENTION_MS    (7LL * 24 * 3600 * 1000)

struct _mailer_outbox_t {
    sqlite3 *db;
    bool for_delivery;          //  synchronous=NORMAL on this connection, else FULL
    pst_db_cache_t *cache;      //  its prepared statements, kept (pst_db_cache)
};

//  A kept statement for sql (a string literal), to bind and step; given back
//  with pst_db_cache_done. NULL on failure (logged).
static sqlite3_stmt *
s_prepare (mailer_outbox_t *self, const char *sql)
{
    return pst_db_cache_prepare (self->cache, sql);
}

//  next_attempt_at never goes past the expiry (mailer_outbox_retry caps it), so a
//  row is due either for delivery or for being expired, and one index serves the
//  claim, the next wake-up and the backlog count.
static const char *s_migrations [] = {
    "CREATE TABLE outbox ("
    "  job_id          TEXT PRIMARY KEY,"
    "  mail_from       TEXT NOT NULL,"
    "  rcpt_to         TEXT NOT NULL,"
    "  subject         TEXT,"
    "  text_body       TEXT,"
    "  html_body       TEXT,"
    "  message_id      TEXT NOT NULL,"
    "  expires_at      INTEGER NOT NULL,"
    "  created_at      INTEGER NOT NULL,"
    "  state           TEXT NOT NULL DEFAULT 'pending'"
    "                  CHECK (state IN ('pending','sending','sent','failed','expired')),"
    "  attempts        INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_smtp_code  INTEGER,"
    "  last_detail     TEXT,"
    "  updated_at      INTEGER NOT NULL"
    ");"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    "CREATE INDEX outbox_updated ON outbox (updated_at) WHERE state IN ('sent','failed','expired');",
    //  2: which stored email provider (mfa's generation, 0: none) sends the job
    "ALTER TABLE outbox ADD COLUMN provider_generation INTEGER NOT NULL DEFAULT 0;",
    NULL
};

static const char *s_state_names [] = {
    [MAILER_STATE_PENDING] = "pending",
    [MAILER_STATE_SENDING] = "sending",
    [MAILER_STATE_SENT]    = "sent",
    [MAILER_STATE_FAILED]  = "failed",
    [MAILER_STATE_EXPIRED] = "expired",
    [MAILER_STATE_UNKNOWN] = "unknown",
};

const char *
mailer_state_name (mailer_state_t state)
{
    return state <= MAILER_STATE_UNKNOWN? s_state_names [state]: "unknown";
}

int
mailer_outbox_for_delivery (mailer_outbox_t *self)
{
    self->for_delivery = true;
    return pst_db_exec (self->db, "PRAGMA synchronous = NORMAL");
}

mailer_outbox_t *
mailer_outbox_new (const char *path)
{
    mailer_outbox_t *self = (mailer_outbox_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = path? pst_db_open (path, s_migrations): NULL;
    self->cache = self->db? pst_db_cache_new (self->db): NULL;
    //  freed cells are zeroed, so a wiped body does not survive in free space
    if (!self->cache || pst_db_exec (self->db, "PRAGMA secure_delete = ON") != 0) {
        pst_log (PST_LOG_ERROR, "outbox_open_failed", "path", path, NULL);
        mailer_outbox_destroy (&self);
    }
    return self;
}

void
mailer_outbox_destroy (mailer_outbox_t **self_p)
{
    if (self_p && *self_p) {
        //  Before the connection: it cannot close with statements open
        pst_db_cache_destroy (&(*self_p)->cache);
        pst_db_close (&(*self_p)->db);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Runs a prepared statement that returns no rows; number of rows changed or -1.
static int
s_run (mailer_outbox_t *self, sqlite3_stmt *stmt)
{
    int rc = stmt && sqlite3_step (stmt) == SQLITE_DONE? sqlite3_changes (self->db): -1;
    if (stmt && rc < 0)
        pst_log (PST_LOG_ERROR, "outbox_sql_failed", "reason", sqlite3_errmsg (self->db), NULL);
    pst_db_cache_done (self->cache, stmt);
    return rc;
}

int
mailer_outbox_insert (mailer_outbox_t *self, const mailer_job_t *job, int64_t deadline_ms)
{
    int result = -1;
    mailer_outbox_insert_batch (self, &job, &deadline_ms, 1, 0, &result);
    return result;
}

//  The rows of a batch whose caller gave up meanwhile go before the commit:
//  a job mfa considers failed must not be sent (S20).
static void
s_drop_late (mailer_outbox_t *self, const mailer_job_t *const *jobs,
             const int64_t *deadlines_ms, int count, int *results)
{
    int64_t now = pst_clock_wall_ms ();
    sqlite3_stmt *stmt = NULL;
    for (int i = 0; i < count; i++) {
        if (results [i] != 0 || !deadlines_ms [i] || now < deadlines_ms [i])
            continue;
        if (!stmt)
            stmt = s_prepare (self, "DELETE FROM outbox WHERE job_id = ?1");
        if (!stmt) {
            results [i] = -1;
            continue;
        }
        sqlite3_bind_text (stmt, 1, jobs [i]->job_id, -1, SQLITE_STATIC);
        results [i] = sqlite3_step (stmt) == SQLITE_DONE? -2: -1;
        sqlite3_reset (stmt);
    }
    pst_db_cache_done (self->cache, stmt);
}

//  The connection's PRAGMA synchronous (2: FULL), -1 on error. Prepared afresh:
//  SQLite reads the setting into the statement when it prepares it, so a kept
//  one would go on answering what it read then.
static int
s_sync_level (mailer_outbox_t *self)
{
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2 (self->db, "PRAGMA synchronous", -1, &stmt, NULL);
    int level = stmt && sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int (stmt, 0): -1;
    sqlite3_finalize (stmt);
    return level;
}

//  Whether every commit on this connection is synced (FULL or EXTRA), as an
//  acceptance's must be (S20): checked before each. The bus thread's
//  connection is put back to FULL when mailer_outbox_finish_batch could not;
//  a delivery worker's stores no job.
static bool
s_synced (mailer_outbox_t *self)
{
    int level = s_sync_level (self);
    if (level < 2 && !self->for_delivery
    &&  pst_db_exec (self->db, "PRAGMA synchronous = FULL") == 0)
        level = s_sync_level (self);
    if (level < 2)
        pst_log (PST_LOG_ERROR, "outbox_not_synced", NULL);
    return level >= 2;
}

//  Ends the transaction: commits it when keep and SQLite still holds it (it
//  may have rolled back itself after an I/O error), else rolls it back. 0
//  when it was committed.
static int
s_end_transaction (mailer_outbox_t *self, bool keep)
{
    if (keep && !sqlite3_get_autocommit (self->db) && pst_db_commit (self->db) == 0)
        return 0;
    pst_db_rollback (self->db);
    return -1;
}

int
mailer_outbox_insert_batch (mailer_outbox_t *self, const mailer_job_t *const *jobs,
                            const int64_t *deadlines_ms, int count, int sending, int *results)
{
    for (int i = 0; i < count; i++)
        results [i] = -1;
    if (count <= 0 || !s_synced (self) || pst_db_begin (self->db) != 0)
        return -1;
    sqlite3_stmt *stmt = s_prepare (self,
        "INSERT INTO outbox (job_id, mail_from, rcpt_to, subject, text_body, html_body,"
        " message_id, expires_at, created_at, next_attempt_at, updated_at, provider_generation,"
        " state, attempts)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13)"
        " ON CONFLICT (job_id) DO NOTHING");
    int64_t now = pst_clock_wall_ms ();
    for (int i = 0; stmt && i < count; i++) {
        const mailer_job_t *job = jobs [i];
        const char *texts [] = { job->job_id, job->from, job->to, job->subject,
                                 job->text, job->html, job->message_id };
        for (int field = 0; field < 7; field++)
            sqlite3_bind_text (stmt, field + 1, texts [field], -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 8, job->expires_at);
        sqlite3_bind_int64 (stmt, 9, job->created_at);
        sqlite3_bind_int64 (stmt, 10, now);
        sqlite3_bind_int64 (stmt, 11, job->provider_generation);
        sqlite3_bind_text (stmt, 12, sending? "sending": "pending", -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 13, sending? 1: 0);
        //  A failed statement undoes only itself; the others of the batch stand
        if (sqlite3_step (stmt) == SQLITE_DONE)
            results [i] = sqlite3_changes (self->db) > 0? 0: 1;
        else
            pst_log (PST_LOG_ERROR, "outbox_sql_failed", "reason", sqlite3_errmsg (self->db),
                     NULL);
        sqlite3_reset (stmt);
    }
    pst_db_cache_done (self->cache, stmt);
    s_drop_late (self, jobs, deadlines_ms, count, results);
    if (s_end_transaction (self, stmt != NULL) != 0) {
        for (int i = 0; i < count; i++)
            if (results [i] != -2)
                results [i] = -1;
        return -1;
    }
    return 0;
}

int
mailer_outbox_recover (mailer_outbox_t *self)
{
    //  Waiting rows are due at once too: a restart often follows the outage that
    //  made them wait, and their codes are ticking
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = 'pending', next_attempt_at = MIN (?1, expires_at * 1000),"
        " updated_at = ?1"
        " WHERE state = 'sending' OR (state = 'pending' AND next_attempt_at > ?1)");
    if (stmt)
        sqlite3_bind_int64 (stmt, 1, pst_clock_wall_ms ());
    return s_run (self, stmt);
}

//  Copies a claimed row into a job; NULL when out of memory.
static mailer_job_t *
s_job_from_row (sqlite3_stmt *stmt)
{
    mailer_job_t *job = mailer_job_new ();
    if (!job)
        return NULL;
    job->job_id = pst_db_column_strdup (stmt, 0);
    job->from = pst_db_column_strdup (stmt, 1);
    job->to = pst_db_column_strdup (stmt, 2);
    job->subject = pst_db_column_strdup (stmt, 3);
    job->text = pst_db_column_strdup (stmt, 4);
    job->html = pst_db_column_strdup (stmt, 5);
    job->message_id = pst_db_column_strdup (stmt, 6);
    job->expires_at = sqlite3_column_int64 (stmt, 7);
    job->created_at = sqlite3_column_int64 (stmt, 8);
    job->attempts = sqlite3_column_int (stmt, 9);
    job->provider_generation = sqlite3_column_int64 (stmt, 10);
    if (!job->job_id || !job->from || !job->to || !job->subject
    ||  !job->text || !job->html || !job->message_id)
        mailer_job_destroy (&job);
    return job;
}

mailer_job_t *
mailer_outbox_claim (mailer_outbox_t *self, int64_t now_ms)
{
    //  One statement picks and marks the row, so two workers never claim the same
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?1"
        " WHERE job_id = (SELECT job_id FROM outbox WHERE state = 'pending'"
        "                 AND next_attempt_at <= ?1 ORDER BY next_attempt_at, rowid LIMIT 1)"
        " RETURNING job_id, mail_from, rcpt_to, subject, text_body, html_body,"
        "           message_id, expires_at, created_at, attempts, provider_generation");
    if (!stmt)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, now_ms);
    mailer_job_t *job = NULL;
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        job = s_job_from_row (stmt);
        rc = sqlite3_step (stmt);
    }
    if (rc != SQLITE_DONE) {
        pst_log (PST_LOG_ERROR, "outbox_sql_failed", "reason", sqlite3_errmsg (self->db), NULL);
        mailer_job_destroy (&job);
    }
    pst_db_cache_done (self->cache, stmt);
    return job;
}

//  1 when the claimed row was ended, 0 when there is none (or state is not
//  terminal), -1 when the statement failed
static int
s_finish_row (mailer_outbox_t *self, const char *job_id,
              mailer_state_t state, long smtp_code, const char *detail)
{
    if (state != MAILER_STATE_SENT && state != MAILER_STATE_FAILED
    &&  state != MAILER_STATE_EXPIRED)
        return 0;
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = ?2, last_smtp_code = ?3, last_detail = ?4,"
        " subject = NULL, text_body = NULL, html_body = NULL, updated_at = ?5"
        " WHERE job_id = ?1 AND state = 'sending'");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, mailer_state_name (state), -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, smtp_code);
        sqlite3_bind_text (stmt, 4, detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, pst_clock_wall_ms ());
    }
    int changed = s_run (self, stmt);
    return changed < 0? -1: changed > 0;
}

int
mailer_outbox_finish (mailer_outbox_t *self, const char *job_id,
                      mailer_state_t state, long smtp_code, const char *detail)
{
    return s_finish_row (self, job_id, state, smtp_code, detail) == 1? 0: -1;
}

int
mailer_outbox_finish_batch (mailer_outbox_t *self, const mailer_outbox_end_t *ends,
                            int count, int *results)
{
    for (int i = 0; i < count; i++)
        results [i] = -1;
    if (count <= 0)
        return 0;
    //  The setting applies to the commit, so it is switched around the transaction
    if (!self->for_delivery && pst_db_exec (self->db, "PRAGMA synchronous = NORMAL") != 0)
        return -1;
    int rc = pst_db_begin (self->db);
    if (rc == 0) {
        //  A statement that fails ends the batch, undone whole for the caller
        //  to try again: SQLite may have rolled back the transaction already,
        //  and the rows after would each commit on their own, unreported
        bool failed = false;
        for (int i = 0; i < count && !failed; i++) {
            int ended = s_finish_row (self, ends [i].job_id, ends [i].state,
                                      ends [i].smtp_code, ends [i].detail);
            failed = ended < 0;
            results [i] = ended == 1? 0: -1;
        }
        rc = s_end_transaction (self, !failed);
    }
    for (int i = 0; rc != 0 && i < count; i++)
        results [i] = -1;
    //  Back to syncing every commit, as the acceptance of a job must (S20); if
    //  this fails, mailer_outbox_insert_batch tries again before it stores a job
    if (!self->for_delivery)
        pst_db_exec (self->db, "PRAGMA synchronous = FULL");
    return rc;
}

int
mailer_outbox_retry (mailer_outbox_t *self, const char *job_id,
                     int64_t next_attempt_ms, long smtp_code, const char *detail)
{
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = 'pending', next_attempt_at = MIN (?2, expires_at * 1000),"
        " last_smtp_code = ?3, last_detail = ?4, updated_at = ?5"
        " WHERE job_id = ?1 AND state = 'sending'");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, next_attempt_ms);
        sqlite3_bind_int64 (stmt, 3, smtp_code);
        sqlite3_bind_text (stmt, 4, detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, pst_clock_wall_ms ());
    }
    return s_run (self, stmt) == 1? 0: -1;
}

int
mailer_outbox_release (mailer_outbox_t *self, const char *job_id)
{
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = 'pending', attempts = MAX (attempts - 1, 0),"
        " updated_at = ?2 WHERE job_id = ?1 AND state = 'sending'");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, pst_clock_wall_ms ());
    }
    return s_run (self, stmt) == 1? 0: -1;
}

int
mailer_outbox_postpone (mailer_outbox_t *self, const char *job_id, int64_t next_attempt_ms,
                        const char *detail)
{
    //  The SMTP code of the last real attempt stays: it still says why the job waits
    sqlite3_stmt *stmt = s_prepare (self,
        "UPDATE outbox SET state = 'pending', attempts = MAX (attempts - 1, 0),"
        " next_attempt_at = MIN (?2, expires_at * 1000), last_detail = ?3, updated_at = ?4"
        " WHERE job_id = ?1 AND state = 'sending'");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, next_attempt_ms);
        sqlite3_bind_text (stmt, 3, detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 4, pst_clock_wall_ms ());
    }
    return s_run (self, stmt) == 1? 0: -1;
}

//  Single integer result of a query with no parameters; dflt when NULL or on error.
static int64_t
s_scalar (mailer_outbox_t *self, const char *sql, int64_t dflt)
{
    sqlite3_stmt *stmt = s_prepare (self, sql);
    int64_t value = dflt;
    if (stmt && sqlite3_step (stmt) == SQLITE_ROW
    &&  sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64 (stmt, 0);
    pst_db_cache_done (self->cache, stmt);
    return value;
}

int64_t
mailer_outbox_next_due (mailer_outbox_t *self)
{
    return s_scalar (self, "SELECT MIN (next_attempt_at) FROM outbox WHERE state = 'pending'", -1);
}

int
mailer_outbox_backlog (mailer_outbox_t *self)
{
    return (int) s_scalar (self,
        "SELECT COUNT (*) FROM outbox WHERE state IN ('pending', 'sending')", -1);
}

mailer_state_t
mailer_outbox_state (mailer_outbox_t *self, const char *job_id, int *attempts_p)
{
    sqlite3_stmt *stmt = s_prepare (self,
        "SELECT state, attempts FROM outbox WHERE job_id = ?1");
    mailer_state_t state = MAILER_STATE_UNKNOWN;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW) {
            const char *name = (const char *) sqlite3_column_text (stmt, 0);
            for (int i = 0; name && i < MAILER_STATE_UNKNOWN; i++)
                if (strcmp (name, s_state_names [i]) == 0)
                    state = (mailer_state_t) i;
            if (attempts_p)
                *attempts_p = sqlite3_column_int (stmt, 1);
        }
    }
    pst_db_cache_done (self->cache, stmt);
    return state;
}

void
mailer_outbox_checkpoint (mailer_outbox_t *self)
{
    //  The partial index names the finished rows by age: without INDEXED BY the
    //  planner walks outbox_due over every finished row, a cost that grows with
    //  the week of rows kept
    sqlite3_stmt *stmt = s_prepare (self,
        "DELETE FROM outbox INDEXED BY outbox_updated"
        " WHERE state IN ('sent', 'failed', 'expired') AND updated_at < ?1");
    if (stmt)
        sqlite3_bind_int64 (stmt, 1, pst_clock_wall_ms () - RETENTION_MS);
    s_run (self, stmt);
    //  TRUNCATE keeps new writers out while it waits for readers: with jobs
    //  still coming that would hold up the bus thread's commits, which mfa's
    //  challenges wait for. So it runs when nothing is left to send; until
    //  then a passive checkpoint, which blocks nobody, keeps the WAL short.
    //  Busy readers make TRUNCATE give up early; the next idle moment retries
    int mode = mailer_outbox_backlog (self) == 0? SQLITE_CHECKPOINT_TRUNCATE
                                                : SQLITE_CHECKPOINT_PASSIVE;
    sqlite3_wal_checkpoint_v2 (self->db, NULL, mode, NULL, NULL);
}

int64_t
mailer_backoff_ms (int attempts, uint32_t random)
{
    int64_t delay = MAILER_BACKOFF_BASE_MS;
    for (int i = 1; i < attempts && delay < MAILER_BACKOFF_CAP_MS; i++)
        delay *= 2;
    if (delay > MAILER_BACKOFF_CAP_MS)
        delay = MAILER_BACKOFF_CAP_MS;
    if (random > 1000)
        random = 1000;
    //  random 0..1000 maps to a factor of 80%..120%
    int64_t percent = 100 - MAILER_BACKOFF_JITTER + (int64_t) random * 2 * MAILER_BACKOFF_JITTER / 1000;
    return delay * percent / 100;
}
