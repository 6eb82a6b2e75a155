/*  mfa_test_support - runs the real mfa actor in-process for service tests, with
    a movable clock, a caller playing authn/gateway and a fake mailer.
*/
#ifndef MFA_TEST_SUPPORT_H_INCLUDED
#define MFA_TEST_SUPPORT_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include "mfa_config.h"
#include "pst_bus.h"
#include "pst_sql.h"

//  The test clock: real time plus an offset the test moves forward.
int64_t
    mfa_test_now_ms (void);
void
    mfa_test_clock_advance (int64_t ms);
void
    mfa_test_clock_reset (void);

//  ---------------------------------------------------------------------------
//  The service under test

typedef struct {
    char dir [64];              //  temp data dir (mkdtemp)
    mfa_config_t *config;
    zactor_t *server;
    char *api;                  //  bound api endpoint
    char *jobs;                 //  bound jobs endpoint
    pst_client_t *client;       //  plays the gateway
    pst_client_t *authn;        //  plays authn
} mfa_harness_t;

//  Starts mfa on tcp://127.0.0.1:* in a fresh temp dir. tune (may be NULL)
//  adjusts the configuration first. Asserts (cmocka) on failure.
mfa_harness_t *
    mfa_harness_new (void (*tune) (mfa_config_t *config));
void
    mfa_harness_destroy (mfa_harness_t **self_p);

//  Calls op with body (taken) and scopes (may be NULL); the reply (caller
//  destroys) or NULL on timeout.
pst_msg_t *
    mfa_test_call (mfa_harness_t *self, const char *op, json_t *body, const char *scopes,
                   int timeout_ms);
//  The same with the caller named, as the gateway sends the sub of a verified
//  access token; caller NULL sends none.
pst_msg_t *
    mfa_test_call_as (mfa_harness_t *self, const char *op, json_t *body, const char *caller,
                      const char *scopes, int timeout_ms);

//  Enables or disables a factor through factors.update; asserts success.
void
    mfa_test_factor (mfa_harness_t *self, const char *name, int enabled);

//  mfa.begin for a user of client "app1"; returns the mfa_token (caller frees),
//  asserts that MFA is required.
char *
    mfa_test_begin (mfa_harness_t *self, const char *user_id, const char *email);

//  The flow's calls, as authn and the gateway make them (client "app1").
pst_msg_t *
    mfa_test_associate (mfa_harness_t *self, const char *token);
pst_msg_t *
    mfa_test_challenge (mfa_harness_t *self, const char *token);
pst_msg_t *
    mfa_test_verify (mfa_harness_t *self, const char *token, const char *oob_code,
                     const char *binding_code);
pst_msg_t *
    mfa_test_recover (mfa_harness_t *self, const char *token, const char *recovery_code);

//  Opens the service's database for inspection, on its engine (the SQLite
//  file, or the PostgreSQL database of the pg run). Caller closes.
pst_sql_t *
    mfa_test_db (mfa_harness_t *self);
//  Integer answer of a one-row query on the database; -1 when none.
long long
    mfa_test_db_int (mfa_harness_t *self, const char *sql);
//  Polls a one-row query until it answers expected or timeout_ms passes (for
//  effects of one-way messages); returns the last answer.
long long
    mfa_test_db_wait (mfa_harness_t *self, const char *sql, long long expected, int timeout_ms);
//  1 when needle occurs in any file of the data dir (database, WAL, key...)
//  or, on PostgreSQL, in any row of mfa's tables.
int
    mfa_test_dir_contains (mfa_harness_t *self, const char *needle);

//  ---------------------------------------------------------------------------
//  A fake mailer: connects a DEALER to the jobs endpoint, announces credit,
//  acknowledges every mail.send (unless muted) and keeps the jobs.

typedef struct _test_mailer_t test_mailer_t;

test_mailer_t *
    test_mailer_new (const char *endpoint);
void
    test_mailer_destroy (test_mailer_t **self_p);
//  Jobs received so far.
int
    test_mailer_count (test_mailer_t *self);
//  The 6-digit code of the last job (read from its text part); caller frees.
char *
    test_mailer_code (test_mailer_t *self);
//  The last job's body as JSON text; caller frees.
char *
    test_mailer_last (test_mailer_t *self);
//  hold 1: from now on jobs are kept but not acknowledged; hold 0: the held acks
//  go out back to back, and every later job is acknowledged at once again.
void
    test_mailer_hold (test_mailer_t *self, int hold);
//  Sends mail.result {job_id, result} as a mailer does after delivery; 0 or -1.
int
    test_mailer_report (test_mailer_t *self, const char *job_id, const char *result);

//  The fixture most mfa service tests share: mfa started (tune may be NULL),
//  a fake mailer on its jobs socket, the email factor enabled.
typedef struct {
    mfa_harness_t *mfa;
    test_mailer_t *mailer;
} mfa_fixture_t;

mfa_fixture_t *
    mfa_fixture_new (void (*tune) (mfa_config_t *config));
void
    mfa_fixture_destroy (mfa_fixture_t **self_p);

//  Enrols user with an email authenticator: begin, associate, verify with the
//  mailed code. *recovery_p (if given) gets the recovery code; caller frees.
void
    mfa_test_enrol (mfa_harness_t *self, test_mailer_t *mailer, const char *user_id,
                    const char *email, char **recovery_p);

//  ---------------------------------------------------------------------------
//  Assertions on replies

#define assert_reply_ok(reply) do { \
    assert_non_null (reply); \
    assert_string_equal (pst_msg_is_error (reply)? pst_msg_error (reply): "ok", "ok"); \
} while (0)

#define assert_reply_error(reply, code, text) do { \
    assert_non_null (reply); \
    assert_string_equal (pst_msg_is_error (reply)? pst_msg_error (reply): "ok", code); \
    if (text) \
        assert_string_equal (pst_msg_error_text (reply), (const char *) text); \
} while (0)

#endif
