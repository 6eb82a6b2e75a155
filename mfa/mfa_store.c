#include "mfa_store.h"
#include "pst_crypto.h"
#include "pst_db.h"
#include "pst_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct _mfa_store_t {
    sqlite3 *db;
};

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
    NULL
};

mfa_store_t *
mfa_store_new (const char *path)
{
    mfa_store_t *self = (mfa_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = pst_db_open (path, s_migrations);
    if (!self->db)
        mfa_store_destroy (&self);
    return self;
}

void
mfa_store_destroy (mfa_store_t **self_p)
{
    if (self_p && *self_p) {
        mfa_store_t *self = *self_p;
        if (self->db)
            pst_db_close (&self->db);
        free (self);
        *self_p = NULL;
    }
}

int
mfa_store_begin (mfa_store_t *self)
{
    return pst_db_begin (self->db);
}

int
mfa_store_commit (mfa_store_t *self)
{
    return pst_db_commit (self->db);
}

int
mfa_store_rollback (mfa_store_t *self)
{
    return pst_db_rollback (self->db);
}

//  ---------------------------------------------------------------------------
//  Statement helpers. format has one letter per parameter: 't' text (NULL binds
//  null), 'i' int64_t, 'n' int, 'b' blob (pointer then size_t).

static sqlite3_stmt *
s_vprepare (mfa_store_t *self, const char *sql, const char *format, va_list args)
{
    sqlite3_stmt *stmt = pst_db_prepare (self->db, sql);
    if (!stmt)
        return NULL;
    int rc = SQLITE_OK;
    for (int index = 1; format && format [index - 1] && rc == SQLITE_OK; index++) {
        switch (format [index - 1]) {
            case 't': {
                const char *text = va_arg (args, const char *);
                rc = text? sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT)
                         : sqlite3_bind_null (stmt, index);
                break;
            }
            case 'i':
                rc = sqlite3_bind_int64 (stmt, index, va_arg (args, int64_t));
                break;
            case 'n':
                rc = sqlite3_bind_int (stmt, index, va_arg (args, int));
                break;
            case 'b': {
                const void *data = va_arg (args, const void *);
                size_t size = va_arg (args, size_t);
                rc = sqlite3_bind_blob (stmt, index, data, (int) size, SQLITE_TRANSIENT);
                break;
            }
            default:
                rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        pst_log (PST_LOG_ERROR, "db_bind_failed", "reason", sqlite3_errmsg (self->db), NULL);
        sqlite3_finalize (stmt);
        return NULL;
    }
    return stmt;
}

//  Prepared and bound statement; the caller steps and finalizes it.
static sqlite3_stmt *
s_query (mfa_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = s_vprepare (self, sql, format, args);
    va_end (args);
    return stmt;
}

//  Runs a statement without results; rows changed, or -1.
static int
s_run (mfa_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = s_vprepare (self, sql, format, args);
    va_end (args);
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        pst_log (PST_LOG_ERROR, "db_statement_failed", "reason", sqlite3_errmsg (self->db), NULL);
        return -1;
    }
    return sqlite3_changes (self->db);
}

//  Steps a one-row query: 1 row, 0 none, -1 error (logged).
static int
s_step (mfa_store_t *self, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    pst_log (PST_LOG_ERROR, "db_query_failed", "reason", sqlite3_errmsg (self->db), NULL);
    return -1;
}

//  Integer result of a one-row query, or dflt when no row; -1 on error.
static int64_t
s_scalar (mfa_store_t *self, int64_t dflt, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = s_vprepare (self, sql, format, args);
    va_end (args);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    int64_t value = rc == 1? sqlite3_column_int64 (stmt, 0): rc == 0? dflt: -1;
    sqlite3_finalize (stmt);
    return value;
}

static json_t *
s_column_json (sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    return text? json_string ((const char *) text): json_null ();
}

