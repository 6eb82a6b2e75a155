//  Service tests of the limits and guarantees: attempt cap (S4), parallel guesses,
//  single use under concurrency (S3), failure bucket (S5), send limit (S6), no
//  mailer (S20), no code at rest (S8, S30), retried request ids (S26), nothing
//  written for a request without a live mfa_token.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "mfa_test_support.h"
#include "test_keys.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include "test_log_capture.h"

typedef mfa_fixture_t fixture_t;

static int
s_setup (void **state)
{
    *state = mfa_fixture_new (NULL);
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_fixture_destroy ((mfa_fixture_t **) state);
    return 0;
}

typedef struct {
    char *token;
    char *oob_code;
    char *code;
} login_t;

static void
s_login (fixture_t *fixture, const char *user_id, login_t *login)
{
    login->token = mfa_test_begin (fixture->mfa, user_id, "someone@example.com");
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, login->token);
    assert_reply_ok (reply);
    login->oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    login->code = test_mailer_code (fixture->mailer);
}

static void
s_login_free (login_t *login)
{
    free (login->token);
    free (login->oob_code);
    free (login->code);
    memset (login, 0, sizeof *login);
}

static void
s_wrong (const char *code, int variant, char wrong [7])
{
    //  Any code but the right one
    do
        snprintf (wrong, 7, "%06u", (unsigned) (atoi (code) + 1 + variant) % 1000000u);
    while (streq (wrong, code));
}

//  Sends count verify_oob requests at once over several DEALERs and tallies the
//  answers by error text ("ok" for success).
static zhashx_t *
s_parallel_verify (fixture_t *fixture, const login_t *login, int count, int wrong_codes)
{
    enum { CLIENTS = 5 };
    pst_client_t *clients [CLIENTS];
    zpoller_t *poller = zpoller_new (NULL);
    for (int i = 0; i < CLIENTS; i++) {
        clients [i] = pst_client_new (fixture->mfa->api, test_keys_curve ("authn"), "mfa");
        zpoller_add (poller, pst_client_sock (clients [i]));
    }
    for (int i = 0; i < count; i++) {
        char wrong [7];
        s_wrong (login->code, i, wrong);
        pst_msg_t *request = pst_msg_new_request ("mfa.verify_oob", 5000);
        json_t *body = json_pack ("{s:s, s:s, s:s, s:s}", "mfa_token", login->token,
            "client_id", "app1", "oob_code", login->oob_code,
            "binding_code", wrong_codes? wrong: login->code);
        pst_msg_set_body (request, &body);
        //  The first send waits for the connection, the rest go out at once
        while (pst_bus_send (pst_client_sock (clients [i % CLIENTS]), NULL, request) != 0)
            zclock_sleep (5);
        pst_msg_destroy (&request);
    }
    zhashx_t *tally = zhashx_new ();
    zhashx_set_destructor (tally, (zhashx_destructor_fn *) zstr_free);
    for (int answered = 0; answered < count; answered++) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, 5000);
        assert_non_null (which);
        pst_msg_t *reply = pst_bus_recv_dealer (which);
        assert_non_null (reply);
        const char *key = pst_msg_is_error (reply)? pst_msg_error_text (reply): "ok";
        char *seen = (char *) zhashx_lookup (tally, key);
        char number [16];
        snprintf (number, sizeof number, "%d", (seen? atoi (seen): 0) + 1);
        zhashx_update (tally, key, strdup (number));
        pst_msg_destroy (&reply);
    }
    zpoller_destroy (&poller);
    for (int i = 0; i < CLIENTS; i++)
        pst_client_destroy (&clients [i]);
    return tally;
}

static int
s_tally (zhashx_t *tally, const char *key)
{
    const char *value = (const char *) zhashx_lookup (tally, key);
    return value? atoi (value): 0;
}

//  ---------------------------------------------------------------------------

static void
test_attempt_cap (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|kate", "kate@example.com", NULL);
    login_t login;
    s_login (fixture, "auth0|kate", &login);
    for (int i = 0; i < 5; i++) {
        char wrong [7];
        s_wrong (login.code, i, wrong);
        pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, wrong);
        assert_reply_error (reply, "invalid_grant", "Invalid binding_code.");
        pst_msg_destroy (&reply);
    }
    //  The sixth try, with the right code, finds the oob_code dead (S4)
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa, "SELECT max(attempts) FROM challenges"), 5);
    s_login_free (&login);
}

