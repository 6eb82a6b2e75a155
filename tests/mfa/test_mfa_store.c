//  Unit tests of mfa_store: bucket arithmetic, supersede, the attempt cap,
//  single-use tokens, recovery codes, the reply cache, the seeded settings, the
//  audit log's retention and read transactions.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include "pst_crypto.h"
#include "test_db.h"

typedef struct {
    char dir [64];
    char path [128];
    char *location;             //  path, or a PostgreSQL database in the pg run
    mfa_store_t *store;
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) calloc (1, sizeof *fixture);
    snprintf (fixture->dir, sizeof fixture->dir, "/tmp/postern-mfa-store-XXXXXX");
    assert_non_null (mkdtemp (fixture->dir));
    snprintf (fixture->path, sizeof fixture->path, "%s/mfa.db", fixture->dir);
    fixture->location = test_db_location (fixture->path);
    fixture->store = mfa_store_new (fixture->location);
    assert_non_null (fixture->store);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_destroy (&fixture->store);
    assert_null (fixture->store);
    const char *suffixes [] = { "", "-wal", "-shm", NULL };
    for (int i = 0; suffixes [i]; i++) {
        char file [160];
        snprintf (file, sizeof file, "%s%s", fixture->path, suffixes [i]);
        unlink (file);
    }
    rmdir (fixture->dir);
    free (fixture->location);
    free (fixture);
    return 0;
}

static const mfa_bucket_rule_t s_rule = { 10, 360000 };

static void
test_bucket_arithmetic (void **state)
{
    (void) state;
    int level = 10;
    int64_t stamp = 0;
    //  Full: the refill clock starts at the moment of use
    mfa_bucket_advance (&s_rule, &level, &stamp, 5000);
    assert_int_equal (level, 10);
    assert_int_equal (stamp, 5000);

    level = 3;
    stamp = 1000;
    mfa_bucket_advance (&s_rule, &level, &stamp, 1000 + 359999);
    assert_int_equal (level, 3);
    mfa_bucket_advance (&s_rule, &level, &stamp, 1000 + 360000);
    assert_int_equal (level, 4);
    assert_int_equal (stamp, 361000);
    //  Partial intervals carry over
    mfa_bucket_advance (&s_rule, &level, &stamp, 361000 + 2 * 360000 + 100);
    assert_int_equal (level, 6);
    assert_int_equal (stamp, 361000 + 2 * 360000);
    //  Never above capacity
    mfa_bucket_advance (&s_rule, &level, &stamp, stamp + 100 * 360000LL);
    assert_int_equal (level, 10);
    //  A clock that goes back gains nothing
    level = 2;
    stamp = 1000000;
    mfa_bucket_advance (&s_rule, &level, &stamp, 10);
    assert_int_equal (level, 2);
}

