//  mfa_store: a user's authenticators and recovery code.
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include "pst_crypto.h"
#include <string.h>

//  ---------------------------------------------------------------------------
//  Authenticators and recovery codes

json_t *
mfa_store_authenticators (mfa_store_t *self, const char *user_id)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT id, type, email, active, created_at FROM authenticators WHERE user_id = ?"
        " ORDER BY created_at, id", "t", user_id);
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc;
    while ((rc = mfa_store_sql_step (self, stmt)) == 1)
        json_array_append_new (list, json_pack ("{s:o, s:o, s:o, s:b, s:I}",
            "id", mfa_store_sql_json (stmt, 0), "type", mfa_store_sql_json (stmt, 1),
            "email", mfa_store_sql_json (stmt, 2), "active", (int) pst_sql_int64 (stmt, 3),
            "created_at", (json_int_t) pst_sql_int64 (stmt, 4)));
    pst_sql_done (stmt);
    if (rc < 0)
        json_decref (list);
    return rc < 0? NULL: list;
}

int
mfa_store_has_active (mfa_store_t *self, const char *user_id, const char *type)
{
    return (int) mfa_store_sql_scalar (self, 0,
        "SELECT 1 FROM authenticators WHERE user_id = ? AND active = 1"
        " AND (CAST(?2 AS TEXT) IS NULL OR type = ?2) LIMIT 1", "tt", user_id, type);
}

int
mfa_store_has_second_factor (mfa_store_t *self, const char *user_id)
{
    return (int) mfa_store_sql_scalar (self, 0,
        "SELECT 1 FROM authenticators WHERE user_id = ? AND active = 1"
        " AND type != 'recovery-code' LIMIT 1", "t", user_id);
}

int
mfa_store_authenticator_insert (mfa_store_t *self, const char *id, const char *user_id,
                                const char *type, const char *email, int active, int64_t now)
{
    int changes = mfa_store_sql_run (self,
        "INSERT INTO authenticators (id, user_id, type, email, active, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", "ttttni", id, user_id, type, email, active? 1: 0, now);
    return changes == 1? 0: -1;
}

int
mfa_store_authenticator_exists (mfa_store_t *self, const char *id)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT 1 FROM authenticators WHERE id = ?", "t", id);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    pst_sql_done (stmt);
    return rc;
}

int
mfa_store_authenticator_drop_inactive (mfa_store_t *self, const char *user_id, const char *type)
{
    if (mfa_store_sql_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND authenticator_id IN (SELECT id FROM authenticators"
        "   WHERE user_id = ? AND type = ? AND active = 0)", "tt", user_id, type) < 0)
        return -1;
    return mfa_store_sql_run (self,
        "DELETE FROM authenticators WHERE user_id = ? AND type = ? AND active = 0",
        "tt", user_id, type) < 0? -1: 0;
}

int
mfa_store_authenticator_delete (mfa_store_t *self, const char *user_id, const char *id)
{
    //  A code already mailed for it must not complete a sign-in any more
    if (mfa_store_sql_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND authenticator_id = ? AND user_id = ?", "tt", id, user_id) < 0)
        return -1;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "DELETE FROM authenticators WHERE id = ? AND user_id = ? RETURNING type",
        "tt", id, user_id);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    int recovery = rc == 1 && pst_sql_text (stmt, 0)
                && strcmp (pst_sql_text (stmt, 0), "recovery-code") == 0;
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && mfa_store_sql_step (self, stmt) != 0)
        rc = -1;
    pst_sql_done (stmt);
    if (rc == 1 && recovery
    &&  mfa_store_sql_run (self, "DELETE FROM recovery_codes WHERE user_id = ?", "t", user_id) < 0)
        rc = -1;
    return rc;
}

char *
mfa_store_enrollment_owner (mfa_store_t *self, const char *id, int *failed)
{
    *failed = 0;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT user_id FROM authenticators WHERE id = ? AND type IN ('email', 'otp')", "t", id);
    if (!stmt) {
        *failed = 1;
        return NULL;
    }
    int rc = mfa_store_sql_step (self, stmt);
    char *owner = rc == 1 && pst_sql_text (stmt, 0)? strdup (pst_sql_text (stmt, 0)): NULL;
    pst_sql_done (stmt);
    *failed = rc < 0 || (rc == 1 && !owner);
    return owner;
}

int
mfa_store_authenticators_delete_all (mfa_store_t *self, const char *user_id)
{
    if (mfa_store_sql_run (self,
        "UPDATE challenges SET state = 'void' WHERE state IN ('sending', 'pending')"
        " AND user_id = ?", "t", user_id) < 0
    ||  mfa_store_sql_run (self, "DELETE FROM recovery_codes WHERE user_id = ?", "t", user_id) < 0)
        return -1;
    return mfa_store_sql_run (self, "DELETE FROM authenticators WHERE user_id = ?", "t", user_id);
}

int
mfa_store_authenticator_activate (mfa_store_t *self, const char *user_id, const char *id)
{
    int changes = mfa_store_sql_run (self,
        "UPDATE authenticators SET active = 1 WHERE id = ? AND user_id = ? AND active = 0",
        "tt", id, user_id);
    if (changes < 0
    ||  mfa_store_sql_run (self, "UPDATE authenticators SET active = 1"
                              " WHERE user_id = ? AND type = 'recovery-code'", "t", user_id) < 0)
        return -1;
    return changes > 0? 1: 0;
}

int
mfa_store_recovery_set (mfa_store_t *self, const char *user_id, const char *code_hash, int64_t now)
{
    return mfa_store_sql_run (self,
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash,"
        " created_at = excluded.created_at", "tti", user_id, code_hash, now) == 1? 0: -1;
}

int
mfa_store_recovery_check (mfa_store_t *self, const char *user_id, const char *code_hash)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT code_hash FROM recovery_codes WHERE user_id = ?", "t", user_id);
    if (!stmt)
        return -1;
    int match = 0;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        const char *stored = pst_sql_text (stmt, 0);
        match = stored && strlen (stored) == 64 && strlen (code_hash) == 64
             && pst_ct_equal (stored, code_hash, 64);
    }
    pst_sql_done (stmt);
    return rc < 0? -1: match;
}
