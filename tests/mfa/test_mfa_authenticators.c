//  Service tests of the authenticator operations: the MFA API's list and delete
//  (the user, by mfa_token or /mfa/ access token) and the Management API's
//  authentication methods, reset and recovery code regeneration.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <regex.h>
#include <string.h>
#include "mfa_authenticators.h"
#include "mfa_test_support.h"

#define ALICE           "auth0|alice"
#define BOB             "auth0|bob"
#define LIST_SCOPE      "read:authenticators"
#define REMOVE_SCOPE    "remove:authenticators"
#define METHODS_READ    "read:authentication_methods"
#define METHODS_DELETE  "delete:authentication_methods"

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

//  ---------------------------------------------------------------------------
//  Helpers

//  authenticators.list with an mfa_token
static pst_msg_t *
s_list_by_token (fixture_t *fixture, const char *token)
{
    return mfa_test_call_as (fixture->mfa, "authenticators.list",
                             json_pack ("{s:s}", "mfa_token", token), NULL, NULL, 3000);
}

//  authenticators.list as the gateway sends it for an /mfa/ access token
static pst_msg_t *
s_list_as (fixture_t *fixture, const char *user_id, const char *scopes)
{
    return mfa_test_call_as (fixture->mfa, "authenticators.list", NULL, user_id, scopes, 3000);
}

//  As the gateway sends it for an access token of user_id issued to client "app1"
static pst_msg_t *
s_delete_as (fixture_t *fixture, const char *user_id, const char *scopes, const char *id)
{
    pst_msg_t *request = pst_msg_new_request ("authenticators.delete", 3000);
    assert_non_null (request);
    json_t *body = json_pack ("{s:s}", "id", id);
    pst_msg_set_body (request, &body);
    pst_msg_set_caller (request, user_id, scopes);
    pst_msg_set_caller_client (request, "app1");
    pst_msg_set_client_ip (request, "127.0.0.1");
    pst_msg_t *reply = pst_client_call (fixture->mfa->client, request);
    pst_msg_destroy (&request);
    return reply;
}

//  The Management API calls, from an administrator holding scopes
static pst_msg_t *
s_admin (fixture_t *fixture, const char *op, const char *user_id, const char *method_id,
         const char *scopes)
{
    json_t *body = json_pack ("{s:s}", "id", user_id);
    if (method_id)
        json_object_set_new (body, "sub_id", json_string (method_id));
    return mfa_test_call_as (fixture->mfa, op, body, "admin@clients", scopes, 3000);
}

static json_t *
s_result (const pst_msg_t *reply)
{
    json_t *result = json_object_get (pst_msg_body (reply), "result");
    assert_true (json_is_array (result));
    return result;
}

static const char *
s_item_str (json_t *list, size_t index, const char *key)
{
    return json_string_value (json_object_get (json_array_get (list, index), key));
}

//  The id of the user's authenticator of that type, from the store; caller frees.
static char *
s_authenticator_id (fixture_t *fixture, const char *user_id, const char *type)
{
    pst_sql_t *db = mfa_test_db (fixture->mfa);
    pst_sql_stmt_t *stmt = pst_sql_query (db,
        "SELECT id FROM authenticators WHERE user_id = ? AND type = ?", "tt", user_id, type);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_step (stmt), 1);
    char *id = pst_sql_strdup (stmt, 0);
    assert_non_null (id);
    pst_sql_done (stmt);
    pst_sql_close (&db);
    return id;
}

static long long
s_count (fixture_t *fixture, const char *sql)
{
    return mfa_test_db_int (fixture->mfa, sql);
}

//  A sign-in of an enrolled user up to the mailed code
typedef struct {
    char *token;
    char *oob_code;
    char *code;
} login_t;

static void
s_login (fixture_t *fixture, const char *user_id, const char *email, login_t *login)
{
    login->token = mfa_test_begin (fixture->mfa, user_id, email);
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
}