static void
test_bucket_store (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    int64_t now = 1700000000000LL;
    int retry = -1;
    assert_int_equal (mfa_store_bucket_level (store, "u1", MFA_BUCKET_FAIL, &s_rule, now, &retry), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal (mfa_store_bucket_take (store, "u1", MFA_BUCKET_FAIL, &s_rule,
                                                 now + i, &retry), 1);
    assert_int_equal (mfa_store_bucket_take (store, "u1", MFA_BUCKET_FAIL, &s_rule,
                                             now + 10, &retry), 0);
    assert_int_equal (retry, 360);
    //  Kinds and users are separate buckets
    assert_int_equal (mfa_store_bucket_level (store, "u1", MFA_BUCKET_SEND, &s_rule, now, NULL), 10);
    assert_int_equal (mfa_store_bucket_level (store, "u2", MFA_BUCKET_FAIL, &s_rule, now, NULL), 10);
    //  One back after one interval, counted from the first take
    assert_int_equal (mfa_store_bucket_level (store, "u1", MFA_BUCKET_FAIL, &s_rule,
                                              now + 359999, &retry), 0);
    assert_int_equal (retry, 1);
    assert_int_equal (mfa_store_bucket_level (store, "u1", MFA_BUCKET_FAIL, &s_rule,
                                              now + 360000, NULL), 1);
    assert_int_equal (mfa_store_bucket_fill (store, "u1", MFA_BUCKET_FAIL, &s_rule, now), 0);
    assert_int_equal (mfa_store_bucket_level (store, "u1", MFA_BUCKET_FAIL, &s_rule, now, NULL), 10);
}

static int64_t
s_challenge (mfa_store_t *store, const char *oob_hash, const char *authenticator, int64_t expires)
{
    int64_t id = mfa_store_challenge_insert (store, oob_hash, "u1", authenticator, "tokenhash",
                                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                             "pending", expires, 1000);
    assert_true (id > 0);
    return id;
}

static void
test_supersede (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    int64_t first = s_challenge (store, "h1", "email|dev_A", 10000);
    int64_t other = s_challenge (store, "h2", "email|dev_B", 10000);
    int64_t second = s_challenge (store, "h3", "email|dev_A", 10000);
    assert_int_equal (mfa_store_challenge_supersede (store, "email|dev_A", second), 1);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (store, "h1", &challenge), 1);
    assert_int_equal (challenge.id, first);
    assert_string_equal (challenge.state, "superseded");
    assert_int_equal (mfa_store_challenge_get (store, "h3", &challenge), 1);
    assert_string_equal (challenge.state, "pending");
    assert_int_equal (mfa_store_challenge_get (store, "h2", &challenge), 1);
    assert_int_equal (challenge.id, other);
    assert_string_equal (challenge.state, "pending");
    assert_string_equal (challenge.user_id, "u1");
    assert_string_equal (challenge.authenticator_id, "email|dev_B");
    assert_int_equal (mfa_store_challenge_get (store, "nope", &challenge), 0);
    //  A superseded challenge cannot be moved as if pending
    assert_int_equal (mfa_store_challenge_move (store, first, "pending", "used"), 0);
}

static void
test_attempt_cap (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    int64_t id = s_challenge (store, "h1", "email|dev_A", 10000);
    char hmac [65];
    for (int i = 0; i < 5; i++) {
        memset (hmac, 0, sizeof hmac);
        assert_int_equal (mfa_store_challenge_attempt (store, id, 5, 2000, hmac), 1);
        assert_int_equal (strlen (hmac), 64);
    }
    assert_int_equal (mfa_store_challenge_attempt (store, id, 5, 2000, hmac), 0);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (store, "h1", &challenge), 1);
    assert_int_equal (challenge.attempts, 5);

    //  Expired, or no longer pending: no attempt at all
    int64_t late = s_challenge (store, "h2", "email|dev_A", 3000);
    assert_int_equal (mfa_store_challenge_attempt (store, late, 5, 2999, hmac), 1);
    assert_int_equal (mfa_store_challenge_attempt (store, late, 5, 3000, hmac), 0);
    int64_t used = s_challenge (store, "h3", "email|dev_A", 10000);
    assert_int_equal (mfa_store_challenge_move (store, used, "pending", "used"), 1);
    assert_int_equal (mfa_store_challenge_attempt (store, used, 5, 2000, hmac), 0);
}

static void
test_tokens_and_recovery (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    json_t *fields = json_pack ("{s:s, s:s, s:s}", "user_id", "u1", "client_id", "c1",
                                "scope", "openid");
    assert_int_equal (mfa_store_token_insert (store, "th", fields, 5000, 1000), 0);
    json_decref (fields);
    json_t *token = mfa_store_token_get (store, "th");
    assert_non_null (token);
    assert_string_equal (json_string_value (json_object_get (token, "client_id")), "c1");
    assert_true (json_is_null (json_object_get (token, "audience")));
    assert_int_equal (json_integer_value (json_object_get (token, "expires_at")), 5000);
    assert_true (json_is_false (json_object_get (token, "used")));
    assert_int_equal (json_integer_value (json_object_get (token, "created_at")), 1000);
    json_decref (token);
    assert_null (mfa_store_token_get (store, "other"));
    assert_int_equal (mfa_store_token_use (store, "th"), 1);
    assert_int_equal (mfa_store_token_use (store, "th"), 0);

    char hash [65], other [65];
    pst_sha256_hex ("ABC", 3, hash);
    pst_sha256_hex ("ABD", 3, other);
    assert_int_equal (mfa_store_recovery_check (store, "u1", hash), 0);
    assert_int_equal (mfa_store_recovery_set (store, "u1", hash, 1000), 0);
    assert_int_equal (mfa_store_recovery_check (store, "u1", hash), 1);
    assert_int_equal (mfa_store_recovery_check (store, "u1", other), 0);
    assert_int_equal (mfa_store_recovery_check (store, "u2", hash), 0);
    assert_int_equal (mfa_store_recovery_set (store, "u1", other, 2000), 0);
    assert_int_equal (mfa_store_recovery_check (store, "u1", hash), 0);
    assert_int_equal (mfa_store_recovery_check (store, "u1", other), 1);
}

