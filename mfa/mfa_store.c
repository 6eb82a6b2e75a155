//  mfa_store: the schema and its migrations on both engines, opening, transactions and the
//  prune that keeps every table to its retention.
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include "pst_log.h"
#include <stdio.h>
#include <stdlib.h>

//  Entry i brings user_version to i + 1. Never edit a released entry: add one.
static const char *const s_migrations [] = {
    //  1: the whole schema. Times are Unix ms except audit.created_at (UTC text).
    "CREATE TABLE factors ("
    "  name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, position INTEGER NOT NULL);"
    "INSERT INTO factors (name, enabled, position) VALUES"
    "  ('email', 0, 1), ('otp', 0, 2), ('recovery-code', 1, 3), ('sms', 0, 4),"
    "  ('push-notification', 0, 5), ('duo', 0, 6), ('webauthn-roaming', 0, 7),"
    "  ('webauthn-platform', 0, 8);"
    "CREATE TABLE policies (name TEXT PRIMARY KEY);"
    "INSERT INTO policies (name) VALUES ('all-applications');"
    "CREATE TABLE mfa_tokens ("
    "  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT,"
    "  client_id TEXT NOT NULL, client_name TEXT, audience TEXT, scope TEXT,"
    "  expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX mfa_tokens_expires ON mfa_tokens (expires_at);"
    "CREATE TABLE authenticators ("
    "  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, type TEXT NOT NULL, email TEXT,"
    "  active INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE INDEX authenticators_user ON authenticators (user_id, type);"
    "CREATE TABLE recovery_codes ("
    "  user_id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE challenges ("
    "  id INTEGER PRIMARY KEY, oob_hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,"
    "  authenticator_id TEXT NOT NULL, token_hash TEXT NOT NULL, code_hmac TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('sending', 'pending', 'used', 'superseded', 'void')),"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX challenges_authenticator ON challenges (authenticator_id, state);"
    "CREATE INDEX challenges_expires ON challenges (expires_at);"
    "CREATE TABLE buckets ("
    "  user_id TEXT NOT NULL, kind TEXT NOT NULL, level INTEGER NOT NULL,"
    "  stamp INTEGER NOT NULL, PRIMARY KEY (user_id, kind));"
    "CREATE TABLE mail_jobs ("
    "  job_id TEXT PRIMARY KEY, challenge_id INTEGER, user_id TEXT, state TEXT NOT NULL,"
    "  detail TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX mail_jobs_created ON mail_jobs (created_at);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY, type TEXT NOT NULL, user_id TEXT, client_id TEXT, ip TEXT,"
    "  result TEXT NOT NULL, detail TEXT, created_at TEXT NOT NULL);"
    "CREATE INDEX audit_user ON audit (user_id, type);"
    "CREATE TABLE reply_cache ("
    "  request_id TEXT NOT NULL, op TEXT NOT NULL, sealed BLOB,"
    "  created_at INTEGER NOT NULL, PRIMARY KEY (request_id, op));"
    "CREATE INDEX reply_cache_created ON reply_cache (created_at);",
    //  2: audit rows are pruned by age
    "CREATE INDEX audit_created ON audit (created_at);",
    //  3: otp authenticators: the secret sealed under a key derived from the
    //  code key (never in clear), the last time step accepted (each step works
    //  once), and the otp guesses spent on an mfa_token
    "ALTER TABLE authenticators ADD COLUMN secret BLOB;"
    "ALTER TABLE authenticators ADD COLUMN last_step INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE mfa_tokens ADD COLUMN otp_attempts INTEGER NOT NULL DEFAULT 0;",
    //  4: mail as data: the Management API's email templates (the document as
    //  JSON text) and the email provider (its password sealed, apart); each
    //  save counts up its generation, which every challenge reads to know
    //  whether what it keeps in memory is still current
    "CREATE TABLE email_templates ("
    "  name TEXT PRIMARY KEY, document TEXT NOT NULL,"
    "  generation INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE email_provider ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL, password BLOB,"
    "  generation INTEGER NOT NULL, updated_at INTEGER NOT NULL);",
    //  5: the client's credentials as authn knew them at mfa.begin, so that
    //  /mfa/challenge goes from the gateway to mfa alone: its token_endpoint_auth_method,
    //  and the SHA-256 of its secret (NULL for a client without one). A token
    //  from before this entry has neither, and refuses any secret sent with it.
    //  A token voided because its client changed or went has used = 2; the
    //  index finds a client's live tokens for that
    "ALTER TABLE mfa_tokens ADD COLUMN client_auth_method TEXT;"
    "ALTER TABLE mfa_tokens ADD COLUMN client_secret_hash TEXT;"
    "CREATE INDEX mfa_tokens_client ON mfa_tokens (client_id) WHERE used = 0;",
    NULL
};

