//  mfa_store: the state of a sign-in: mfa_tokens, the email challenges they
//  ask for, and the mail jobs that carry their codes (state only).
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include <stdlib.h>

//  ---------------------------------------------------------------------------
//  mfa_tokens

//  mfa_tokens.used: 0 live, 1 used, this when voided (its client changed or went)
#define MFA_TOKEN_VOIDED 2

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
        " audience, scope, client_auth_method, client_secret_hash, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "tttttttttii", token_hash, s_field (fields, "user_id"), s_field (fields, "email"),
        s_field (fields, "client_id"), s_field (fields, "client_name"),
        s_field (fields, "audience"), s_field (fields, "scope"),
        s_field (fields, "client_auth_method"), s_field (fields, "client_secret_hash"),
        expires_at, now);
    return changes == 1? 0: -1;
}

json_t *
mfa_store_token_get (mfa_store_t *self, const char *token_hash)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT user_id, email, client_id, client_name, audience, scope, expires_at, used,"
        " created_at, client_auth_method, client_secret_hash FROM mfa_tokens"
        " WHERE token_hash = ?", "t", token_hash);
    if (!stmt)
        return NULL;
    json_t *token = NULL;
    if (mfa_store_sql_step (self, stmt) == 1)
        token = json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:I, s:o, s:o}",
            "user_id", mfa_store_sql_json (stmt, 0), "email", mfa_store_sql_json (stmt, 1),
            "client_id", mfa_store_sql_json (stmt, 2), "client_name", mfa_store_sql_json (stmt, 3),
            "audience", mfa_store_sql_json (stmt, 4), "scope", mfa_store_sql_json (stmt, 5),
            "expires_at", (json_int_t) pst_sql_int64 (stmt, 6),
            "used", (int) pst_sql_int64 (stmt, 7) != 0,
            "created_at", (json_int_t) pst_sql_int64 (stmt, 8),
            "client_auth_method", mfa_store_sql_json (stmt, 9),
            "client_secret_hash", mfa_store_sql_json (stmt, 10));
    if (token && pst_sql_int64 (stmt, 7) == MFA_TOKEN_VOIDED)
        json_object_set_new (token, "voided", json_true ());
    pst_sql_done (stmt);
    return token;
}

int
mfa_store_token_use (mfa_store_t *self, const char *token_hash)
{
    return mfa_store_sql_run (self,
        "UPDATE mfa_tokens SET used = 1, client_secret_hash = NULL"
        " WHERE token_hash = ? AND used = 0", "t", token_hash);
}

int
mfa_store_tokens_void_client (mfa_store_t *self, const char *client_id, int64_t now)
{
    return mfa_store_sql_run (self,
        "UPDATE mfa_tokens SET used = ?, client_secret_hash = NULL"
        " WHERE client_id = ? AND used = 0 AND expires_at > ?",
        "nti", MFA_TOKEN_VOIDED, client_id, now);
}

//  ---------------------------------------------------------------------------
//  Challenges

int64_t
mfa_store_challenge_insert (mfa_store_t *self, const char *oob_hash, const char *user_id,
                            const char *authenticator_id, const char *token_hash,
                            const char *code_hmac, const char *state, int64_t expires_at,
                            int64_t now)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "INSERT INTO challenges (oob_hash, user_id, authenticator_id, token_hash, code_hmac,"
        " expires_at, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        "tttttiti", oob_hash, user_id, authenticator_id, token_hash, code_hmac, expires_at,
        state, now);
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
mfa_store_job_put (mfa_store_t *self, const char *job_id, int64_t challenge_id,
                   const char *user_id, const char *state, int64_t now,
                   char held [MFA_JOB_STATE_SIZE], char **detail_p)
{
    *held = '\0';
    if (detail_p)
        *detail_p = NULL;
    //  The mailer's result may have come first (mfa_job_id): its row keeps the
    //  result and gains the challenge and user it was waiting for
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "INSERT INTO mail_jobs (job_id, challenge_id, user_id, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET"
        " challenge_id = excluded.challenge_id, user_id = excluded.user_id"
        " RETURNING state, detail", "tittii", job_id, challenge_id, user_id, state, now, now);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        mfa_store_sql_copy (stmt, 0, held, MFA_JOB_STATE_SIZE);
        if (detail_p)
            *detail_p = pst_sql_strdup (stmt, 1);
    }
    //  RETURNING statements apply their change when stepped to completion
    if (rc == 1 && mfa_store_sql_step (self, stmt) != 0)
        rc = -1;
    pst_sql_done (stmt);
    if (rc != 1 && detail_p) {
        free (*detail_p);
        *detail_p = NULL;
    }
    return rc == 1? 0: -1;
}

int
mfa_store_job_result_first (mfa_store_t *self, const char *job_id, const char *state,
                            const char *detail, int64_t now)
{
    return mfa_store_sql_run (self,
        "INSERT INTO mail_jobs (job_id, state, detail, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING", "tttii",
        job_id, state, detail, now, now) < 0? -1: 0;
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
mfa_store_job_live (mfa_store_t *self, const char *job_id, int64_t now, int *known_p)
{
    //  'sending' is the state a challenge had, before its mail, in databases
    //  written before challenges were stored once their mail was held
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT CASE WHEN challenges.state IN ('sending', 'pending')"
        " AND challenges.expires_at > ? THEN 1 ELSE 0 END FROM mail_jobs LEFT JOIN challenges ON challenges.id = mail_jobs.challenge_id"
        " WHERE mail_jobs.job_id = ?", "it", now, job_id);
    *known_p = 0;
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    int live = 0;
    if (rc == 1) {
        *known_p = 1;
        live = pst_sql_int64 (stmt, 0) != 0;
    }
    pst_sql_done (stmt);
    return rc < 0? -1: live;
}