static void
test_parallel_wrong_guesses (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|liam", "liam@example.com", NULL);
    login_t login;
    s_login (fixture, "auth0|liam", &login);
    zhashx_t *tally = s_parallel_verify (fixture, &login, 20, 1);
    int evaluated = s_tally (tally, "Invalid binding_code.");
    int refused = s_tally (tally, "Invalid oob_code.");
    assert_true (evaluated <= 5);
    assert_true (evaluated >= 1);
    assert_int_equal (evaluated + refused, 20);
    zhashx_destroy (&tally);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE detail = 'wrong binding_code'"), evaluated);
    assert_true (mfa_test_db_int (fixture->mfa, "SELECT max(attempts) FROM challenges") <= 5);
    s_login_free (&login);
}

static void
test_parallel_right_code_single_use (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|mia", "mia@example.com", NULL);
    login_t login;
    s_login (fixture, "auth0|mia", &login);
    zhashx_t *tally = s_parallel_verify (fixture, &login, 50, 0);
    assert_int_equal (s_tally (tally, "ok"), 1);
    zhashx_destroy (&tally);
    s_login_free (&login);
}

static void
test_failure_bucket (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|noah", "noah@example.com", &recovery);
    //  Ten wrong codes over several challenges empty the bucket (S5)...
    login_t login = { 0 };
    for (int i = 0; i < 10; i++) {
        if (i % 4 == 0) {
            s_login_free (&login);
            s_login (fixture, "auth0|noah", &login);
        }
        char wrong [7];
        s_wrong (login.code, i, wrong);
        pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, wrong);
        assert_reply_error (reply, "invalid_grant", "Invalid binding_code.");
        pst_msg_destroy (&reply);
    }
    //  ...then even a new challenge's right code is refused
    s_login_free (&login);
    s_login (fixture, "auth0|noah", &login);
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "too_many_attempts",
                        "Too many failed codes. Wait for some minutes before retrying.");
    assert_true (pst_msg_get_int (reply, "retry_after", 0) > 0);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_otp_rate_limit_exceed'"), 1);

    //  One token back after the refill interval (a new login: the code expired)
    mfa_test_clock_advance (fixture->mfa->config->fail_refill_s * 1000LL);
    s_login_free (&login);
    s_login (fixture, "auth0|noah", &login);
    char wrong [7];
    s_wrong (login.code, 0, wrong);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, wrong);
    assert_reply_error (reply, "invalid_grant", "Invalid binding_code.");
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "too_many_attempts", NULL);
    pst_msg_destroy (&reply);

    //  The recovery code still lets the user in, and success refills the bucket
    reply = mfa_test_recover (fixture->mfa, login.token, recovery);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&login);
    s_login (fixture, "auth0|noah", &login);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&login);
    free (recovery);
}

//  Wrong recovery codes have a throttle of their own, slower than the failure
//  bucket's refill: whoever knows the password cannot use them to keep the
//  user's email codes refused, nor guess at request rate
static void
test_recovery_bucket (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    const mfa_config_t *config = fixture->mfa->config;
    assert_true (config->recovery_capacity < config->fail_capacity);
    assert_true ((int64_t) config->recovery_refill_s * config->fail_capacity
               > (int64_t) config->fail_refill_s * config->recovery_capacity);
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|rita", "rita@example.com", &recovery);
    login_t login = { 0 };
    s_login (fixture, "auth0|rita", &login);
    for (int i = 0; i < config->recovery_capacity; i++) {
        pst_msg_t *reply = mfa_test_recover (fixture->mfa, login.token, "AAAAAAAAAAAAAAAAAAAAAAAA");
        assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
        pst_msg_destroy (&reply);
    }
    //  The bucket is empty: even the right code waits, and nothing is counted
    int failures = mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_recovery_failed'");
    pst_msg_t *reply = mfa_test_recover (fixture->mfa, login.token, recovery);
    assert_reply_error (reply, "too_many_attempts",
                        "Too many failed recovery codes. Wait for some minutes before retrying.");
    assert_true (pst_msg_get_int (reply, "retry_after", 0) > 0);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_recovery_failed'"), failures);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_recovery_rate_limit_exceed'"), 1);
    //  Each wrong one cost a token of the failure bucket too (S12), but the email
    //  code still works: the recovery bucket ran out first
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&login);
    //  One recovery attempt back after its refill interval
    mfa_test_clock_advance (config->recovery_refill_s * 1000LL);
    s_login (fixture, "auth0|rita", &login);
    reply = mfa_test_recover (fixture->mfa, login.token, recovery);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&login);
    free (recovery);
}