static void
test_authenticators (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    assert_int_equal (mfa_store_authenticator_insert (store, "email|dev_A", "u1", "email",
                                                      "a@x.io", 0, 1), 0);
    assert_int_equal (mfa_store_authenticator_insert (store, "recovery-code|dev_R", "u1",
                                                      "recovery-code", NULL, 0, 1), 0);
    assert_int_equal (mfa_store_has_active (store, "u1", NULL), 0);
    //  Replacing an unconfirmed authenticator voids its challenges
    int64_t id = s_challenge (store, "h1", "email|dev_A", 10000);
    assert_int_equal (mfa_store_authenticator_drop_inactive (store, "u1", "email"), 0);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (store, "h1", &challenge), 1);
    assert_int_equal (challenge.id, id);
    assert_string_equal (challenge.state, "void");
    assert_int_equal (mfa_store_authenticator_insert (store, "email|dev_B", "u1", "email",
                                                      "a@x.io", 0, 2), 0);
    assert_int_equal (mfa_store_authenticator_activate (store, "u1", "email|dev_B"), 1);
    assert_int_equal (mfa_store_authenticator_activate (store, "u1", "email|dev_B"), 0);
    assert_int_equal (mfa_store_has_active (store, "u1", "email"), 1);
    assert_int_equal (mfa_store_has_active (store, "u1", "recovery-code"), 1);
    assert_int_equal (mfa_store_has_active (store, "u2", NULL), 0);
    json_t *list = mfa_store_authenticators (store, "u1");
    assert_int_equal (json_array_size (list), 2);
    assert_int_equal (json_integer_value (json_object_get (json_array_get (list, 0),
                                                           "created_at")), 1);
    json_decref (list);
    assert_int_equal (mfa_store_has_second_factor (store, "u1"), 1);
    assert_int_equal (mfa_store_has_second_factor (store, "u2"), 0);
}

static void
test_authenticator_delete (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    assert_int_equal (mfa_store_authenticator_insert (store, "email|dev_A", "u1", "email",
                                                      "a@x.io", 1, 1), 0);
    assert_int_equal (mfa_store_authenticator_insert (store, "recovery-code|dev_R", "u1",
                                                      "recovery-code", NULL, 1, 1), 0);
    assert_int_equal (mfa_store_authenticator_insert (store, "email|dev_B", "u2", "email",
                                                      "b@x.io", 1, 1), 0);
    const char *code_hash = "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789cdef";
    assert_int_equal (mfa_store_recovery_set (store, "u1", code_hash, 1), 0);
    s_challenge (store, "h1", "email|dev_A", 10000);
    assert_true (mfa_store_challenge_insert (store, "h2", "u2", "email|dev_B", "tokenhash",
                                             code_hash, "pending", 10000, 1000) > 0);

    //  Only the owner's id deletes anything
    assert_int_equal (mfa_store_authenticator_delete (store, "u1", "email|dev_B"), 0);
    assert_int_equal (mfa_store_authenticator_delete (store, "u1", "email|dev_none"), 0);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (store, "h2", &challenge), 1);
    assert_string_not_equal (challenge.state, "void");

    assert_int_equal (mfa_store_authenticator_delete (store, "u1", "email|dev_A"), 1);
    assert_int_equal (mfa_store_challenge_get (store, "h1", &challenge), 1);
    assert_string_equal (challenge.state, "void");
    assert_int_equal (mfa_store_has_second_factor (store, "u1"), 0);
    //  The recovery code stays until its own authenticator goes
    assert_int_equal (mfa_store_recovery_check (store, "u1", code_hash), 1);
    assert_int_equal (mfa_store_has_active (store, "u1", "recovery-code"), 1);
    assert_int_equal (mfa_store_authenticator_delete (store, "u1", "recovery-code|dev_R"), 1);
    assert_int_equal (mfa_store_has_active (store, "u1", "recovery-code"), 0);
    assert_int_equal (mfa_store_recovery_check (store, "u1", code_hash), 0);

    //  All of a user's: authenticators, recovery code, unfinished challenges
    assert_int_equal (mfa_store_recovery_set (store, "u2", code_hash, 1), 0);
    assert_int_equal (mfa_store_authenticators_delete_all (store, "u2"), 1);
    assert_int_equal (mfa_store_recovery_check (store, "u2", code_hash), 0);
    assert_int_equal (mfa_store_challenge_get (store, "h2", &challenge), 1);
    assert_string_equal (challenge.state, "void");
    json_t *list = mfa_store_authenticators (store, "u2");
    assert_int_equal (json_array_size (list), 0);
    json_decref (list);
    assert_int_equal (mfa_store_authenticators_delete_all (store, "u2"), 0);
}

