//  authn service test for the Management API's log events (authn_logs): the
//  real authn actor over the bus, the test standing in for the gateway and for
//  mfa. authn's own rows (sign-ins) merged with mfa's by log_id, a page past
//  the first asking mfa where its part begins, the users route, refusals
//  before mfa is asked, and mfa's silence.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/time.h>
#include "test_keys.h"
#include "test_peer.h"
#include "test_db.h"
#include "authn_config.h"
#include "authn_server.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_logs.h"

#define MGMT_SCOPES "create:clients create:users read:logs"
#define EMAIL       "logs@example.com"
#define PASSWORD    "correct horse battery"

static char s_dir [64];
static authn_config_t *s_config;
static zactor_t *s_authn;
static zsock_t *s_mfa;
static zsock_t *s_caller;
static char *s_app_id, *s_app_secret, *s_user_id;
static int64_t s_start_ms;          //  before anything was recorded

typedef void (mfa_fn) (const pst_msg_t *request, pst_msg_t *reply);

static int64_t
s_now_ms (void)
{
    struct timeval now;
    gettimeofday (&now, NULL);
    return (int64_t) now.tv_sec * 1000 + now.tv_usec / 1000;
}

static void
s_send (const char *op, json_t *body, const char *scopes, pst_msg_t **request_p)
{
    pst_msg_t *request = pst_msg_new_request (op, 3000);
    pst_msg_set_client_ip (request, "192.0.2.7");
    if (body)
        pst_msg_set_body (request, &body);
    if (scopes)
        pst_msg_set_caller (request, "test-admin@clients", scopes);
    assert_int_equal (pst_bus_send (s_caller, NULL, request), 0);
    *request_p = request;
}

//  Answers one call to mfa; 0, or -1 when none came within timeout_ms
static int
s_serve_mfa (mfa_fn *answer, pst_msg_t **seen_p, int timeout_ms)
{
    int rc = test_peer_serve (s_mfa, answer, timeout_ms, seen_p);
    assert_true (rc != -2);
    return rc;
}

static pst_msg_t *
s_reply_to (pst_msg_t **request_p)
{
    zsock_set_rcvtimeo (s_caller, 5000);
    pst_msg_t *reply = NULL;
    while (!reply) {
        reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        if (!streq (pst_msg_id (reply), pst_msg_id (*request_p)))
            pst_msg_destroy (&reply);
    }
    pst_msg_destroy (request_p);
    return reply;
}

static pst_msg_t *
s_call (const char *op, json_t *body, const char *scopes)
{
    pst_msg_t *request = NULL;
    s_send (op, body, scopes, &request);
    return s_reply_to (&request);
}

//  mfa's rows: two from before authn's sign-ins, in the order asked
static json_t *
s_mfa_rows (int order, int keys_only)
{
    json_t *rows = json_array ();
    const char *types [] = { "gd_start_auth", "gd_auth_failed" };
    for (int index = 0; index < 2; index++) {
        pst_logs_row_t row = {
            .id = index + 1, .date = s_start_ms - 60000 + index * 1000, .type = types [index],
            .user_id = s_user_id, .client_id = s_app_id, .result = index? "failure": "success"
        };
        json_array_append_new (rows, pst_logs_row (PST_LOGS_TAG_MFA, &row, keys_only));
    }
    if (order < 0) {
        json_t *reversed = json_array ();
        for (size_t index = json_array_size (rows); index > 0; index--)
            json_array_append (reversed, json_array_get (rows, index - 1));
        json_decref (rows);
        rows = reversed;
    }
    return rows;
}

//  The stand-in's logs.list: its rows from offset on, at most limit
static void
s_answer_logs (const pst_msg_t *request, pst_msg_t *reply)
{
    json_t *body = pst_msg_body (request);
    int64_t offset = json_integer_value (json_object_get (body, "offset"));
    int64_t limit = json_integer_value (json_object_get (body, "limit"));
    json_t *all = s_mfa_rows ((int) json_integer_value (json_object_get (body, "order")),
                              json_is_true (json_object_get (body, "keys_only")));
    //  After a checkpoint: the rows whose log_id sorts after it
    const char *from = json_string_value (json_object_get (body, "from"));
    size_t index;
    json_t *row;
    json_array_foreach (all, index, row) {
        const char *log_id = json_is_string (row)? json_string_value (row)
                           : json_string_value (json_object_get (row, "log_id"));
        if (from && strcmp (log_id, from) <= 0)
            json_array_remove (all, index--);
    }
    json_t *rows = json_array ();
    for (int64_t at = offset; at < offset + limit && at < (int64_t) json_array_size (all); at++)
        json_array_append (rows, json_array_get (all, (size_t) at));
    json_decref (all);
    json_t *answer = json_pack ("{s:o, s:i}", "rows", rows, "total", 2);
    pst_msg_set_body (reply, &answer);
}