//  ---------------------------------------------------------------------------
//  Masking

static void
test_mask_email (void **state)
{
    (void) state;
    struct { const char *email, *name; } cases [] = {
        { "example@example.com",    "ex*****@example.com" },
        { "abcd@x.io",              "ab*****@x.io" },
        { "abc@x.io",               "a*****@x.io" },
        { "a@x.io",                 "a*****@x.io" },
        { "not-an-address",         "*****" },
        { "two@@x.io",              "*****" },
        { "caf\xc3\xa9@x.io",       "*****" },
        { "",                       "*****" },
    };
    char name [300];
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        mfa_authenticators_mask_email (cases [i].email, name, sizeof name);
        assert_string_equal (name, cases [i].name);
    }
    mfa_authenticators_mask_email (NULL, name, sizeof name);
    assert_string_equal (name, "*****");
    //  A short buffer truncates, never overflows
    mfa_authenticators_mask_email ("example@example.com", name, 6);
    assert_string_equal (name, "ex***");
}

//  ---------------------------------------------------------------------------
//  MFA API: list

static void
test_list_with_mfa_token (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", NULL);
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    pst_msg_t *reply = s_list_by_token (fixture, token);
    assert_reply_ok (reply);
    json_t *list = s_result (reply);
    assert_int_equal (json_array_size (list), 2);
    //  Recovery code first, as Auth0 lists it; then the email, its address masked
    assert_string_equal (s_item_str (list, 0, "authenticator_type"), "recovery-code");
    assert_memory_equal (s_item_str (list, 0, "id"), "recovery-code|dev_", 18);
    assert_true (json_is_true (json_object_get (json_array_get (list, 0), "active")));
    assert_null (json_object_get (json_array_get (list, 0), "name"));
    assert_string_equal (s_item_str (list, 1, "authenticator_type"), "oob");
    assert_string_equal (s_item_str (list, 1, "oob_channel"), "email");
    assert_string_equal (s_item_str (list, 1, "name"), "al*****@example.com");
    assert_memory_equal (s_item_str (list, 1, "id"), "email|dev_", 10);
    assert_true (json_is_true (json_object_get (json_array_get (list, 1), "active")));
    char *text = json_dumps (list, JSON_COMPACT);
    assert_null (strstr (text, "alice@"));
    free (text);
    pst_msg_destroy (&reply);

    //  Listing spends nothing: the same mfa_token still signs in
    reply = s_list_by_token (fixture, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);

    //  A user half way through enrolment sees the authenticators as inactive
    char *bob = mfa_test_begin (fixture->mfa, BOB, "bo@example.com");
    reply = mfa_test_associate (fixture->mfa, bob);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_list_by_token (fixture, bob);
    assert_reply_ok (reply);
    list = s_result (reply);
    assert_int_equal (json_array_size (list), 2);
    assert_true (json_is_false (json_object_get (json_array_get (list, 0), "active")));
    assert_true (json_is_false (json_object_get (json_array_get (list, 1), "active")));
    assert_string_equal (s_item_str (list, 1, "name"), "b*****@example.com");
    pst_msg_destroy (&reply);
    free (bob);
    free (token);
}

static void
test_list_refusals (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", NULL);

    pst_msg_t *reply = s_list_by_token (fixture, "not-a-token");
    assert_reply_error (reply, "invalid_token", "Invalid mfa_token");
    pst_msg_destroy (&reply);

    //  Used: the grant it served ended it
    login_t login;
    s_login (fixture, ALICE, "alice@example.com", &login);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_list_by_token (fixture, login.token);
    assert_reply_error (reply, "invalid_token", "Invalid mfa_token");
    pst_msg_destroy (&reply);
    s_login_free (&login);

    //  Expired
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    mfa_test_clock_advance (601 * 1000);
    reply = s_list_by_token (fixture, token);
    assert_reply_error (reply, "invalid_token", "mfa_token is expired");
    pst_msg_destroy (&reply);
    free (token);

    //  No credential at all
    reply = s_list_as (fixture, NULL, NULL);
    assert_reply_error (reply, "invalid_token", NULL);
    pst_msg_destroy (&reply);

    //  An access token without read:authenticators
    reply = s_list_as (fixture, ALICE, "enroll " REMOVE_SCOPE);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
}