static void
test_settings (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    json_t *factors = mfa_store_factors (store);
    const char *names [] = { "email", "otp", "recovery-code", "sms", "push-notification",
                             "duo", "webauthn-roaming", "webauthn-platform" };
    assert_int_equal (json_array_size (factors), 8);
    for (size_t i = 0; i < 8; i++) {
        json_t *factor = json_array_get (factors, i);
        assert_string_equal (json_string_value (json_object_get (factor, "name")), names [i]);
        assert_int_equal (json_is_true (json_object_get (factor, "enabled")),
                          strcmp (names [i], "recovery-code") == 0);
    }
    json_decref (factors);
    assert_int_equal (mfa_store_factor_enabled (store, "email"), 0);
    assert_int_equal (mfa_store_factor_set (store, "email", 1), 0);
    assert_int_equal (mfa_store_factor_enabled (store, "email"), 1);
    assert_int_equal (mfa_store_factor_enabled (store, "nope"), -1);
    assert_int_equal (mfa_store_factor_set (store, "nope", 1), -1);

    assert_int_equal (mfa_store_policy_has (store, "all-applications"), 1);
    json_t *none = json_array ();
    assert_int_equal (mfa_store_policies_set (store, none), 0);
    json_decref (none);
    assert_int_equal (mfa_store_policy_has (store, "all-applications"), 0);
    json_t *policies = mfa_store_policies (store);
    assert_int_equal (json_array_size (policies), 0);
    json_decref (policies);
}

static void
test_reply_cache (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    uint8_t *sealed = NULL;
    size_t size = 0;
    assert_int_equal (mfa_store_reply_lookup (store, "r1", "op", &sealed, &size), -2);
    assert_int_equal (mfa_store_reply_claim (store, "r1", "op", 1000, 30000), 1);
    assert_int_equal (mfa_store_reply_claim (store, "r1", "op", 1001, 30000), 0);
    assert_int_equal (mfa_store_reply_lookup (store, "r1", "op", &sealed, &size), 0);
    //  The same id under another op is another request
    assert_int_equal (mfa_store_reply_claim (store, "r1", "other", 1001, 30000), 1);
    assert_int_equal (mfa_store_reply_save (store, "r1", "op", (const uint8_t *) "abc", 3), 0);
    assert_int_equal (mfa_store_reply_lookup (store, "r1", "op", &sealed, &size), 1);
    assert_int_equal (size, 3);
    assert_memory_equal (sealed, "abc", 3);
    free (sealed);
    //  A saved reply is never released nor taken over
    assert_int_equal (mfa_store_reply_release (store, "r1", "op"), 0);
    assert_int_equal (mfa_store_reply_claim (store, "r1", "op", 999999, 30000), 0);
    assert_int_equal (mfa_store_reply_lookup (store, "r1", "op", &sealed, &size), 1);
    free (sealed);
    //  A stale claim (a crashed worker) is taken over; a released one is free
    assert_int_equal (mfa_store_reply_claim (store, "r1", "other", 1001 + 30001, 30000), 1);
    assert_int_equal (mfa_store_reply_release (store, "r1", "other"), 0);
    assert_int_equal (mfa_store_reply_lookup (store, "r1", "other", &sealed, &size), -2);
}