static void
test_send_limit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    int burst = fixture->mfa->config->send_capacity;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|olga", "olga@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|olga", "olga@example.com");
    //  The association used one email of the burst
    for (int i = 1; i < burst; i++) {
        pst_msg_t *reply = mfa_test_challenge (fixture->mfa, token);
        assert_reply_ok (reply);
        pst_msg_destroy (&reply);
    }
    assert_int_equal (test_mailer_count (fixture->mailer), burst);
    long long challenges = mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM challenges");
    int64_t asked_s = mfa_test_now_ms () / 1000;
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, token);
    int64_t answered_s = mfa_test_now_ms () / 1000;
    assert_reply_error (reply, "too_many_requests", NULL);
    int retry_after = (int) pst_msg_get_int (reply, "retry_after", 0);
    assert_true (retry_after > 0 && retry_after <= fixture->mfa->config->send_refill_s);
    //  What the gateway turns into X-RateLimit-* headers
    json_t *limit = json_object_get (pst_msg_body (reply), "rate_limit");
    assert_int_equal (json_integer_value (json_object_get (limit, "limit")), burst);
    assert_int_equal (json_integer_value (json_object_get (limit, "remaining")), 0);
    //  ... the reset counted from when mfa answered (a second may turn meanwhile)
    json_int_t reset = json_integer_value (json_object_get (limit, "reset"));
    assert_true (reset >= asked_s + retry_after && reset <= answered_s + retry_after);
    pst_msg_destroy (&reply);
    //  No email, no challenge (S6)
    assert_int_equal (test_mailer_count (fixture->mailer), burst);
    assert_int_equal (mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM challenges"), challenges);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_send_limit_exceed'"), 1);

    //  One more a refill interval later
    mfa_test_clock_advance (fixture->mfa->config->send_refill_s * 1000LL);
    reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_error (reply, "too_many_requests", NULL);
    pst_msg_destroy (&reply);
    free (token);
}