static void
s_column_copy (sqlite3_stmt *stmt, int column, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    snprintf (out, size, "%s", text? (const char *) text: "");
}

//  ---------------------------------------------------------------------------
//  Factors and policies

int
mfa_store_factor_enabled (mfa_store_t *self, const char *name)
{
    int64_t enabled = s_scalar (self, -1, "SELECT enabled FROM factors WHERE name = ?", "t", name);
    return enabled < 0? -1: enabled? 1: 0;
}

int
mfa_store_factor_set (mfa_store_t *self, const char *name, int enabled)
{
    int changes = s_run (self, "UPDATE factors SET enabled = ? WHERE name = ?",
                         "nt", enabled? 1: 0, name);
    return changes == 1? 0: -1;
}

json_t *
mfa_store_factors (mfa_store_t *self)
{
    sqlite3_stmt *stmt = s_query (self, "SELECT name, enabled FROM factors ORDER BY position", "");
    if (!stmt)
        return NULL;
    json_t *factors = json_array ();
    int rc;
    while ((rc = s_step (self, stmt)) == 1)
        json_array_append_new (factors, json_pack ("{s:o, s:b}",
            "name", s_column_json (stmt, 0), "enabled", sqlite3_column_int (stmt, 1)));
    sqlite3_finalize (stmt);
    if (rc < 0)
        json_decref (factors);
    return rc < 0? NULL: factors;
}

json_t *
mfa_store_policies (mfa_store_t *self)
{
    sqlite3_stmt *stmt = s_query (self, "SELECT name FROM policies ORDER BY name", "");
    if (!stmt)
        return NULL;
    json_t *policies = json_array ();
    int rc;
    while ((rc = s_step (self, stmt)) == 1)
        json_array_append_new (policies, s_column_json (stmt, 0));
    sqlite3_finalize (stmt);
    if (rc < 0)
        json_decref (policies);
    return rc < 0? NULL: policies;
}

int
mfa_store_policies_set (mfa_store_t *self, const json_t *names)
{
    if (!json_is_array (names) || s_run (self, "DELETE FROM policies", "") < 0)
        return -1;
    size_t index;
    json_t *name;
    json_array_foreach (names, index, name) {
        if (!json_is_string (name)
        ||  s_run (self, "INSERT OR IGNORE INTO policies (name) VALUES (?)",
                   "t", json_string_value (name)) < 0)
            return -1;
    }
    return 0;
}

int
mfa_store_policy_has (mfa_store_t *self, const char *name)
{
    return (int) s_scalar (self, 0, "SELECT 1 FROM policies WHERE name = ?", "t", name);
}

//  ---------------------------------------------------------------------------
//  mfa_tokens

static const char *
s_field (const json_t *fields, const char *key)
{
    return json_string_value (json_object_get (fields, key));
}

int
mfa_store_token_insert (mfa_store_t *self, const char *token_hash, const json_t *fields,
                        int64_t expires_at, int64_t now)
{
    int changes = s_run (self,
        "INSERT INTO mfa_tokens (token_hash, user_id, email, client_id, client_name,"
        " audience, scope, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "tttttttii", token_hash, s_field (fields, "user_id"), s_field (fields, "email"),
        s_field (fields, "client_id"), s_field (fields, "client_name"),
        s_field (fields, "audience"), s_field (fields, "scope"), expires_at, now);
    return changes == 1? 0: -1;
}

json_t *
mfa_store_token_get (mfa_store_t *self, const char *token_hash)
{
    sqlite3_stmt *stmt = s_query (self,
        "SELECT user_id, email, client_id, client_name, audience, scope, expires_at, used"
        " FROM mfa_tokens WHERE token_hash = ?", "t", token_hash);
    if (!stmt)
        return NULL;
    json_t *token = NULL;
    if (s_step (self, stmt) == 1)
        token = json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b}",
            "user_id", s_column_json (stmt, 0), "email", s_column_json (stmt, 1),
            "client_id", s_column_json (stmt, 2), "client_name", s_column_json (stmt, 3),
            "audience", s_column_json (stmt, 4), "scope", s_column_json (stmt, 5),
            "expires_at", (json_int_t) sqlite3_column_int64 (stmt, 6),
            "used", sqlite3_column_int (stmt, 7));
    sqlite3_finalize (stmt);
    return token;
}