//  Every connection checkpoints the WAL at the store's size, not SQLite's
//  1,000 frames, and keeps its savepoints' journals in memory; the writer's
//  cache is the size it asks for
static void
test_sqlite_connection_sizes (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    assert_int_equal (pst_sql_scalar (store->sql, -1, "PRAGMA wal_autocheckpoint", NULL), 4000);
    assert_int_equal (pst_sql_scalar (store->sql, -1, "PRAGMA temp_store", NULL), 2);
    assert_int_equal (pst_sql_scalar (store->sql, 0, "PRAGMA cache_size", NULL), -2000);
    assert_int_equal (mfa_store_cache_pages (store, 8192), 0);
    assert_int_equal (pst_sql_scalar (store->sql, 0, "PRAGMA cache_size", NULL), -8192);
}

static void
test_audit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    mfa_audit_t event = { "gd_auth_failed", "u1", "c1", "10.0.0.1", "failure", "wrong" };
    assert_int_equal (mfa_store_audit (store, &event, 1700000000123LL), 0);
    assert_int_equal (mfa_store_audit_count (store, "gd_auth_failed", "u1"), 1);
    assert_int_equal (mfa_store_audit_count (store, "gd_auth_failed", "u2"), 0);
    assert_int_equal (mfa_store_audit_count (store, NULL, NULL), 1);
}

//  Audit rows older than the retention go, in slices; 0 keeps them all
static void
test_audit_retention (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    const int64_t day_ms = 24 * 3600 * 1000LL;
    const int64_t now = 1700000000123LL;
    const struct {
        const char *type;
        int64_t age_ms;
    } rows [] = {
        { "old", 400 * day_ms },
        { "old", 31 * day_ms },
        { "old", 30 * day_ms + 1 },     //  one ms past the retention
        { "kept", 30 * day_ms },        //  exactly at it
        { "kept", 2 * day_ms },
        { "kept", 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows [0]; i++) {
        mfa_audit_t event = { rows [i].type, "u1", "c1", NULL, "success", NULL };
        assert_int_equal (mfa_store_audit (store, &event, now - rows [i].age_ms), 0);
    }
    assert_int_equal (mfa_store_prune (store, now, 0), 0);
    assert_int_equal (mfa_store_audit_count (store, NULL, NULL), 6);
    assert_int_equal (mfa_store_prune (store, now, 30), 0);
    assert_int_equal (mfa_store_audit_count (store, "old", NULL), 0);
    assert_int_equal (mfa_store_audit_count (store, "kept", NULL), 3);
    assert_int_equal (mfa_store_prune (store, now, 1), 0);
    assert_int_equal (mfa_store_audit_count (store, "kept", NULL), 1);

    //  A backlog goes MFA_PRUNE_BATCH rows per prune, oldest first
    assert_int_equal (mfa_store_begin (store), 0);
    for (int i = 0; i < MFA_PRUNE_BATCH + 5; i++) {
        mfa_audit_t event = { i < 5? "newest": "backlog", "u1", NULL, NULL, "success", NULL };
        assert_int_equal (mfa_store_audit (store, &event, now - (100 + i) * day_ms), 0);
    }
    assert_int_equal (mfa_store_commit (store), 0);
    assert_int_equal (mfa_store_prune (store, now, 30), 0);
    assert_int_equal (mfa_store_audit_count (store, "backlog", NULL), 0);
    assert_int_equal (mfa_store_audit_count (store, "newest", NULL), 5);
    assert_int_equal (mfa_store_prune (store, now, 30), 0);
    assert_int_equal (mfa_store_audit_count (store, NULL, NULL), 1);
}

//  Expired mfa_tokens and challenges go a slice at a time too, oldest first:
//  a day of a million sign-ins never makes one long delete
static void
test_prune_in_slices (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    const int64_t day_ms = 24 * 3600 * 1000LL;
    const int64_t now = 400 * day_ms;
    const int total = MFA_PRUNE_BATCH + 5;
    json_t *fields = json_pack ("{s:s, s:s}", "user_id", "u1", "client_id", "c1");
    assert_non_null (fields);
    assert_int_equal (mfa_store_begin (store), 0);
    for (int i = 0; i < total; i++) {
        char token [32], oob [32];
        snprintf (token, sizeof token, "token-%d", i);
        snprintf (oob, sizeof oob, "oob-%d", i);
        //  expired more than a day ago: every one of them is due
        int64_t expires_at = now - 2 * day_ms - i;
        assert_int_equal (mfa_store_token_insert (store, token, fields, expires_at, expires_at), 0);
        assert_true (mfa_store_challenge_insert (store, oob, "u1", "email|a", token, "hmac",
                                                 "used", expires_at, expires_at) > 0);
    }
    //  and one still within its day
    assert_int_equal (mfa_store_token_insert (store, "token-recent", fields, now - day_ms / 2,
                                              now - day_ms), 0);
    assert_int_equal (mfa_store_commit (store), 0);
    json_decref (fields);

    assert_int_equal (mfa_store_prune (store, now, 0), 0);
    //  The oldest slice went (token-N with the largest N expired first)
    json_t *token = mfa_store_token_get (store, "token-1004");
    assert_null (token);
    token = mfa_store_token_get (store, "token-0");
    assert_non_null (token);
    json_decref (token);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (store, "oob-0", &challenge), 1);
    assert_int_equal (mfa_store_challenge_get (store, "oob-1004", &challenge), 0);

    //  The next prune takes the rest; the recent token stays
    assert_int_equal (mfa_store_prune (store, now, 0), 0);
    assert_null (mfa_store_token_get (store, "token-0"));
    assert_int_equal (mfa_store_challenge_get (store, "oob-0", &challenge), 0);
    token = mfa_store_token_get (store, "token-recent");
    assert_non_null (token);
    json_decref (token);
}

