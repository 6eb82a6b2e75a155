//  mfa_store: what an otp authenticator keeps beside its row (the sealed
//  secret, the last step used) and the otp guesses spent on an mfa_token.
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include <stdlib.h>
#include <string.h>

int
mfa_store_totp_insert (mfa_store_t *self, const char *id, const char *user_id,
                       const uint8_t *sealed, size_t size, int64_t now)
{
    int changes = mfa_store_sql_run (self,
        "INSERT INTO authenticators (id, user_id, type, active, created_at, secret, last_step)"
        " VALUES (?, ?, 'otp', 0, ?, ?, -1)", "ttib", id, user_id, now, sealed, size);
    return changes == 1? 0: -1;
}

int
mfa_store_totp_get (mfa_store_t *self, const char *user_id, mfa_totp_row_t *row)
{
    memset (row, 0, sizeof *row);
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT id, secret, last_step, active FROM authenticators"
        " WHERE user_id = ? AND type = 'otp' AND secret IS NOT NULL"
        " ORDER BY active DESC, created_at DESC, id LIMIT 1", "t", user_id);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        size_t size = 0;
        const void *data = pst_sql_blob (stmt, 1, &size);
        mfa_store_sql_copy (stmt, 0, row->id, sizeof row->id);
        row->last_step = pst_sql_int64 (stmt, 2);
        row->active = pst_sql_int64 (stmt, 3) != 0;
        if (data && size > 0 && size <= sizeof row->sealed) {
            memcpy (row->sealed, data, size);
            row->sealed_size = size;
        }
        else
            rc = -1;            //  a secret that cannot be ours
    }
    pst_sql_done (stmt);
    return rc;
}

int
mfa_store_totp_use_step (mfa_store_t *self, const char *id, int64_t step)
{
    //  One statement decides, so that two instances sharing the database
    //  cannot both accept the step: the second finds last_step moved
    return mfa_store_sql_run (self,
        "UPDATE authenticators SET last_step = ? WHERE id = ? AND type = 'otp'"
        " AND last_step < ?", "iti", step, id, step);
}

int
mfa_store_token_otp_attempt (mfa_store_t *self, const char *token_hash, int max)
{
    return mfa_store_sql_run (self,
        "UPDATE mfa_tokens SET otp_attempts = otp_attempts + 1"
        " WHERE token_hash = ? AND otp_attempts < ?", "tn", token_hash, max);
}