//  The same data on PostgreSQL, whose history starts later: entry 1 is the
//  schema of every SQLite entry above together. Integers are BIGINT (the
//  Unix-ms times need 64 bits), blobs BYTEA; the identities stand in for
//  SQLite's rowid. Keys that are compared or sorted as text use the "C"
//  collation: byte order, as SQLite's BINARY, whatever the database's locale.
static const char *const s_pg_migrations [] = {
    //  1: SQLite's 1 and 2
    "CREATE TABLE factors ("
    "  name TEXT PRIMARY KEY, enabled BIGINT NOT NULL, position BIGINT NOT NULL);"
    "INSERT INTO factors (name, enabled, position) VALUES"
    "  ('email', 0, 1), ('otp', 0, 2), ('recovery-code', 1, 3), ('sms', 0, 4),"
    "  ('push-notification', 0, 5), ('duo', 0, 6), ('webauthn-roaming', 0, 7),"
    "  ('webauthn-platform', 0, 8);"
    "CREATE TABLE policies (name TEXT COLLATE \"C\" PRIMARY KEY);"
    "INSERT INTO policies (name) VALUES ('all-applications');"
    "CREATE TABLE mfa_tokens ("
    "  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT,"
    "  client_id TEXT NOT NULL, client_name TEXT, audience TEXT, scope TEXT,"
    "  expires_at BIGINT NOT NULL, used BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX mfa_tokens_expires ON mfa_tokens (expires_at);"
    "CREATE TABLE authenticators ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY, user_id TEXT NOT NULL, type TEXT NOT NULL,"
    "  email TEXT, active BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
    "CREATE INDEX authenticators_user ON authenticators (user_id, type);"
    "CREATE TABLE recovery_codes ("
    "  user_id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE TABLE challenges ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  oob_hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,"
    "  authenticator_id TEXT NOT NULL, token_hash TEXT NOT NULL, code_hmac TEXT NOT NULL,"
    "  attempts BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('sending', 'pending', 'used', 'superseded', 'void')),"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX challenges_authenticator ON challenges (authenticator_id, state);"
    "CREATE INDEX challenges_expires ON challenges (expires_at);"
    "CREATE TABLE buckets ("
    "  user_id TEXT NOT NULL, kind TEXT NOT NULL, level BIGINT NOT NULL,"
    "  stamp BIGINT NOT NULL, PRIMARY KEY (user_id, kind));"
    "CREATE TABLE mail_jobs ("
    "  job_id TEXT PRIMARY KEY, challenge_id BIGINT, user_id TEXT, state TEXT NOT NULL,"
    "  detail TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX mail_jobs_created ON mail_jobs (created_at);"
    "CREATE TABLE audit ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, type TEXT NOT NULL,"
    "  user_id TEXT, client_id TEXT, ip TEXT, result TEXT NOT NULL, detail TEXT,"
    "  created_at TEXT COLLATE \"C\" NOT NULL);"
    "CREATE INDEX audit_user ON audit (user_id, type);"
    "CREATE TABLE reply_cache ("
    "  request_id TEXT NOT NULL, op TEXT NOT NULL, sealed BYTEA,"
    "  created_at BIGINT NOT NULL, PRIMARY KEY (request_id, op));"
    "CREATE INDEX reply_cache_created ON reply_cache (created_at);"
    "CREATE INDEX audit_created ON audit (created_at);",
    //  2: SQLite's 3 (otp authenticators)
    "ALTER TABLE authenticators ADD COLUMN secret BYTEA;"
    "ALTER TABLE authenticators ADD COLUMN last_step BIGINT NOT NULL DEFAULT -1;"
    "ALTER TABLE mfa_tokens ADD COLUMN otp_attempts BIGINT NOT NULL DEFAULT 0;",
    //  3: SQLite's 4 (email templates and provider)
    "CREATE TABLE email_templates ("
    "  name TEXT COLLATE \"C\" PRIMARY KEY, document TEXT NOT NULL,"
    "  generation BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE TABLE email_provider ("
    "  id BIGINT PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL, password BYTEA,"
    "  generation BIGINT NOT NULL, updated_at BIGINT NOT NULL);",
    //  4: SQLite's 5 (the client's credentials on the mfa_token)
    "ALTER TABLE mfa_tokens ADD COLUMN client_auth_method TEXT;"
    "ALTER TABLE mfa_tokens ADD COLUMN client_secret_hash TEXT;"
    "CREATE INDEX mfa_tokens_client ON mfa_tokens (client_id) WHERE used = 0;",
    NULL
};