static void
test_list_with_access_token (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", NULL);
    pst_msg_t *reply = s_list_as (fixture, ALICE, "openid " LIST_SCOPE);
    assert_reply_ok (reply);
    json_t *list = s_result (reply);
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (s_item_str (list, 1, "name"), "al*****@example.com");
    pst_msg_destroy (&reply);

    //  The token's subject decides whose list it is
    reply = s_list_as (fixture, BOB, LIST_SCOPE);
    assert_reply_ok (reply);
    assert_int_equal (json_array_size (s_result (reply)), 0);
    pst_msg_destroy (&reply);
}

//  ---------------------------------------------------------------------------
//  MFA API: delete

static void
test_delete_email_unenrols (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", &recovery);
    mfa_test_enrol (fixture->mfa, fixture->mailer, BOB, "bob@example.com", NULL);
    char *email_id = s_authenticator_id (fixture, ALICE, "email");
    char *bob_id = s_authenticator_id (fixture, BOB, "email");
    //  A sign-in is waiting for its code when the authenticator goes
    login_t login;
    s_login (fixture, ALICE, "alice@example.com", &login);

    //  Refusals first; none of them changes anything
    pst_msg_t *reply = s_delete_as (fixture, ALICE, LIST_SCOPE, email_id);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call_as (fixture->mfa, "authenticators.delete",
        json_pack ("{s:s, s:s}", "id", email_id, "mfa_token", login.token), NULL, NULL, 3000);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    //  Someone else's authenticator is as unknown as a made-up one
    reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, bob_id);
    assert_reply_error (reply, "not_found", "Authenticator not found");
    pst_msg_destroy (&reply);
    reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, "email|dev_nope");
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM authenticators"), 4);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM challenges WHERE state = 'pending'"), 1);

    reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, email_id);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    //  The mailed code is void: it signs nobody in any more
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM challenges WHERE state = 'void'"), 1);
    //  It was the last second factor: the recovery code went with it
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|alice'"), 0);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM recovery_codes WHERE user_id = 'auth0|alice'"), 0);
    reply = mfa_test_recover (fixture->mfa, login.token, recovery);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);
    //  Bob keeps his
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|bob' AND active = 1"), 2);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM audit WHERE type = 'gd_unenroll' AND result = 'success'"
        " AND user_id = 'auth0|alice' AND client_id = 'app1'"), 1);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM audit WHERE type = 'gd_unenroll' AND result = 'failure'"), 2);

    //  Gone: a second delete finds nothing; the user enrols again
    reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, email_id);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_ok (reply);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "recovery_codes")), 1);
    pst_msg_destroy (&reply);
    free (token);
    s_login_free (&login);
    free (bob_id);
    free (email_id);
    free (recovery);
}

static void
test_delete_recovery_code_only (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", &recovery);
    char *recovery_id = s_authenticator_id (fixture, ALICE, "recovery-code");
    pst_msg_t *reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, recovery_id);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    //  The email factor stays; the old recovery code opens nothing
    reply = s_list_as (fixture, ALICE, LIST_SCOPE);
    assert_reply_ok (reply);
    json_t *list = s_result (reply);
    assert_int_equal (json_array_size (list), 1);
    assert_string_equal (s_item_str (list, 0, "authenticator_type"), "oob");
    pst_msg_destroy (&reply);
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    reply = mfa_test_recover (fixture->mfa, token, recovery);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM recovery_codes"), 0);
    free (token);
    free (recovery_id);
    free (recovery);
}