//  A logs.list (or users.logs) call answered by the stand-in as often as
//  authn asks; *asks_p (if given) the bodies it was asked with
static pst_msg_t *
s_logs (const char *op, json_t *body, json_t **asks_p)
{
    pst_msg_t *request = NULL;
    s_send (op, body, "read:logs", &request);
    json_t *asks = json_array ();
    pst_msg_t *seen = NULL;
    while (s_serve_mfa (s_answer_logs, &seen, 500) == 0) {
        assert_string_equal (pst_msg_op (seen), "logs.list");
        assert_string_equal (pst_msg_scopes (seen), "read:logs");
        json_array_append (asks, pst_msg_body (seen));
        pst_msg_destroy (&seen);
    }
    if (asks_p)
        *asks_p = asks;
    else
        json_decref (asks);
    return s_reply_to (&request);
}

static char *
s_types (const json_t *events)
{
    char types [512] = "";
    size_t index;
    json_t *event;
    json_array_foreach (events, index, event)
        snprintf (types + strlen (types), sizeof types - strlen (types), "%s%s", index? " ": "",
                  json_string_value (json_object_get (event, "type")));
    return strdup (types);
}

static pst_msg_t *
s_password (const char *username, const char *password)
{
    return s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s}", "grant_type", "password",
        "username", username, "password", password, "client_id", s_app_id,
        "client_secret", s_app_secret), NULL);
}

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-logs-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    setenv ("POSTERN_DATA_DIR", s_dir, 1);
    setenv ("POSTERN_DOMAIN", "auth.test:8443", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "700", 1);
    test_keys_dir ();
    s_mfa = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    assert_non_null (s_mfa);
    s_config = authn_config_from_env ();
    assert_non_null (s_config);
    char *location = test_db_location (s_config->db_path);
    free (s_config->db_path);
    s_config->db_path = location;
    free (s_config->endpoint);
    s_config->endpoint = strdup ("tcp://127.0.0.1:*");
    free (s_config->mfa_endpoint);
    s_config->mfa_endpoint = zsock_last_endpoint (s_mfa);
    s_config->workers = 2;
    char *endpoint = NULL;
    s_authn = pst_actor_new (authn_server_actor, s_config, "s", &endpoint);
    assert_non_null (s_authn);
    s_caller = test_keys_dealer ("gateway", "authn", endpoint);
    assert_non_null (s_caller);
    zstr_free (&endpoint);
    s_start_ms = s_now_ms ();

    pst_msg_t *reply = s_call ("clients.create", json_pack ("{s:{s:s, s:s, s:[s]}}", "data",
        "name", "Logs app", "token_endpoint_auth_method", "client_secret_post",
        "grant_types", "password"), MGMT_SCOPES);
    assert_false (pst_msg_is_error (reply));
    s_app_id = strdup (pst_msg_get_str (reply, "client_id"));
    s_app_secret = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data", "email", EMAIL,
        "password", PASSWORD, "connection", "Username-Password-Authentication"), MGMT_SCOPES);
    assert_false (pst_msg_is_error (reply));
    s_user_id = strdup (pst_msg_get_str (reply, "user_id"));
    pst_msg_destroy (&reply);

    //  What authn records: a wrong password, an unknown user
    reply = s_password (EMAIL, "not the password");
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_GRANT);
    pst_msg_destroy (&reply);
    reply = s_password ("nobody@example.com", "not the password");
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_GRANT);
    pst_msg_destroy (&reply);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    zsock_destroy (&s_caller);
    zactor_destroy (&s_authn);
    test_keys_close (&s_mfa);
    authn_config_destroy (&s_config);
    free (s_app_id);
    free (s_app_secret);
    free (s_user_id);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  Both services' rows in one order, with the names authn holds
static void
test_merged (void **state)
{
    (void) state;
    json_t *asks = NULL;
    pst_msg_t *reply = s_logs ("logs.list", json_pack ("{s:{s:s}}", "query", "sort", "date:1"),
                               &asks);
    assert_false (pst_msg_is_error (reply));
    json_t *events = json_object_get (pst_msg_body (reply), "result");
    char *types = s_types (events);
    assert_string_equal (types, "gd_start_auth gd_auth_failed fp fu");
    free (types);
    json_t *fp = json_array_get (events, 2);
    assert_string_equal (json_string_value (json_object_get (fp, "client_name")), "Logs app");
    assert_string_equal (json_string_value (json_object_get (fp, "user_name")), EMAIL);
    assert_string_equal (json_string_value (json_object_get (fp, "ip")), "192.0.2.7");
    assert_string_equal (json_string_value (json_object_get (fp, "description")),
                         "Wrong email or password.");
    assert_string_equal (json_string_value (json_object_get (json_array_get (events, 3), "user_name")),
                         "nobody@example.com");
    //  mfa's rows get the user's name too
    assert_string_equal (json_string_value (json_object_get (json_array_get (events, 0), "user_name")),
                         EMAIL);
    //  One question to mfa: the first page, in that order
    assert_int_equal (json_array_size (asks), 1);
    json_t *ask = json_array_get (asks, 0);
    assert_int_equal (json_integer_value (json_object_get (ask, "order")), 1);
    assert_int_equal (json_integer_value (json_object_get (ask, "offset")), 0);
    assert_int_equal (json_integer_value (json_object_get (ask, "limit")), 50);
    json_decref (asks);
    pst_msg_destroy (&reply);

    //  Newest first with totals: authn's two rows and mfa's two
    reply = s_logs ("logs.list", json_pack ("{s:{s:s}}", "query", "include_totals", "true"), NULL);
    json_t *body = pst_msg_body (reply);
    assert_int_equal (json_integer_value (json_object_get (body, "total")), 4);
    types = s_types (json_object_get (body, "logs"));
    assert_string_equal (types, "fu fp gd_auth_failed gd_start_auth");
    free (types);
    pst_msg_destroy (&reply);
}

