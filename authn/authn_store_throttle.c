//  authn_store: sign-in attempt counts per throttle key (login_failures).
#include "authn_store.h"
#include "authn_store_sql.h"

int
authn_store_login_reserve (authn_store_t *self, const char *key, int max_attempts, int window_s,
                           int64_t now, int64_t *window_start_p)
{
    //  Count and check are one statement, so two workers cannot both take the
    //  last attempt. An ended window starts afresh; a full one is left as it is
    //  (the WHERE of DO UPDATE), so nothing comes back and nothing moves. The
    //  row's own columns are named with their table: PostgreSQL finds the bare
    //  names ambiguous with those of the row proposed (excluded).
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "INSERT INTO login_failures (key, failures, window_start) VALUES (?1, 1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN login_failures.window_start + ?3 <= ?2 THEN 1"
        "                  ELSE login_failures.failures + 1 END,"
        "  window_start = CASE WHEN login_failures.window_start + ?3 <= ?2 THEN ?2"
        "                      ELSE login_failures.window_start END"
        "  WHERE login_failures.window_start + ?3 <= ?2 OR login_failures.failures < ?4"
        " RETURNING window_start", "tiii", key, now, (int64_t) window_s, (int64_t) max_attempts);
    if (!stmt)
        return -1;
    int rc = pst_sql_step (stmt);
    if (rc == 1)
        *window_start_p = pst_sql_int64 (stmt, 0);
    //  The change commits when the statement ends: run it to its end, so that
    //  a commit that fails is seen as an error rather than as a reservation
    int done = rc == 1? pst_sql_step (stmt): rc;
    pst_sql_done (stmt);
    if (done != 0)
        return -1;
    if (rc == 1)
        return 0;

    //  Refused: read when the window ends, for Retry-After. The key may have
    //  gone in between (cleared or pruned); its window has then ended now.
    *window_start_p = now - window_s;
    stmt = pst_sql_query (self->sql, "SELECT window_start FROM login_failures WHERE key = ?",
                          "t", key);
    if (!stmt)
        return -1;
    rc = pst_sql_step (stmt);
    if (rc == 1)
        *window_start_p = pst_sql_int64 (stmt, 0);
    pst_sql_done (stmt);
    return rc >= 0? 1: -1;
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