int
mfa_store_token_use (mfa_store_t *self, const char *token_hash)
{
    return s_run (self, "UPDATE mfa_tokens SET used = 1 WHERE token_hash = ? AND used = 0",
                  "t", token_hash);
}

//  ---------------------------------------------------------------------------
//  Authenticators and recovery codes

json_t *
mfa_store_authenticators (mfa_store_t *self, const char *user_id)
{
    sqlite3_stmt *stmt = s_query (self,
        "SELECT id, type, email, active, created_at FROM authenticators WHERE user_id = ?"
        " ORDER BY created_at, id", "t", user_id);
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc;
    while ((rc = s_step (self, stmt)) == 1)
        json_array_append_new (list, json_pack ("{s:o, s:o, s:o, s:b, s:I}",
            "id", s_column_json (stmt, 0), "type", s_column_json (stmt, 1),
            "email", s_column_json (stmt, 2), "active", sqlite3_column_int (stmt, 3),
            "created_at", (json_int_t) sqlite3_column_int64 (stmt, 4)));
    sqlite3_finalize (stmt);
    if (rc < 0)
        json_decref (list);
    return rc < 0? NULL: list;
}

int
mfa_store_has_active (mfa_store_t *self, const char *user_id, const char *type)
{
    return (int) s_scalar (self, 0,
        "SELECT 1 FROM authenticators WHERE user_id = ? AND active = 1"
        " AND (?2 IS NULL OR type = ?2) LIMIT 1", "tt", user_id, type);
}

int
mfa_store_has_second_factor (mfa_store_t *self, const char *user_id)
{
    return (int) s_scalar (self, 0,
        "SELECT 1 FROM authenticators WHERE user_id = ? AND active = 1"
        " AND type != 'recovery-code' LIMIT 1", "t", user_id);
}

int
mfa_store_authenticator_insert (mfa_store_t *self, const char *id, const char *user_id,
                                const char *type, const char *email, int active, int64_t now)
{
    int changes = s_run (self,
        "INSERT INTO authenticators (id, user_id, type, email, active, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", "ttttni", id, user_id, type, email, active? 1: 0, now);
    return changes == 1? 0: -1;
}

int
mfa_store_authenticator_drop_inactive (mfa_store_t *self, const char *user_id, const char *type)
{
    if (s_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND authenticator_id IN (SELECT id FROM authenticators"
        "   WHERE user_id = ? AND type = ? AND active = 0)", "tt", user_id, type) < 0)
        return -1;
    return s_run (self, "DELETE FROM authenticators WHERE user_id = ? AND type = ? AND active = 0",
                  "tt", user_id, type) < 0? -1: 0;
}

int
mfa_store_authenticator_delete (mfa_store_t *self, const char *user_id, const char *id)
{
    //  A code already mailed for it must not complete a sign-in any more
    if (s_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND authenticator_id = ? AND user_id = ?", "tt", id, user_id) < 0)
        return -1;
    sqlite3_stmt *stmt = s_query (self,
        "DELETE FROM authenticators WHERE id = ? AND user_id = ? RETURNING type",
        "tt", id, user_id);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    int recovery = rc == 1 && sqlite3_column_text (stmt, 0)
                && strcmp ((const char *) sqlite3_column_text (stmt, 0), "recovery-code") == 0;
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && sqlite3_step (stmt) != SQLITE_DONE)
        rc = -1;
    sqlite3_finalize (stmt);
    if (rc == 1 && recovery
    &&  s_run (self, "DELETE FROM recovery_codes WHERE user_id = ?", "t", user_id) < 0)
        rc = -1;
    return rc;
}