//  ---------------------------------------------------------------------------
//  Management API

static void
test_methods_list (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", NULL);
    pst_msg_t *reply = s_admin (fixture, "authentication_methods.list", ALICE, NULL, METHODS_READ);
    assert_reply_ok (reply);
    json_t *list = s_result (reply);
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (s_item_str (list, 0, "type"), "recovery-code");
    assert_null (json_object_get (json_array_get (list, 0), "email"));
    assert_string_equal (s_item_str (list, 1, "type"), "email");
    //  An administrator sees the address itself
    assert_string_equal (s_item_str (list, 1, "email"), "alice@example.com");
    regex_t iso;
    assert_int_equal (regcomp (&iso,
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
        REG_EXTENDED | REG_NOSUB), 0);
    for (size_t i = 0; i < 2; i++) {
        assert_true (json_is_true (json_object_get (json_array_get (list, i), "confirmed")));
        assert_int_equal (regexec (&iso, s_item_str (list, i, "created_at"), 0, NULL, 0), 0);
        assert_non_null (s_item_str (list, i, "id"));
    }
    regfree (&iso);
    pst_msg_destroy (&reply);

    //  Unconfirmed methods show as such; a user mfa never saw has none
    char *token = mfa_test_begin (fixture->mfa, BOB, "bob@example.com");
    reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_admin (fixture, "authentication_methods.list", BOB, NULL, METHODS_READ);
    assert_reply_ok (reply);
    list = s_result (reply);
    assert_int_equal (json_array_size (list), 2);
    assert_true (json_is_false (json_object_get (json_array_get (list, 1), "confirmed")));
    pst_msg_destroy (&reply);
    reply = s_admin (fixture, "authentication_methods.list", "auth0|nobody", NULL, METHODS_READ);
    assert_reply_ok (reply);
    assert_int_equal (json_array_size (s_result (reply)), 0);
    pst_msg_destroy (&reply);
    free (token);

    //  Scope and input
    reply = s_admin (fixture, "authentication_methods.list", ALICE, NULL, "read:users");
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call_as (fixture->mfa, "authentication_methods.list", NULL,
                              "admin@clients", METHODS_READ, 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
}

static void
test_methods_delete (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", NULL);
    mfa_test_enrol (fixture->mfa, fixture->mailer, BOB, "bob@example.com", NULL);
    char *email_id = s_authenticator_id (fixture, ALICE, "email");
    char *bob_id = s_authenticator_id (fixture, BOB, "email");
    login_t login;
    s_login (fixture, ALICE, "alice@example.com", &login);

    pst_msg_t *reply = s_admin (fixture, "authentication_methods.delete", ALICE, email_id,
                                METHODS_READ);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = s_admin (fixture, "authentication_methods.delete", ALICE, bob_id, METHODS_DELETE);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    reply = s_admin (fixture, "authentication_methods.delete", ALICE, NULL, METHODS_DELETE);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM authenticators"), 4);

    reply = s_admin (fixture, "authentication_methods.delete", ALICE, email_id, METHODS_DELETE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|alice'"), 0);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM authenticators"), 2);
    //  The audit names the administrator
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM audit WHERE type = 'gd_unenroll' AND result = 'success'"
        " AND user_id = 'auth0|alice' AND client_id = 'admin@clients'"), 1);
    reply = s_admin (fixture, "authentication_methods.delete", ALICE, email_id, METHODS_DELETE);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    s_login_free (&login);
    free (bob_id);
    free (email_id);
}