//  A page past the first: where each part begins, then that page alone
static void
test_page (void **state)
{
    (void) state;
    size_t index;
    json_t *row;
    json_t *asks = NULL;
    pst_msg_t *reply = s_logs ("logs.list", json_pack ("{s:{s:s, s:s, s:s}}", "query",
                               "sort", "date:1", "per_page", "2", "page", "1"), &asks);
    assert_false (pst_msg_is_error (reply));
    char *types = s_types (json_object_get (pst_msg_body (reply), "result"));
    assert_string_equal (types, "fp fu");
    free (types);
    assert_int_equal (json_array_size (asks), 2);
    assert_true (json_is_true (json_object_get (json_array_get (asks, 0), "keys_only")));
    assert_int_equal (json_integer_value (json_object_get (json_array_get (asks, 0), "limit")), 2);
    //  mfa's two were the first page: its part of this one starts after them
    assert_int_equal (json_integer_value (json_object_get (json_array_get (asks, 1), "offset")), 2);
    json_decref (asks);
    pst_msg_destroy (&reply);

    //  The checkpoint after mfa's last row: authn's two
    json_t *rows = s_mfa_rows (1, 1);
    reply = s_logs ("logs.list", json_pack ("{s:{s:s, s:s}}", "query", "from",
                    json_string_value (json_array_get (rows, 1)), "take", "10"), &asks);
    json_decref (rows);
    assert_false (pst_msg_is_error (reply));
    //  authn's rows are younger than the two seconds a checkpoint leaves
    //  (pst_logs.h): it answers what has settled
    json_t *after = json_object_get (pst_msg_body (reply), "result");
    assert_true (json_array_size (after) <= 2);
    json_array_foreach (after, index, row) {
        int64_t date, id;
        int tag;
        assert_int_equal (pst_logs_id_parse (json_string_value (json_object_get (row, "log_id")),
                                             &date, &tag, &id), 0);
        assert_int_equal (tag, PST_LOGS_TAG_AUTHN);
    }
    assert_true (json_is_string (json_object_get (json_array_get (asks, 0), "from")));
    json_decref (asks);
    pst_msg_destroy (&reply);
}

static void
test_user_and_refusals (void **state)
{
    (void) state;
    json_t *asks = NULL;
    pst_msg_t *reply = s_logs ("users.logs", json_pack ("{s:s, s:{s:s}}", "id", s_user_id,
                               "query", "sort", "date:1"), &asks);
    assert_false (pst_msg_is_error (reply));
    //  The stand-in does not filter; authn asked it for the user's
    assert_string_equal (json_string_value (json_object_get (json_array_get (asks, 0), "user_id")),
                         s_user_id);
    char *types = s_types (json_object_get (pst_msg_body (reply), "result"));
    assert_string_equal (types, "gd_start_auth gd_auth_failed fp");
    free (types);
    json_decref (asks);
    pst_msg_destroy (&reply);

    //  A bad query is refused before mfa is asked
    reply = s_logs ("logs.list", json_pack ("{s:{s:s}}", "query", "q", "type:fp OR type:fu"),
                    &asks);
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_QUERY_STRING);
    assert_int_equal (json_array_size (asks), 0);
    json_decref (asks);
    pst_msg_destroy (&reply);
    reply = s_call ("logs.list", NULL, "read:users");
    assert_string_equal (pst_msg_error (reply), PST_ERR_INSUFFICIENT_SCOPE);
    pst_msg_destroy (&reply);

    //  mfa silent: temporarily_unavailable, not half the events
    reply = s_call ("logs.list", NULL, "read:logs");
    assert_string_equal (pst_msg_error (reply), PST_ERR_UNAVAILABLE);
    pst_msg_destroy (&reply);
    //  its request comes in late: nothing waits for it
    zsock_set_rcvtimeo (s_mfa, 100);
    zmsg_t *late = zmsg_recv (s_mfa);
    zmsg_destroy (&late);
}

int
main (void)
{
    zsys_init ();
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_merged),
        cmocka_unit_test (test_page),
        cmocka_unit_test (test_user_and_refusals),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