int
mfa_store_authenticators_delete_all (mfa_store_t *self, const char *user_id)
{
    if (s_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND user_id = ?", "t", user_id) < 0
    ||  s_run (self, "DELETE FROM recovery_codes WHERE user_id = ?", "t", user_id) < 0)
        return -1;
    return s_run (self, "DELETE FROM authenticators WHERE user_id = ?", "t", user_id);
}

int
mfa_store_authenticator_activate (mfa_store_t *self, const char *user_id, const char *id)
{
    int changes = s_run (self,
        "UPDATE authenticators SET active = 1 WHERE id = ? AND user_id = ? AND active = 0",
        "tt", id, user_id);
    if (changes < 0
    ||  s_run (self, "UPDATE authenticators SET active = 1"
                     " WHERE user_id = ? AND type = 'recovery-code'", "t", user_id) < 0)
        return -1;
    return changes > 0? 1: 0;
}

int
mfa_store_recovery_set (mfa_store_t *self, const char *user_id, const char *code_hash, int64_t now)
{
    return s_run (self,
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash,"
        " created_at = excluded.created_at", "tti", user_id, code_hash, now) == 1? 0: -1;
}

int
mfa_store_recovery_check (mfa_store_t *self, const char *user_id, const char *code_hash)
{
    sqlite3_stmt *stmt = s_query (self,
        "SELECT code_hash FROM recovery_codes WHERE user_id = ?", "t", user_id);
    if (!stmt)
        return -1;
    int match = 0;
    int rc = s_step (self, stmt);
    if (rc == 1) {
        const char *stored = (const char *) sqlite3_column_text (stmt, 0);
        match = stored && strlen (stored) == 64 && strlen (code_hash) == 64
             && pst_ct_equal (stored, code_hash, 64);
    }
    sqlite3_finalize (stmt);
    return rc < 0? -1: match;
}

//  ---------------------------------------------------------------------------
//  Challenges

int64_t
mfa_store_challenge_insert (mfa_store_t *self, const char *oob_hash, const char *user_id,
                            const char *authenticator_id, const char *token_hash,
                            const char *code_hmac, int64_t expires_at, int64_t now)
{
    int changes = s_run (self,
        "INSERT INTO challenges (oob_hash, user_id, authenticator_id, token_hash, code_hmac,"
        " expires_at, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)",
        "tttttii", oob_hash, user_id, authenticator_id, token_hash, code_hmac, expires_at, now);
    return changes == 1? sqlite3_last_insert_rowid (self->db): -1;
}

int
mfa_store_challenge_get (mfa_store_t *self, const char *oob_hash, mfa_challenge_t *challenge)
{
    sqlite3_stmt *stmt = s_query (self,
        "SELECT id, user_id, authenticator_id, state, expires_at, attempts, token_hash"
        " FROM challenges WHERE oob_hash = ?", "t", oob_hash);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    if (rc == 1) {
        challenge->id = sqlite3_column_int64 (stmt, 0);
        s_column_copy (stmt, 1, challenge->user_id, sizeof challenge->user_id);
        s_column_copy (stmt, 2, challenge->authenticator_id, sizeof challenge->authenticator_id);
        s_column_copy (stmt, 3, challenge->state, sizeof challenge->state);
        challenge->expires_at = sqlite3_column_int64 (stmt, 4);
        challenge->attempts = sqlite3_column_int (stmt, 5);
        s_column_copy (stmt, 6, challenge->token_hash, sizeof challenge->token_hash);
    }
    sqlite3_finalize (stmt);
    return rc;
}

int
mfa_store_challenge_move (mfa_store_t *self, int64_t id, const char *from, const char *to)
{
    return s_run (self, "UPDATE challenges SET state = ? WHERE id = ? AND state = ?",
                  "tit", to, id, from);
}

