/*  gw_response: how service replies and gateway errors are rendered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "gw_response.h"
#include "pst_error.h"

static const gw_route_t *
s_route (const char *method, const char *path)
{
    gw_match_t match;
    assert_int_equal (gw_routes_match (method, path, &match), 200);
    return match.route;
}

//  A reply to a fresh request for route, with body (JSON text) and an error
//  code when code is not NULL.
static pst_msg_t *
s_reply (const gw_route_t *route, const char *body, const char *code, const char *text)
{
    pst_msg_t *request = pst_msg_new_request (route->op, 1000);
    assert_non_null (request);
    pst_msg_t *reply = pst_msg_new_reply (request);
    pst_msg_destroy (&request);
    if (body) {
        json_t *object = json_loads (body, 0, NULL);
        assert_non_null (object);
        pst_msg_set_body (reply, &object);
    }
    if (code)
        pst_msg_fail (reply, code, "%s", text);
    return reply;
}

static json_t *
s_document (gw_response_t *response)
{
    assert_non_null (gw_response_body (response));
    json_t *document = json_loads (gw_response_body (response), JSON_DECODE_ANY, NULL);
    assert_non_null (document);
    return document;
}

static void
test_success_renders_body (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/oauth/token");
    pst_msg_t *reply = s_reply (route, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}", NULL, NULL);
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 200);
    json_t *document = s_document (response);
    assert_string_equal (json_string_value (json_object_get (document, "access_token")), "at");
    assert_null (gw_response_header (response, "Retry-After"));
    json_decref (document);
    gw_response_destroy (&response);
    assert_null (response);
    pst_msg_destroy (&reply);
}

static void
test_success_renders_result_member (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("GET", "/api/v2/guardian/factors");
    pst_msg_t *reply = s_reply (route,
        "{\"result\":[{\"name\":\"email\",\"enabled\":true}],\"other\":1}", NULL, NULL);
    gw_response_t *response = gw_response_from_reply (route, reply);
    json_t *document = s_document (response);
    assert_true (json_is_array (document));
    assert_string_equal (json_string_value (json_object_get (json_array_get (document, 0), "name")),
                         "email");
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_created_and_no_content (void **state)
{
    (void) state;
    const gw_route_t *create = s_route ("POST", "/api/v2/users");
    pst_msg_t *reply = s_reply (create, "{\"user_id\":\"auth0|1\"}", NULL, NULL);
    gw_response_t *response = gw_response_from_reply (create, reply);
    assert_int_equal (gw_response_status (response), 201);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);

    const gw_route_t *remove = s_route ("DELETE", "/api/v2/users/auth0|1");
    reply = s_reply (remove, "{\"deleted\":true}", NULL, NULL);
    response = gw_response_from_reply (remove, reply);
    assert_int_equal (gw_response_status (response), 204);
    assert_null (gw_response_body (response));
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_mfa_required_carries_mfa_token (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/oauth/token");
    pst_msg_t *reply = s_reply (route, "{\"mfa_token\":\"mt-123\"}", PST_ERR_MFA_REQUIRED,
                                "Multifactor authentication required");
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 403);
    json_t *document = s_document (response);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "mfa_required");
    assert_string_equal (json_string_value (json_object_get (document, "error_description")),
                         "Multifactor authentication required");
    assert_string_equal (json_string_value (json_object_get (document, "mfa_token")), "mt-123");
    assert_int_equal (json_object_size (document), 3);
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_retry_after_becomes_header (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/mfa/challenge");
    pst_msg_t *reply = s_reply (route, "{\"retry_after\":60,"
        "\"rate_limit\":{\"limit\":5,\"remaining\":0,\"reset\":1900000060}}",
        PST_ERR_TOO_MANY_REQUESTS, "Too many emails");
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 429);
    assert_string_equal (gw_response_header (response, "retry-after"), "60");
    assert_string_equal (gw_response_header (response, "x-ratelimit-limit"), "5");
    assert_string_equal (gw_response_header (response, "x-ratelimit-remaining"), "0");
    assert_string_equal (gw_response_header (response, "x-ratelimit-reset"), "1900000060");
    json_t *document = s_document (response);
    assert_null (json_object_get (document, "retry_after"));
    assert_null (json_object_get (document, "rate_limit"));
    assert_string_equal (json_string_value (json_object_get (document, "error")), "too_many_requests");
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

//  Malformed limits from a service become no header rather than a wrong one
static void
test_bad_rate_limit_ignored (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/mfa/challenge");
    pst_msg_t *reply = s_reply (route,
        "{\"rate_limit\":{\"limit\":\"5\",\"remaining\":-1,\"reset\":1.5}}",
        PST_ERR_TOO_MANY_REQUESTS, "Too many emails");
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 429);
    assert_null (gw_response_header (response, "x-ratelimit-limit"));
    assert_null (gw_response_header (response, "x-ratelimit-remaining"));
    assert_null (gw_response_header (response, "x-ratelimit-reset"));
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

//  The gateway's own limit (gw_ratelimit): its headers on any answer, and
//  its 429 in the Management API's shape with Retry-After
static void
test_gateway_rate_limit (void **state)
{
    (void) state;
    gw_response_t *response = gw_response_error (GW_FAMILY_MGMT, 404, PST_ERR_NOT_FOUND, "Not Found");
    gw_response_rate_limit (response, 100, 99, 1900000001);
    assert_string_equal (gw_response_header (response, "x-ratelimit-limit"), "100");
    assert_string_equal (gw_response_header (response, "x-ratelimit-remaining"), "99");
    assert_string_equal (gw_response_header (response, "x-ratelimit-reset"), "1900000001");
    gw_response_destroy (&response);
    response = gw_response_rate_limited (3);
    assert_int_equal (gw_response_status (response), 429);
    assert_string_equal (gw_response_header (response, "retry-after"), "3");
    json_t *document = s_document (response);
    assert_int_equal (json_integer_value (json_object_get (document, "statusCode")), 429);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "Too Many Requests");
    assert_string_equal (json_string_value (json_object_get (document, "errorCode")),
                         "too_many_requests");
    json_decref (document);
    gw_response_destroy (&response);
}

static void
test_body_cannot_override_error (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/oauth/token");
    pst_msg_t *reply = s_reply (route, "{\"error\":\"nope\",\"error_description\":\"nope\"}",
                                PST_ERR_INVALID_GRANT, "Wrong email or password.");
    gw_response_t *response = gw_response_from_reply (route, reply);
    json_t *document = s_document (response);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "invalid_grant");
    assert_string_equal (json_string_value (json_object_get (document, "error_description")),
                         "Wrong email or password.");
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_management_error_shape (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("GET", "/api/v2/users/u1");
    pst_msg_t *reply = s_reply (route, "{\"mfa_token\":\"not for mgmt\"}", PST_ERR_NOT_FOUND,
                                "The user does not exist.");
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 404);
    json_t *document = s_document (response);
    assert_int_equal (json_integer_value (json_object_get (document, "statusCode")), 404);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "Not Found");
    assert_string_equal (json_string_value (json_object_get (document, "message")),
                         "The user does not exist.");
    assert_string_equal (json_string_value (json_object_get (document, "errorCode")), "not_found");
    assert_int_equal (json_object_size (document), 4);
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_unknown_error_code_is_server_error (void **state)
{
    (void) state;
    const gw_route_t *route = s_route ("POST", "/oauth/token");
    pst_msg_t *reply = s_reply (route, NULL, "made_up_code", "whatever");
    gw_response_t *response = gw_response_from_reply (route, reply);
    assert_int_equal (gw_response_status (response), 500);
    json_t *document = s_document (response);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "server_error");
    json_decref (document);
    gw_response_destroy (&response);
    pst_msg_destroy (&reply);
}

static void
test_gateway_errors (void **state)
{
    (void) state;
    gw_response_t *response = gw_response_error (GW_FAMILY_MGMT, 403, "insufficient_scope",
                                                 "Insufficient scope, expected any of: read:users");
    json_t *document = s_document (response);
    assert_int_equal (json_integer_value (json_object_get (document, "statusCode")), 403);
    assert_string_equal (json_string_value (json_object_get (document, "error")), "Forbidden");
    assert_string_equal (json_string_value (json_object_get (document, "errorCode")),
                         "insufficient_scope");
    json_decref (document);
    assert_int_equal (gw_response_add_header (response, "Allow", "GET"), 0);
    assert_string_equal (gw_response_header (response, "allow"), "GET");
    assert_int_equal (gw_response_header_count (response), 1);
    gw_response_destroy (&response);

    response = gw_response_error (GW_FAMILY_AUTH, 503, "temporarily_unavailable",
                                  "Service authn did not answer in time");
    document = s_document (response);
    assert_string_equal (json_string_value (json_object_get (document, "error")),
                         "temporarily_unavailable");
    assert_string_equal (json_string_value (json_object_get (document, "error_description")),
                         "Service authn did not answer in time");
    json_decref (document);
    gw_response_destroy (&response);
}

//  A 401 names the scheme the client used; other statuses and no header get none
static void
test_challenge_follows_scheme (void **state)
{
    (void) state;
    const struct {
        int status;
        const char *authorization;
        const char *challenge;
    } cases [] = {
        { 401, "Basic aWQ6",    GW_RESPONSE_CHALLENGE_BASIC },
        { 401, "basic aWQ6",    GW_RESPONSE_CHALLENGE_BASIC },
        { 401, "Bearer abc",    GW_RESPONSE_CHALLENGE_BEARER },
        { 401, "Digest x",      NULL },
        { 401, NULL,            NULL },
        { 403, "Bearer abc",    NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        gw_response_t *response = gw_response_error (GW_FAMILY_AUTH, cases [i].status,
                                                     "invalid_client", "no");
        gw_response_challenge (response, cases [i].authorization);
        const char *challenge = gw_response_header (response, "WWW-Authenticate");
        if (cases [i].challenge)
            assert_string_equal (challenge, cases [i].challenge);
        else
            assert_null (challenge);
        gw_response_destroy (&response);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_success_renders_body),
        cmocka_unit_test (test_success_renders_result_member),
        cmocka_unit_test (test_created_and_no_content),
        cmocka_unit_test (test_mfa_required_carries_mfa_token),
        cmocka_unit_test (test_retry_after_becomes_header),
        cmocka_unit_test (test_bad_rate_limit_ignored),
        cmocka_unit_test (test_gateway_rate_limit),
        cmocka_unit_test (test_body_cannot_override_error),
        cmocka_unit_test (test_management_error_shape),
        cmocka_unit_test (test_unknown_error_code_is_server_error),
        cmocka_unit_test (test_gateway_errors),
        cmocka_unit_test (test_challenge_follows_scheme),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
