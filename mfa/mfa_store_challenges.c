//  mfa_store: the state of a sign-in: mfa_tokens, the email challenges they
//  ask for, and the mail jobs that carry their codes (state only).
#include "mfa_store.h"
#include "mfa_store_sql.h"

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
    int changes = mfa_store_sql_run (self,
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
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT user_id, email, client_id, client_name, audience, scope, expires_at, used,"
        " created_at FROM mfa_tokens WHERE token_hash = ?", "t", token_hash);
    if (!stmt)
        return NULL;
    json_t *token = NULL;
    if (mfa_store_sql_step (self, stmt) == 1)
        token = json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:I}",
            "user_id", mfa_store_sql_json (stmt, 0), "email", mfa_store_sql_json (stmt, 1),
            "client_id", mfa_store_sql_json (stmt, 2), "client_name", mfa_store_sql_json (stmt, 3),
            "audience", mfa_store_sql_json (stmt, 4), "scope", mfa_store_sql_json (stmt, 5),
            "expires_at", (json_int_t) pst_sql_int64 (stmt, 6),
            "used", (int) pst_sql_int64 (stmt, 7),
            "created_at", (json_int_t) pst_sql_int64 (stmt, 8));
    pst_sql_done (stmt);
    return token;
}

int
mfa_store_token_use (mfa_store_t *self, const char *token_hash)
{
    return mfa_store_sql_run (self,
        "UPDATE mfa_tokens SET used = 1 WHERE token_hash = ? AND used = 0", "t", token_hash);
}

//  ---------------------------------------------------------------------------
//  Challenges

int64_t
mfa_store_challenge_insert (mfa_store_t *self, const char *oob_hash, const char *user_id,
                            const char *authenticator_id, const char *token_hash,
                            const char *code_hmac, int64_t expires_at, int64_t now)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "INSERT INTO challenges (oob_hash, user_id, authenticator_id, token_hash, code_hmac,"
        " expires_at, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)"
        " RETURNING id",
        "tttttii", oob_hash, user_id, authenticator_id, token_hash, code_hmac, expires_at, now);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    int64_t id = rc == 1? pst_sql_int64 (stmt, 0): -1;
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && mfa_store_sql_step (self, stmt) != 0)
        id = -1;
    pst_sql_done (stmt);
    return id > 0? id: -1;
}

int
mfa_store_challenge_get (mfa_store_t *self, const char *oob_hash, mfa_challenge_t *challenge)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT id, user_id, authenticator_id, state, expires_at, attempts, token_hash"
        " FROM challenges WHERE oob_hash = ?", "t", oob_hash);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        challenge->id = pst_sql_int64 (stmt, 0);
        mfa_store_sql_copy (stmt, 1, challenge->user_id, sizeof challenge->user_id);
        mfa_store_sql_copy (stmt, 2, challenge->authenticator_id,
                            sizeof challenge->authenticator_id);
        mfa_store_sql_copy (stmt, 3, challenge->state, sizeof challenge->state);
        challenge->expires_at = pst_sql_int64 (stmt, 4);
        challenge->attempts = (int) pst_sql_int64 (stmt, 5);
        mfa_store_sql_copy (stmt, 6, challenge->token_hash, sizeof challenge->token_hash);
    }
    pst_sql_done (stmt);
    return rc;
}

int
mfa_store_challenge_move (mfa_store_t *self, int64_t id, const char *from, const char *to)
{
    return mfa_store_sql_run (self,
        "UPDATE challenges SET state = ? WHERE id = ? AND state = ?", "tit", to, id, from);
}

int
mfa_store_challenge_supersede (mfa_store_t *self, const char *authenticator_id, int64_t except_id)
{
    return mfa_store_sql_run (self,
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
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "UPDATE challenges SET attempts = attempts + 1"
        " WHERE id = ? AND state = 'pending' AND attempts < ? AND expires_at > ?"
        " RETURNING code_hmac", "ini", id, max, now);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1)
        mfa_store_sql_copy (stmt, 0, code_hmac, 65);
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && mfa_store_sql_step (self, stmt) != 0)
        rc = -1;
    pst_sql_done (stmt);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Mail jobs

int
mfa_store_job_insert (mfa_store_t *self, const char *job_id, int64_t challenge_id,
                      const char *user_id, const char *state, int64_t now)
{
    return mfa_store_sql_run (self,
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
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "UPDATE mail_jobs SET state = ?, detail = ?, updated_at = ? WHERE job_id = ?"
        " RETURNING user_id", "ttit", state, detail, now, job_id);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1 && user_id_p)
        *user_id_p = pst_sql_strdup (stmt, 0);
    if (rc == 1 && mfa_store_sql_step (self, stmt) != 0)
        rc = -1;
    pst_sql_done (stmt);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Mail checks

int
mfa_store_job_live (mfa_store_t *self, const char *job_id, int64_t now)
{
    //  A challenge still 'sending' counts: its worker may not have committed it
    //  as pending yet when a mailer's first retry asks
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT 1 FROM mail_jobs JOIN challenges ON challenges.id = mail_jobs.challenge_id"
        " WHERE mail_jobs.job_id = ? AND challenges.state IN ('sending', 'pending')"
        " AND challenges.expires_at > ?", "ti", job_id, now);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    pst_sql_done (stmt);
    return rc;
}