int
mfa_store_challenge_supersede (mfa_store_t *self, const char *authenticator_id, int64_t except_id)
{
    return s_run (self,
        "UPDATE challenges SET state = 'superseded'"
        " WHERE authenticator_id = ? AND state = 'pending' AND id != ?",
        "ti", authenticator_id, except_id);
}

int
mfa_store_challenge_attempt (mfa_store_t *self, int64_t id, int max, int64_t now,
                             char code_hmac [65])
{
    //  The one statement that decides an attempt: concurrent guesses cannot
    //  both see attempts < max (S4)
    sqlite3_stmt *stmt = s_query (self,
        "UPDATE challenges SET attempts = attempts + 1"
        " WHERE id = ? AND state = 'pending' AND attempts < ? AND expires_at > ?"
        " RETURNING code_hmac", "ini", id, max, now);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    if (rc == 1)
        s_column_copy (stmt, 0, code_hmac, 65);
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && sqlite3_step (stmt) != SQLITE_DONE)
        rc = -1;
    sqlite3_finalize (stmt);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Buckets

void
mfa_bucket_advance (const mfa_bucket_rule_t *rule, int *level, int64_t *stamp, int64_t now)
{
    if (*level >= rule->capacity) {
        //  A full bucket starts counting its refill at the next take
        *level = rule->capacity;
        *stamp = now;
        return;
    }
    if (*level < 0)
        *level = 0;
    if (now <= *stamp || rule->refill_ms <= 0)
        return;
    int64_t gained = (now - *stamp) / rule->refill_ms;
    if (gained <= 0)
        return;
    if (*level + gained >= rule->capacity) {
        *level = rule->capacity;
        *stamp = now;
    }
    else {
        *level += (int) gained;
        *stamp += gained * rule->refill_ms;
    }
}

static int
s_retry_after (const mfa_bucket_rule_t *rule, int64_t stamp, int64_t now)
{
    int64_t wait_ms = stamp + rule->refill_ms - now;
    int64_t seconds = (wait_ms + 999) / 1000;
    return seconds < 1? 1: (int) seconds;
}

//  Reads the bucket brought forward to now; 0, or -1 on error.
static int
s_bucket_read (mfa_store_t *self, const char *user_id, const char *kind,
               const mfa_bucket_rule_t *rule, int64_t now, int *level, int64_t *stamp)
{
    sqlite3_stmt *stmt = s_query (self,
        "SELECT level, stamp FROM buckets WHERE user_id = ? AND kind = ?", "tt", user_id, kind);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    *level = rc == 1? sqlite3_column_int (stmt, 0): rule->capacity;
    *stamp = rc == 1? sqlite3_column_int64 (stmt, 1): now;
    sqlite3_finalize (stmt);
    if (rc < 0)
        return -1;
    mfa_bucket_advance (rule, level, stamp, now);
    return 0;
}

static int
s_bucket_write (mfa_store_t *self, const char *user_id, const char *kind, int level, int64_t stamp)
{
    return s_run (self,
        "INSERT INTO buckets (user_id, kind, level, stamp) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, kind) DO UPDATE SET level = excluded.level,"
        " stamp = excluded.stamp", "ttni", user_id, kind, level, stamp) == 1? 0: -1;
}

int
mfa_store_bucket_level (mfa_store_t *self, const char *user_id, const char *kind,
                        const mfa_bucket_rule_t *rule, int64_t now, int *retry_after_s)
{
    int level;
    int64_t stamp;
    if (s_bucket_read (self, user_id, kind, rule, now, &level, &stamp))
        return -1;
    if (retry_after_s)
        *retry_after_s = level > 0? 0: s_retry_after (rule, stamp, now);
    return level;
}