//  A failed statement inside a transaction: in a savepoint, rolling back to it
//  lets the transaction go on and commit on both engines. On PostgreSQL the
//  transaction is unusable between the two, and the store says so.
static void
test_failure_in_a_savepoint (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = fixture->store;
    assert_int_equal (mfa_store_begin (store), 0);
    assert_int_equal (mfa_store_authenticator_insert (store, "email|a", "u1", "email", NULL, 0, 1), 0);
    assert_int_equal (mfa_store_savepoint (store), 0);
    assert_int_equal (mfa_store_authenticator_insert (store, "email|b", "u1", "email", NULL, 0, 1), 0);
    //  The same id again: refused by the primary key
    assert_int_equal (mfa_store_authenticator_insert (store, "email|a", "u2", "email", NULL, 0, 1), -1);
    assert_int_equal (mfa_store_in_transaction (store), test_db_is_postgres ()? 0: 1);
    assert_int_equal (mfa_store_rollback_to (store), 0);
    assert_int_equal (mfa_store_in_transaction (store), 1);
    assert_int_equal (mfa_store_authenticator_insert (store, "email|c", "u1", "email", NULL, 0, 1), 0);
    assert_int_equal (mfa_store_commit (store), 0);
    json_t *list = mfa_store_authenticators (store, "u1");
    assert_non_null (list);
    //  a and c: b went with the savepoint
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "id")),
                         "email|a");
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 1), "id")),
                         "email|c");
    json_decref (list);
    assert_int_equal (mfa_store_in_transaction (store), 0);
}

//  A read transaction: on SQLite the reads in it see one snapshot, so another
//  connection's commit shows only after it ends; on PostgreSQL it opens nothing,
//  and each read sees the latest commit. Ending it twice, or without one, is
//  harmless, the connection can write afterwards, and a transaction of someone
//  else's is neither joined nor ended.
static void
test_read_transaction (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *reader = fixture->store;
    mfa_store_t *other = mfa_store_new (fixture->location);
    assert_non_null (other);
    assert_int_equal (mfa_store_authenticator_insert (other, "email|r1", "reader", "email",
                                                      NULL, 0, 1), 0);
    assert_int_equal (mfa_store_read_begin (reader), test_db_is_postgres ()? -1: 0);
    json_t *list = mfa_store_authenticators (reader, "reader");
    assert_non_null (list);
    assert_int_equal (json_array_size (list), 1);
    json_decref (list);
    assert_int_equal (mfa_store_in_transaction (reader), test_db_is_postgres ()? 0: 1);
    assert_int_equal (mfa_store_authenticator_insert (other, "email|r2", "reader", "email",
                                                      NULL, 0, 1), 0);
    list = mfa_store_authenticators (reader, "reader");
    assert_non_null (list);
    assert_int_equal (json_array_size (list), test_db_is_postgres ()? 2: 1);
    json_decref (list);
    mfa_store_read_end (reader);
    mfa_store_read_end (reader);
    assert_int_equal (mfa_store_in_transaction (reader), 0);
    list = mfa_store_authenticators (reader, "reader");
    assert_non_null (list);
    assert_int_equal (json_array_size (list), 2);
    json_decref (list);
    assert_int_equal (mfa_store_authenticator_insert (reader, "email|r3", "reader", "email",
                                                      NULL, 0, 1), 0);
    //  Inside someone's transaction none begins, and ending it ends nothing
    assert_int_equal (mfa_store_begin (reader), 0);
    assert_int_equal (mfa_store_read_begin (reader), -1);
    mfa_store_read_end (reader);
    assert_int_equal (mfa_store_in_transaction (reader), 1);
    assert_int_equal (mfa_store_authenticator_insert (reader, "email|r4", "reader", "email",
                                                      NULL, 0, 1), 0);
    assert_int_equal (mfa_store_rollback (reader), 0);
    assert_int_equal (mfa_store_authenticator_exists (reader, "email|r4"), 0);
    mfa_store_destroy (&other);
}