const pst_sql_schema_t mfa_store_schema = { "mfa", s_migrations, s_pg_migrations };

//  WAL frames after which a commit checkpoints them into mfa.db (SQLite's
//  default is 1,000). A checkpoint copies each page once however many frames
//  hold it, and the writer's commits keep dirtying the same leaves (the tails
//  of the time-ordered indexes, the users' buckets): at 1,000 it copied about a
//  third of the frames, every 40 challenges or so. The WAL then grows to about
//  16 MiB before it starts over, a size SQLite keeps.
#define MFA_STORE_WAL_CHECKPOINT_FRAMES     4000

//  Every unit of the writer's batches runs in a savepoint, whose journal SQLite
//  spills to a temporary file past 64 KiB: under load a system call or more a
//  challenge. Kept in memory, it is bounded by the pages one batch changes.
#define MFA_STORE_SQLITE_SETTINGS \
    "PRAGMA wal_autocheckpoint=%d; PRAGMA temp_store=MEMORY;"

mfa_store_t *
mfa_store_new (const char *location)
{
    mfa_store_t *self = (mfa_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sql = pst_sql_open (location, &mfa_store_schema);
    char settings [80];
    snprintf (settings, sizeof settings, MFA_STORE_SQLITE_SETTINGS,
              MFA_STORE_WAL_CHECKPOINT_FRAMES);
    if (self->sql && pst_sql_engine (self->sql) == PST_SQL_SQLITE
    &&  pst_sql_exec (self->sql, settings) != 0)
        pst_sql_close (&self->sql);
    if (!self->sql)
        mfa_store_destroy (&self);
    return self;
}

int
mfa_store_cache_pages (mfa_store_t *self, int kib)
{
    if (pst_sql_engine (self->sql) != PST_SQL_SQLITE)
        return 0;
    char pragma [48];
    //  A negative size is in KiB, a positive one in pages
    snprintf (pragma, sizeof pragma, "PRAGMA cache_size=-%d", kib > 0? kib: 1);
    return pst_sql_exec (self->sql, pragma);
}

void
mfa_store_destroy (mfa_store_t **self_p)
{
    if (self_p && *self_p) {
        mfa_store_t *self = *self_p;
        pst_sql_close (&self->sql);
        free (self);
        *self_p = NULL;
    }
}

int
mfa_store_begin (mfa_store_t *self)
{
    self->failed = false;
    return pst_sql_begin (self->sql);
}

int
mfa_store_commit (mfa_store_t *self)
{
    self->failed = false;
    return pst_sql_commit (self->sql);
}

int
mfa_store_rollback (mfa_store_t *self)
{
    self->failed = false;
    return pst_sql_rollback (self->sql);
}

int
mfa_store_read_begin (mfa_store_t *self)
{
    //  Never inside another transaction: its end is its owner's
    if (pst_sql_engine (self->sql) != PST_SQL_SQLITE || self->reading
    ||  pst_sql_in_transaction (self->sql))
        return -1;
    self->reading = mfa_store_sql_run (self, "BEGIN", "") >= 0;
    return self->reading? 0: -1;
}

void
mfa_store_read_end (mfa_store_t *self)
{
    if (!self->reading)
        return;
    self->reading = false;
    if (pst_sql_in_transaction (self->sql) && mfa_store_sql_run (self, "COMMIT", "") < 0
    &&  pst_sql_rollback (self->sql) != 0)
        pst_log (PST_LOG_ERROR, "db_read_not_ended", NULL);
    //  A read that failed in it failed nothing that follows
    self->failed = false;
}

int
mfa_store_in_transaction (mfa_store_t *self)
{
    //  After a failed statement PostgreSQL's transaction can only roll back:
    //  whatever runs in it now is lost, as it is after SQLite ended one
    return pst_sql_in_transaction (self->sql)
        && !(self->failed && pst_sql_engine (self->sql) == PST_SQL_POSTGRES);
}

int
mfa_store_savepoint (mfa_store_t *self)
{
    return mfa_store_sql_run (self, "SAVEPOINT unit", "") < 0? -1: 0;
}

int
mfa_store_release (mfa_store_t *self)
{
    return mfa_store_sql_run (self, "RELEASE unit", "") < 0? -1: 0;
}

int
mfa_store_rollback_to (mfa_store_t *self)
{
    //  Brings a PostgreSQL transaction that a statement of the unit aborted back
    //  to life: it goes on from the savepoint
    if (pst_sql_run (self->sql, "ROLLBACK TO unit", "") < 0
    ||  pst_sql_run (self->sql, "RELEASE unit", "") < 0)
        return -1;
    self->failed = false;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Pruning

int
mfa_store_prune (mfa_store_t *self, int64_t now, int audit_retention_days)
{
    const int64_t day_ms = 24 * 3600 * 1000LL;
    //  One transaction: one write lock and one commit for all of it
    if (mfa_store_begin (self))
        return -1;
    //  Stops at the first failure: on PostgreSQL the rest could only fail too.
    //  At most MFA_PRUNE_BATCH rows a table each time, oldest first, so that a
    //  backlog (a day of a million sign-ins, a prune after a long pause) is
    //  worked off over several prunes instead of holding the write lock for
    //  one long delete while challenges wait
    int rc = mfa_store_sql_run (self,
        "DELETE FROM mfa_tokens WHERE token_hash IN (SELECT token_hash FROM mfa_tokens"
        " WHERE expires_at < ? ORDER BY expires_at LIMIT ?)", "in",
        now - day_ms, MFA_PRUNE_BATCH) < 0
          || mfa_store_sql_run (self,
        "DELETE FROM challenges WHERE id IN (SELECT id FROM challenges"
        " WHERE expires_at < ? ORDER BY expires_at LIMIT ?)", "in",
        now - day_ms, MFA_PRUNE_BATCH) < 0
          || mfa_store_sql_run (self,
        "DELETE FROM mail_jobs WHERE job_id IN (SELECT job_id FROM mail_jobs"
        " WHERE created_at < ? ORDER BY created_at LIMIT ?)", "in",
        now - 7 * day_ms, MFA_PRUNE_BATCH) < 0
          || mfa_store_sql_run (self,
        "DELETE FROM reply_cache WHERE (request_id, op) IN (SELECT request_id, op"
        " FROM reply_cache WHERE created_at < ? ORDER BY created_at LIMIT ?)", "in",
        now - day_ms, MFA_PRUNE_BATCH) < 0;
    if (rc == 0 && audit_retention_days > 0) {
        //  Audit times are fixed-width UTC text, which sorts as the instants do
        char cutoff [MFA_ISO8601_SIZE];
        mfa_store_iso8601 (now - audit_retention_days * day_ms, cutoff);
        rc = mfa_store_sql_run (self,
            "DELETE FROM audit WHERE id IN"
            " (SELECT id FROM audit WHERE created_at < ? ORDER BY created_at LIMIT ?)",
            "tn", cutoff, MFA_PRUNE_BATCH) < 0;
    }
    if (rc == 0 && mfa_store_commit (self) == 0)
        return 0;
    mfa_store_rollback (self);
    return -1;
}