static void
test_methods_reset (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", &recovery);
    mfa_test_enrol (fixture->mfa, fixture->mailer, BOB, "bob@example.com", NULL);
    login_t login;
    s_login (fixture, ALICE, "alice@example.com", &login);

    pst_msg_t *reply = s_admin (fixture, "authentication_methods.delete_all", ALICE, NULL,
                                METHODS_READ);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM authenticators"), 4);

    reply = s_admin (fixture, "authentication_methods.delete_all", ALICE, NULL, METHODS_DELETE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|alice'"), 0);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM recovery_codes WHERE user_id = 'auth0|alice'"), 0);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM challenges WHERE user_id = 'auth0|alice' AND state = 'pending'"), 0);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM authenticators"), 2);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_recover (fixture->mfa, login.token, recovery);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);

    //  Reset means: the next sign-in enrols again
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_error (reply, "association_required", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_ok (reply);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "recovery_codes")), 1);
    pst_msg_destroy (&reply);

    //  Resetting a user with nothing is no error
    reply = s_admin (fixture, "authentication_methods.delete_all", "auth0|nobody", NULL,
                     METHODS_DELETE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    s_login_free (&login);
    free (recovery);
}

static void
test_recovery_regeneration (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *old_code = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, ALICE, "alice@example.com", &old_code);

    pst_msg_t *reply = s_admin (fixture, "recovery_code.regenerate", ALICE, NULL, "read:users");
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    //  Not enrolled: nothing to regenerate
    reply = s_admin (fixture, "recovery_code.regenerate", BOB, NULL, "update:users");
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture, "SELECT count(*) FROM recovery_codes"), 1);

    //  A retried request (same id) gets the same code, not a second one
    pst_msg_t *request = pst_msg_new_request ("recovery_code.regenerate", 3000);
    json_object_set_new (pst_msg_body (request), "id", json_string (ALICE));
    pst_msg_set_caller (request, "admin@clients", "update:users");
    reply = pst_client_call (fixture->mfa->authn, request);
    assert_reply_ok (reply);
    char *new_code = strdup (pst_msg_get_str (reply, "recovery_code"));
    pst_msg_destroy (&reply);
    reply = pst_client_call (fixture->mfa->authn, request);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "recovery_code"), new_code);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    assert_int_equal (strlen (new_code), 24);
    assert_int_equal (strspn (new_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 24);
    assert_string_not_equal (new_code, old_code);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM audit WHERE type = 'gd_update_device_account'"
        " AND result = 'success'"), 1);
    assert_false (mfa_test_dir_contains (fixture->mfa, new_code));

    //  The old code stopped working, the new one works
    char *token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    reply = mfa_test_recover (fixture->mfa, token, old_code);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);
    reply = mfa_test_recover (fixture->mfa, token, new_code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);

    //  A user who removed the recovery-code authenticator gets it back
    char *recovery_id = s_authenticator_id (fixture, ALICE, "recovery-code");
    reply = s_delete_as (fixture, ALICE, REMOVE_SCOPE, recovery_id);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_admin (fixture, "recovery_code.regenerate", ALICE, NULL, "update:users");
    assert_reply_ok (reply);
    char *third = strdup (pst_msg_get_str (reply, "recovery_code"));
    pst_msg_destroy (&reply);
    assert_int_equal (s_count (fixture,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|alice'"
        " AND type = 'recovery-code' AND active = 1"), 1);
    token = mfa_test_begin (fixture->mfa, ALICE, "alice@example.com");
    reply = mfa_test_recover (fixture->mfa, token, third);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);

    //  With the factor off a code would open nothing: refused, nothing changed
    mfa_test_factor (fixture->mfa, "recovery-code", 0);
    reply = s_admin (fixture, "recovery_code.regenerate", ALICE, NULL, "update:users");
    assert_reply_error (reply, "bad_request", "The recovery-code factor is not enabled.");
    pst_msg_destroy (&reply);
    free (third);
    free (recovery_id);
    free (new_code);
    free (old_code);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_mask_email),
        cmocka_unit_test_setup_teardown (test_list_with_mfa_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_list_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_list_with_access_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_delete_email_unenrols, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_delete_recovery_code_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_methods_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_methods_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_methods_reset, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recovery_regeneration, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