static void
test_no_mailer (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    mfa_test_factor (mfa, "email", 1);
    char *token = mfa_test_begin (mfa, "auth0|pete", "pete@example.com");
    pst_msg_t *reply = mfa_test_call (mfa, "mfa.associate",
        json_pack ("{s:s, s:[s]}", "mfa_token", token, "authenticator_types", "oob"), NULL, 800);
    assert_reply_error (reply, "temporarily_unavailable", NULL);
    pst_msg_destroy (&reply);
    //  The challenge exists only as void (S20)
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM challenges"), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM challenges WHERE state = 'void'"), 1);

    //  With a mailer the same association goes through
    test_mailer_t *mailer = test_mailer_new (mfa->jobs);
    reply = mfa_test_associate (mfa, token);
    assert_reply_ok (reply);
    char *oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (mailer), 1);
    char *code = test_mailer_code (mailer);
    reply = mfa_test_verify (mfa, token, oob_code, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (code);
    free (oob_code);
    free (token);
    test_mailer_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

static void
test_no_secret_at_rest (void **state)
{
    (void) state;
    test_log_capture ();

    mfa_harness_t *mfa = mfa_harness_new (NULL);
    test_mailer_t *mailer = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    char *token = mfa_test_begin (mfa, "auth0|quinn", "quinn@example.com");
    pst_msg_t *reply = mfa_test_associate (mfa, token);
    assert_reply_ok (reply);
    char *oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    char *recovery = strdup (json_string_value (json_array_get (
        json_object_get (pst_msg_body (reply), "recovery_codes"), 0)));
    pst_msg_destroy (&reply);
    char *code = test_mailer_code (mailer);
    reply = mfa_test_verify (mfa, token, oob_code, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    //  A recovery login too, so its replacement code exists somewhere
    char *second = mfa_test_begin (mfa, "auth0|quinn", "quinn@example.com");
    reply = mfa_test_recover (mfa, second, recovery);
    assert_reply_ok (reply);
    char *replacement = strdup (pst_msg_get_str (reply, "recovery_code"));
    pst_msg_destroy (&reply);

    //  The positive control: the searched files do hold what the flow wrote
    assert_true (mfa_test_dir_contains (mfa, "auth0|quinn"));
    const char *secrets [] = { code, oob_code, token, second, recovery, replacement, NULL };
    for (int i = 0; secrets [i]; i++)
        assert_false (mfa_test_dir_contains (mfa, secrets [i]));

    char *logged = test_log_captured (STDERR_FILENO);
    assert_non_null (strstr (logged, "gd_enrollment_complete"));
    for (int i = 0; secrets [i]; i++)
        assert_null (strstr (logged, secrets [i]));
    free (logged);

    free (replacement);
    free (second);
    free (code);
    free (recovery);
    free (oob_code);
    free (token);
    test_mailer_destroy (&mailer);
    mfa_harness_destroy (&mfa);
}

static void
test_retried_request_id (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|rosa", "rosa@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, "auth0|rosa", "rosa@example.com");
    int jobs = test_mailer_count (fixture->mailer);

    pst_msg_t *request = pst_msg_new_request ("challenge.create", 3000);
    json_t *body = json_pack ("{s:s, s:s}", "mfa_token", token, "client_id", "app1");
    pst_msg_set_body (request, &body);
    pst_msg_t *first = pst_client_call (fixture->mfa->client, request);
    pst_msg_t *again = pst_client_call (fixture->mfa->client, request);
    assert_reply_ok (first);
    assert_reply_ok (again);
    //  Same oob_code, one email (S26)
    assert_string_equal (pst_msg_get_str (first, "oob_code"), pst_msg_get_str (again, "oob_code"));
    assert_int_equal (test_mailer_count (fixture->mailer), jobs + 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE state = 'pending'"), 1);
    char *oob_code = strdup (pst_msg_get_str (first, "oob_code"));
    pst_msg_destroy (&first);
    pst_msg_destroy (&again);
    pst_msg_destroy (&request);

    //  A retried verification gets the same success, not "already used"
    char *code = test_mailer_code (fixture->mailer);
    request = pst_msg_new_request ("mfa.verify_oob", 3000);
    body = json_pack ("{s:s, s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                      "oob_code", oob_code, "binding_code", code);
    pst_msg_set_body (request, &body);
    first = pst_client_call (fixture->mfa->authn, request);
    again = pst_client_call (fixture->mfa->authn, request);
    assert_reply_ok (first);
    assert_reply_ok (again);
    assert_string_equal (pst_msg_get_str (again, "user_id"), "auth0|rosa");
    pst_msg_destroy (&first);
    pst_msg_destroy (&again);
    pst_msg_destroy (&request);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_auth_succeed'"), 1);
    //  ...while a new request id is a new attempt
    pst_msg_t *fresh = mfa_test_verify (fixture->mfa, token, oob_code, code);
    assert_reply_error (fresh, "invalid_grant", NULL);
    pst_msg_destroy (&fresh);
    free (code);
    free (oob_code);
    free (token);
}

//  What changes when another connection commits a write to db, as text
//  (caller frees). SQLite: PRAGMA data_version. PostgreSQL has no such
//  counter for one database: every row of mfa's tables with the transaction
//  that wrote it (xmin), so an insert, update or delete all show.
static char *
s_data_version (pst_sql_t *db)
{
    const char *sql = pst_sql_engine (db) == PST_SQL_SQLITE
        ? "PRAGMA data_version"
        : "SELECT md5 (coalesce (string_agg (r, ',' ORDER BY r), '')) FROM ("
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) AS r FROM factors t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM policies t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM mfa_tokens t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM authenticators t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM recovery_codes t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM challenges t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM buckets t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM mail_jobs t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM audit t UNION ALL"
          " SELECT CAST(t.xmin AS TEXT) || CAST(t AS TEXT) FROM reply_cache t) rows";
    pst_sql_stmt_t *stmt = pst_sql_query (db, sql, "");
    assert_non_null (stmt);
    assert_int_equal (pst_sql_step (stmt), 1);
    char *version = pst_sql_strdup (stmt, 0);
    assert_non_null (version);
    pst_sql_done (stmt);
    return version;
}

//  One refused request: op with mfa_token (NULL: none) and client_id, and the
//  answer expected, as it was before the token was checked ahead of the cache
static void
s_refused (fixture_t *fixture, const char *op, const char *token, const char *client_id,
           const char *error, const char *text)
{
    json_t *body = json_pack ("{s:s, s:[s], s:[s], s:s, s:s, s:s, s:s}",
        "client_id", client_id, "authenticator_types", "oob", "oob_channels", "email",
        "challenge_type", "oob", "oob_code", "some-oob-code", "binding_code", "123456",
        "recovery_code", "ABCDEFGHIJKLMNOPQRSTUVWX");
    if (token)
        json_object_set_new (body, "mfa_token", json_string (token));
    pst_msg_t *reply = mfa_test_call (fixture->mfa, op, body, NULL, 3000);
    assert_reply_error (reply, error, text);
    pst_msg_destroy (&reply);
}

//  Without a live mfa_token, the ops bound to one write nothing: no reply cache
//  row, no audit row, no commit at all, whatever the request id. So nobody
//  grows mfa.db without a password.
static void
test_dead_tokens_write_nothing (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|zoe", "zoe@example.com", NULL);
    char *expired = mfa_test_begin (fixture->mfa, "auth0|zoe", "zoe@example.com");
    mfa_test_clock_advance (601 * 1000);
    login_t used;
    s_login (fixture, "auth0|zoe", &used);
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, used.token, used.oob_code, used.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *live = mfa_test_begin (fixture->mfa, "auth0|zoe", "zoe@example.com");
    int jobs = test_mailer_count (fixture->mailer);
    long long cached = mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM reply_cache");
    long long audited = mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM audit");
    assert_true (cached > 0 && audited > 0);
    pst_sql_t *db = mfa_test_db (fixture->mfa);
    char *version = s_data_version (db);

    //  Made-up tokens, each request with its own id
    const char *grants [] = { "challenge.create", "mfa.verify_oob", "mfa.verify_recovery" };
    for (int i = 0; i < 60; i++) {
        char junk [64];
        assert_int_equal (pst_random_token (junk, sizeof junk, 32), 0);
        if (i % 4 == 0)
            s_refused (fixture, "mfa.associate", junk, "app1", "invalid_token", "Invalid mfa_token");
        else
            s_refused (fixture, grants [i % 4 - 1], junk, "app1",
                       "invalid_grant", "Malformed mfa_token");
    }
    char overlong [400];
    memset (overlong, 'A', sizeof overlong - 1);
    overlong [sizeof overlong - 1] = '\0';
    s_refused (fixture, "mfa.associate", overlong, "app1", "invalid_token", "Invalid mfa_token");
    s_refused (fixture, "mfa.associate", NULL, "app1",
               "invalid_token", "Missing required parameter: mfa_token");
    //  Tokens mfa issued, but used or expired
    s_refused (fixture, "mfa.associate", used.token, "app1", "invalid_token", "Invalid mfa_token");
    s_refused (fixture, "mfa.associate", expired, "app1", "invalid_token", "mfa_token is expired");
    for (int i = 0; i < 3; i++) {
        s_refused (fixture, grants [i], overlong, "app1", "invalid_grant", "Malformed mfa_token");
        s_refused (fixture, grants [i], NULL, "app1",
                   "invalid_request", "Missing required parameter: mfa_token");
        s_refused (fixture, grants [i], used.token, "app1",
                   "invalid_grant", "mfa_token has already been used");
        s_refused (fixture, grants [i], expired, "app1", "expired_token", "mfa_token is expired");
        //  A live token, from another client than the one it was issued to
        s_refused (fixture, grants [i], live, "app2",
                   "invalid_grant", "mfa_token was not issued to this client");
    }
    char *now_version = s_data_version (db);
    assert_string_equal (now_version, version);
    free (now_version);
    assert_int_equal (mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM reply_cache"), cached);
    assert_int_equal (mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM audit"), audited);
    assert_int_equal (test_mailer_count (fixture->mailer), jobs);

    //  The live token still works, and that does write
    reply = mfa_test_challenge (fixture->mfa, live);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    now_version = s_data_version (db);
    assert_string_not_equal (now_version, version);
    free (now_version);
    free (version);
    assert_int_equal (mfa_test_db_int (fixture->mfa, "SELECT count(*) FROM reply_cache"),
                      cached + 1);
    pst_sql_close (&db);
    free (live);
    free (expired);
    s_login_free (&used);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_attempt_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_parallel_wrong_guesses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_parallel_right_code_single_use, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recovery_bucket, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failure_bucket, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_send_limit, s_setup, s_teardown),
        cmocka_unit_test (test_no_mailer),
        cmocka_unit_test (test_no_secret_at_rest),
        cmocka_unit_test_setup_teardown (test_retried_request_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_dead_tokens_write_nothing, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
