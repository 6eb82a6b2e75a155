//  authn_store: sign-in attempt counts per throttle key (login_failures).
#include "authn_store.h"
#include "authn_store_sql.h"

int
authn_store_login_reserve (authn_store_t *self, const char *key, int max_attempts, int window_s,
                           int64_t now, int64_t *window_start_p)
{
    //  Count and check are one statement, so two workers cannot both take the
    //  last attempt. An ended window starts afresh; a full one is left as it is
    //  (the WHERE of DO UPDATE), so nothing comes back and nothing moves.
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "INSERT INTO login_failures (key, failures, window_start) VALUES (?1, 1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN window_start + ?3 <= ?2 THEN 1 ELSE failures + 1 END,"
        "  window_start = CASE WHEN window_start + ?3 <= ?2 THEN ?2 ELSE window_start END"
        "  WHERE window_start + ?3 <= ?2 OR failures < ?4"
        " RETURNING window_start", "tinn", key, now, window_s, max_attempts);
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *window_start_p = sqlite3_column_int64 (stmt, 0);
    //  The change commits when the statement ends: run it to its end, so that
    //  a commit that fails is seen as an error rather than as a reservation
    int done = rc == SQLITE_ROW? sqlite3_step (stmt): rc;
    sqlite3_finalize (stmt);
    if (done != SQLITE_DONE)
        return -1;
    if (rc == SQLITE_ROW)
        return 0;

    //  Refused: read when the window ends, for Retry-After. The key may have
    //  gone in between (cleared or pruned); its window has then ended now.
    *window_start_p = now - window_s;
    stmt = authn_store_sql_query (self, "SELECT window_start FROM login_failures WHERE key = ?", "t", key);
    if (!stmt)
        return -1;
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *window_start_p = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 1: -1;
}

int
authn_store_login_release (authn_store_t *self, const char *key, int64_t window_start)
{
    //  Only within the window it was counted in: a window started since holds
    //  other attempts, which this one must not cancel
    return authn_store_sql_run (self,
        "UPDATE login_failures SET failures = failures - 1"
        " WHERE key = ? AND window_start = ? AND failures > 0", "ti", key, window_start) == 0? 0: -1;
}

int
authn_store_login_succeeded (authn_store_t *self, const char *key)
{
    return authn_store_sql_run (self, "DELETE FROM login_failures WHERE key = ?", "t", key) == 0? 0: -1;
}

int
authn_store_login_prune (authn_store_t *self, int64_t now, int window_s)
{
    //  Written against the bare column so that the index on window_start serves it
    return authn_store_sql_run (self, "DELETE FROM login_failures WHERE window_start <= ?",
                            "i", now - (int64_t) window_s) == 0? 0: -1;
}
