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
mfa_store_audit_mail_end (mfa_store_t *self, const char *user_id, const char *state,
                          const char *detail, int64_t now)
{
    if (strcmp (state, "failed") != 0 && strcmp (state, "expired") != 0)
        return 0;
    mfa_audit_t event = {
        .type = "fn", .user_id = user_id, .result = "failure",
        .detail = detail && *detail? detail: state
    };
    return mfa_store_audit (self, &event, now);
}

int
mfa_store_audit_count (mfa_store_t *self, const char *type, const char *user_id)
{
    return (int) mfa_store_sql_scalar (self, 0,
        "SELECT count(*) FROM audit WHERE (CAST(?1 AS TEXT) IS NULL OR type = ?1)"
        " AND (CAST(?2 AS TEXT) IS NULL OR user_id = ?2)", "tt", type, user_id);
}

//  The filter's WHERE, shared by the page (in either order) and the count.
//  Audit times are fixed-width UTC text, which sorts as the instants do
#define AUDIT_WHERE \
    " WHERE (CAST(?1 AS TEXT) IS NULL OR type = ?1) AND (CAST(?2 AS TEXT) IS NULL OR user_id = ?2)" \
    " AND (CAST(?3 AS TEXT) IS NULL OR client_id = ?3) AND created_at >= ?4 AND created_at <= ?5"
#define AUDIT_PAGE(order) \
    "SELECT id, created_at, type, user_id, client_id, ip, result, detail FROM audit" \
    AUDIT_WHERE " AND (created_at > ?6 OR (created_at = ?6 AND id > ?7))" \
    " ORDER BY created_at " order ", id " order " LIMIT ?8 OFFSET ?9"

//  An audit time back to Unix ms; 0 when unreadable
static int64_t
s_audit_ms (const char *text)
{
    struct tm tm = { 0 };
    int ms = 0;
    if (!text || sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                         &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t) timegm (&tm) * 1000 + ms;
}

int
mfa_store_audit_page (mfa_store_t *self, const pst_logs_filter_t *filter, json_t **rows_p,
                      int64_t *total_p)
{
    char from [MFA_ISO8601_SIZE], to [MFA_ISO8601_SIZE], after [MFA_ISO8601_SIZE];
    mfa_store_iso8601 (filter->date_from, from);
    mfa_store_iso8601 (filter->date_to, to);
    mfa_store_iso8601 (filter->after_date, after);
    *total_p = 0;
    if (filter->totals
    &&  (*total_p = mfa_store_sql_scalar (self, 0, "SELECT count(*) FROM audit" AUDIT_WHERE,
                        "ttttt", filter->type, filter->user_id, filter->client_id, from, to)) < 0)
        return -1;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        filter->order > 0? AUDIT_PAGE ("ASC"): AUDIT_PAGE ("DESC"), "ttttttiii",
        filter->type, filter->user_id, filter->client_id, from, to, after,
        filter->after_id, filter->limit, filter->offset);
    json_t *rows = stmt? json_array (): NULL;
    int rc = rows? mfa_store_sql_step (self, stmt): -1;
    for (; rc == 1; rc = mfa_store_sql_step (self, stmt)) {
        pst_logs_row_t row = {
            .id = pst_sql_int64 (stmt, 0), .date = s_audit_ms (pst_sql_text (stmt, 1)),
            .type = pst_sql_text (stmt, 2), .user_id = pst_sql_text (stmt, 3),
            .client_id = pst_sql_text (stmt, 4), .ip = pst_sql_text (stmt, 5),
            .result = pst_sql_text (stmt, 6), .detail = pst_sql_text (stmt, 7)
        };
        if (json_array_append_new (rows, pst_logs_row (PST_LOGS_TAG_MFA, &row, filter->keys_only)))
            rc = -1;
    }
    pst_sql_done (stmt);
    if (rc != 0) {
        json_decref (rows);
        return -1;
    }
    *rows_p = rows;
    return 0;
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
