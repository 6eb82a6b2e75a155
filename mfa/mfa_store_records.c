//  mfa_store: what mfa keeps of the requests it has answered: the audit log,
//  and the sealed replies of the reply cache (S26).
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    return mfa_store_sql_run (self,
        "INSERT INTO audit (type, user_id, client_id, ip, result, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", "ttttttt", event->type, event->user_id,
        event->client_id, event->ip, event->result? event->result: "success",
        event->detail, stamp) == 1? 0: -1;
}

int
mfa_store_audit_count (mfa_store_t *self, const char *type, const char *user_id)
{
    return (int) mfa_store_sql_scalar (self, 0,
        "SELECT count(*) FROM audit WHERE (CAST(?1 AS TEXT) IS NULL OR type = ?1)"
        " AND (CAST(?2 AS TEXT) IS NULL OR user_id = ?2)", "tt", type, user_id);
}

//  ---------------------------------------------------------------------------
//  Reply cache

int
mfa_store_reply_claim (mfa_store_t *self, const char *request_id, const char *op,
                       int64_t now, int64_t stale_ms)
{
    int changes = mfa_store_sql_run (self,
        "INSERT INTO reply_cache (request_id, op, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (request_id, op) DO UPDATE SET created_at = excluded.created_at"
        " WHERE reply_cache.sealed IS NULL AND reply_cache.created_at < ?",
        "ttii", request_id, op, now, now - stale_ms);
    return changes < 0? -1: changes > 0? 1: 0;
}

int
mfa_store_reply_lookup (mfa_store_t *self, const char *request_id, const char *op,
                        uint8_t **sealed_p, size_t *size_p)
{
    *sealed_p = NULL;
    *size_p = 0;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT sealed FROM reply_cache WHERE request_id = ? AND op = ?", "tt", request_id, op);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1 && !pst_sql_is_null (stmt, 0)) {
        size_t size = 0;
        const void *data = pst_sql_blob (stmt, 0, &size);
        *sealed_p = (uint8_t *) malloc (size > 0? size: 1);
        if (*sealed_p) {
            if (size)
                memcpy (*sealed_p, data, size);
            *size_p = size;
        }
        rc = *sealed_p? 1: -1;
    }
    else
    if (rc == 1)
        rc = 0;             //  claimed, still running
    else
    if (rc == 0)
        rc = -2;            //  never claimed, or released
    pst_sql_done (stmt);
    return rc;
}

int
mfa_store_reply_save (mfa_store_t *self, const char *request_id, const char *op,
                      const uint8_t *sealed, size_t size)
{
    return mfa_store_sql_run (self,
        "UPDATE reply_cache SET sealed = ? WHERE request_id = ? AND op = ?",
        "btt", sealed, size, request_id, op) == 1? 0: -1;
}

int
mfa_store_reply_put (mfa_store_t *self, const char *request_id, const char *op,
                     const uint8_t *sealed, size_t size, int64_t now)
{
    return mfa_store_sql_run (self,
        "INSERT INTO reply_cache (request_id, op, sealed, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (request_id, op) DO NOTHING",
        "ttbi", request_id, op, sealed, size, now) < 0? -1: 0;
}

int
mfa_store_reply_release (mfa_store_t *self, const char *request_id, const char *op)
{
    return mfa_store_sql_run (self,
        "DELETE FROM reply_cache WHERE request_id = ? AND op = ? AND sealed IS NULL",
        "tt", request_id, op) < 0? -1: 0;
}