int
mfa_store_bucket_take (mfa_store_t *self, const char *user_id, const char *kind,
                       const mfa_bucket_rule_t *rule, int64_t now, int *retry_after_s)
{
    int level;
    int64_t stamp;
    if (s_bucket_read (self, user_id, kind, rule, now, &level, &stamp))
        return -1;
    if (level <= 0) {
        if (retry_after_s)
            *retry_after_s = s_retry_after (rule, stamp, now);
        return 0;
    }
    if (retry_after_s)
        *retry_after_s = 0;
    return s_bucket_write (self, user_id, kind, level - 1, stamp) == 0? 1: -1;
}

int
mfa_store_bucket_fill (mfa_store_t *self, const char *user_id, const char *kind,
                       const mfa_bucket_rule_t *rule, int64_t now)
{
    return s_bucket_write (self, user_id, kind, rule->capacity, now);
}

//  ---------------------------------------------------------------------------
//  Mail jobs

int
mfa_store_job_insert (mfa_store_t *self, const char *job_id, int64_t challenge_id,
                      const char *user_id, const char *state, int64_t now)
{
    return s_run (self,
        "INSERT INTO mail_jobs (job_id, challenge_id, user_id, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", "tittii", job_id, challenge_id, user_id, state,
        now, now) == 1? 0: -1;
}