//  Two connections (two processes, on PostgreSQL) race for one challenge's
//  attempts and one user's bucket: the cap holds exactly.
#define RACE_ROUNDS     40

typedef struct {
    const char *location;
    int64_t challenge;
    int granted;                //  attempts this connection was given
    int taken;                  //  bucket tokens it took
    int errors;
} racer_t;

static void *
s_racer (void *args)
{
    racer_t *racer = (racer_t *) args;
    mfa_store_t *store = mfa_store_new (racer->location);
    if (!store) {
        racer->errors++;
        return NULL;
    }
    const mfa_bucket_rule_t rule = { 15, 3600000 };
    for (int i = 0; i < RACE_ROUNDS; i++) {
        char hmac [65];
        int rc = mfa_store_challenge_attempt (store, racer->challenge, 25, 2000, hmac);
        racer->granted += rc == 1;
        racer->errors += rc < 0;
        //  The bucket's read-then-write is one transaction, as in mfa's writer
        if (mfa_store_begin (store) != 0) {
            racer->errors++;
            continue;
        }
        rc = mfa_store_bucket_take (store, "racer", MFA_BUCKET_FAIL, &rule, 5000, NULL);
        if (rc < 0 || mfa_store_commit (store) != 0) {
            mfa_store_rollback (store);
            racer->errors++;
        }
        else
            racer->taken += rc;
    }
    mfa_store_destroy (&store);
    return NULL;
}

static void
test_two_connections_race (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    int64_t id = s_challenge (fixture->store, "race", "email|dev_A", 10000);
    racer_t racers [2] = {
        { fixture->location, id, 0, 0, 0 }, { fixture->location, id, 0, 0, 0 }
    };
    pthread_t threads [2];
    for (int i = 0; i < 2; i++)
        assert_int_equal (pthread_create (&threads [i], NULL, s_racer, &racers [i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join (threads [i], NULL);
    assert_int_equal (racers [0].errors + racers [1].errors, 0);
    assert_int_equal (racers [0].granted + racers [1].granted, 25);
    assert_int_equal (racers [0].taken + racers [1].taken, 15);
    mfa_challenge_t challenge;
    assert_int_equal (mfa_store_challenge_get (fixture->store, "race", &challenge), 1);
    assert_int_equal (challenge.attempts, 25);
    const mfa_bucket_rule_t rule = { 15, 3600000 };
    assert_int_equal (mfa_store_bucket_level (fixture->store, "racer", MFA_BUCKET_FAIL, &rule,
                                              5000, NULL), 0);
}

int
main (void)
{
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bucket_arithmetic),
        cmocka_unit_test_setup_teardown (test_bucket_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_supersede, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_attempt_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_tokens_and_recovery, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_authenticators, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_authenticator_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reply_cache, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_audit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_audit_retention, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prune_in_slices, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failure_in_a_savepoint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_two_connections_race, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_read_transaction, s_setup, s_teardown),
    };
    //  SQLite's layout and settings: the SQLite run's alone
    const struct CMUnitTest sqlite_tests [] = {
        cmocka_unit_test_setup_teardown (test_sqlite_connection_sizes, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (!test_db_is_postgres ())
        failed += cmocka_run_group_tests_name ("sqlite", sqlite_tests, NULL, NULL);
    return failed;
}
