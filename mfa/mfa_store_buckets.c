//  mfa_store: per-user token buckets (failed attempts, sends, recovery).
#include "mfa_store.h"
#include "mfa_store_sql.h"

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
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT level, stamp FROM buckets WHERE user_id = ? AND kind = ?", "tt", user_id, kind);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    *level = rc == 1? (int) pst_sql_int64 (stmt, 0): rule->capacity;
    *stamp = rc == 1? pst_sql_int64 (stmt, 1): now;
    pst_sql_done (stmt);
    if (rc < 0)
        return -1;
    mfa_bucket_advance (rule, level, stamp, now);
    return 0;
}

static int
s_bucket_write (mfa_store_t *self, const char *user_id, const char *kind, int level, int64_t stamp)
{
    return mfa_store_sql_run (self,
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