int
mfa_store_job_update (mfa_store_t *self, const char *job_id, const char *state,
                      const char *detail, int64_t now, char **user_id_p)
{
    if (user_id_p)
        *user_id_p = NULL;
    sqlite3_stmt *stmt = s_query (self,
        "UPDATE mail_jobs SET state = ?, detail = ?, updated_at = ? WHERE job_id = ?"
        " RETURNING user_id", "ttit", state, detail, now, job_id);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    if (rc == 1 && user_id_p)
        *user_id_p = pst_db_column_strdup (stmt, 0);
    if (rc == 1 && sqlite3_step (stmt) != SQLITE_DONE)
        rc = -1;
    sqlite3_finalize (stmt);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Audit

void
mfa_store_iso8601 (int64_t ms, char out [MFA_ISO8601_SIZE])
{
    if (ms < 0)
        ms = 0;
    time_t seconds = (time_t) (ms / 1000);
    struct tm utc;
    size_t size = gmtime_r (&seconds, &utc)
                ? strftime (out, MFA_ISO8601_SIZE, "%Y-%m-%dT%H:%M:%S", &utc): 0;
    if (size == 0)
        size = (size_t) snprintf (out, MFA_ISO8601_SIZE, "1970-01-01T00:00:00");
    snprintf (out + size, MFA_ISO8601_SIZE - size, ".%03dZ", (int) (ms % 1000));
}

int
mfa_store_audit (mfa_store_t *self, const mfa_audit_t *event, int64_t now)
{
    char stamp [MFA_ISO8601_SIZE];
    mfa_store_iso8601 (now, stamp);
    return s_run (self,
        "INSERT INTO audit (type, user_id, client_id, ip, result, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", "ttttttt", event->type, event->user_id,
        event->client_id, event->ip, event->result? event->result: "success",
        event->detail, stamp) == 1? 0: -1;
}

int
mfa_store_audit_count (mfa_store_t *self, const char *type, const char *user_id)
{
    return (int) s_scalar (self, 0,
        "SELECT count(*) FROM audit WHERE (?1 IS NULL OR type = ?1)"
        " AND (?2 IS NULL OR user_id = ?2)", "tt", type, user_id);
}

//  ---------------------------------------------------------------------------
//  Reply cache

int
mfa_store_reply_claim (mfa_store_t *self, const char *request_id, const char *op,
                       int64_t now, int64_t stale_ms)
{
    int changes = s_run (self,
        "INSERT INTO reply_cache (request_id, op, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (request_id, op) DO UPDATE SET created_at = excluded.created_at"
        " WHERE reply_cache.sealed IS NULL AND reply_cache.created_at < ?", "ttii", request_id, op, now, now - stale_ms);
    return changes < 0? -1: changes > 0? 1: 0;
}

int
mfa_store_reply_lookup (mfa_store_t *self, const char *request_id, const char *op,
                        uint8_t **sealed_p, size_t *size_p)
{
    *sealed_p = NULL;
    *size_p = 0;
    sqlite3_stmt *stmt = s_query (self,
        "SELECT sealed FROM reply_cache WHERE request_id = ? AND op = ?", "tt", request_id, op);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    if (rc == 1 && sqlite3_column_type (stmt, 0) == SQLITE_BLOB) {
        int size = sqlite3_column_bytes (stmt, 0);
        *sealed_p = (uint8_t *) malloc (size > 0? (size_t) size: 1);
        if (*sealed_p) {
            memcpy (*sealed_p, sqlite3_column_blob (stmt, 0), (size_t) size);
            *size_p = (size_t) size;
        }
        rc = *sealed_p? 1: -1;
    }
    else
    if (rc == 1)
        rc = 0;             //  claimed, still running
    else
    if (rc == 0)
        rc = -2;            //  never claimed, or released
    sqlite3_finalize (stmt);
    return rc;
}

int
mfa_store_reply_save (mfa_store_t *self, const char *request_id, const char *op,
                      const uint8_t *sealed, size_t size)
{
    return s_run (self, "UPDATE reply_cache SET sealed = ? WHERE request_id = ? AND op = ?",
                  "btt", sealed, size, request_id, op) == 1? 0: -1;
}

int
mfa_store_reply_release (mfa_store_t *self, const char *request_id, const char *op)
{
    return s_run (self,
        "DELETE FROM reply_cache WHERE request_id = ? AND op = ? AND sealed IS NULL",
        "tt", request_id, op) < 0? -1: 0;
}

int
mfa_store_prune (mfa_store_t *self, int64_t now, int audit_retention_days)
{
    const int64_t day_ms = 24 * 3600 * 1000LL;
    //  One transaction: one write lock and one commit for all of it
    if (mfa_store_begin (self))
        return -1;
    int rc = 0;
    rc |= s_run (self, "DELETE FROM mfa_tokens WHERE expires_at < ?", "i", now - day_ms) < 0;
    rc |= s_run (self, "DELETE FROM challenges WHERE expires_at < ?", "i", now - day_ms) < 0;
    rc |= s_run (self, "DELETE FROM mail_jobs WHERE created_at < ?", "i", now - 7 * day_ms) < 0;
    rc |= s_run (self, "DELETE FROM reply_cache WHERE created_at < ?", "i", now - day_ms) < 0;
    if (audit_retention_days > 0) {
        //  Audit times are fixed-width UTC text, which sorts as the instants do
        char cutoff [MFA_ISO8601_SIZE];
        mfa_store_iso8601 (now - audit_retention_days * day_ms, cutoff);
        rc |= s_run (self,
            "DELETE FROM audit WHERE id IN"
            " (SELECT id FROM audit WHERE created_at < ? ORDER BY created_at LIMIT ?)",
            "tn", cutoff, MFA_AUDIT_PRUNE_BATCH) < 0;
    }
    if (rc == 0 && mfa_store_commit (self) == 0)
        return 0;
    mfa_store_rollback (self);
    return -1;
}

//  ---------------------------------------------------------------------------
//  Mail checks

int
mfa_store_job_live (mfa_store_t *self, const char *job_id, int64_t now)
{
    //  A challenge still 'sending' counts: its worker may not have committed it
    //  as pending yet when a mailer's first retry asks
    sqlite3_stmt *stmt = s_query (self,
        "SELECT 1 FROM mail_jobs JOIN challenges ON challenges.id = mail_jobs.challenge_id"
        " WHERE mail_jobs.job_id = ? AND challenges.state IN ('sending', 'pending')"
        " AND challenges.expires_at > ?", "ti", job_id, now);
    if (!stmt)
        return -1;
    int rc = s_step (self, stmt);
    sqlite3_finalize (stmt);
    return rc;
}
