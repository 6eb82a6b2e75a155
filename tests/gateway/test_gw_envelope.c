/*  gw_envelope: the bus request an HTTP request becomes (docs/protocol.md,
    "Body conventions"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "gw_envelope.h"

static const gw_route_t s_auth_route = {
    .method = "DELETE", .path = "/mfa/authenticators/{id}", .service = GW_SERVICE_MFA,
    .op = "authenticators.delete", .auth = GW_AUTH_MFA_ACCESS, .status = 204,
    .family = GW_FAMILY_AUTH };
static const gw_route_t s_mgmt_route = {
    .method = "DELETE", .path = "/api/v2/users/{id}/authentication-methods/{sub_id}",
    .service = GW_SERVICE_AUTHN, .op = "authentication_methods.delete",
    .auth = GW_AUTH_MGMT, .status = 204, .family = GW_FAMILY_MGMT };

static void
test_authentication_api_body (void **state)
{
    (void) state;
    gw_match_t match = { .route = &s_auth_route };
    snprintf (match.id, sizeof match.id, "email|dev_1");
    json_t *params = json_pack ("{s:s, s:s}", "id", "from-the-body", "mfa_token", "mt");
    json_t *body = gw_envelope_body (&match, &params, NULL, NULL);
    assert_null (params);
    assert_non_null (body);
    //  The path's {id} wins
    assert_string_equal (json_string_value (json_object_get (body, "id")), "email|dev_1");
    assert_string_equal (json_string_value (json_object_get (body, "mfa_token")), "mt");
    json_decref (body);

    //  A capture that is not UTF-8 names no resource
    snprintf (match.id, sizeof match.id, "\xff");
    params = json_object ();
    assert_null (gw_envelope_body (&match, &params, NULL, NULL));
    assert_null (params);
}

static void
test_management_api_body (void **state)
{
    (void) state;
    gw_match_t match = { .route = &s_mgmt_route };
    snprintf (match.id, sizeof match.id, "auth0|u1");
    snprintf (match.sub_id, sizeof match.sub_id, "email|dev_1");
    json_t *data = json_pack ("{s:b}", "enabled", 1);
    json_t *query = json_pack ("{s:s}", "fields", "name");
    json_t *params = NULL;
    json_t *body = gw_envelope_body (&match, &params, data, query);
    assert_non_null (body);
    assert_string_equal (json_string_value (json_object_get (body, "id")), "auth0|u1");
    assert_string_equal (json_string_value (json_object_get (body, "sub_id")), "email|dev_1");
    assert_true (json_object_get (body, "data") == data);
    assert_true (json_object_get (body, "query") == query);
    json_decref (body);

    //  An empty query is left out; without captures there is no id
    json_object_clear (query);
    memset (match.id, 0, sizeof match.id);
    memset (match.sub_id, 0, sizeof match.sub_id);
    body = gw_envelope_body (&match, &params, NULL, query);
    assert_int_equal (json_object_size (body), 0);
    json_decref (body);
    json_decref (data);
    json_decref (query);
}

static void
test_request_carries_caller (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { .outcome = GW_VERDICT_OK, .caller = strdup ("auth0|u1"),
                                  .scopes = strdup ("remove:authenticators"),
                                  .caller_client = strdup ("app-1") };
    json_t *body = json_pack ("{s:s}", "id", "email|dev_1");
    pst_msg_t *request = gw_envelope_request (&s_auth_route, 500, &verdict, "203.0.113.9",
                                              &body);
    assert_null (body);
    assert_non_null (request);
    assert_string_equal (pst_msg_op (request), "authenticators.delete");
    assert_string_equal (pst_msg_caller (request), "auth0|u1");
    assert_string_equal (pst_msg_scopes (request), "remove:authenticators");
    assert_string_equal (pst_msg_caller_client (request), "app-1");
    assert_string_equal (pst_msg_client_ip (request), "203.0.113.9");
    assert_string_equal (pst_msg_get_str (request, "id"), "email|dev_1");
    pst_msg_destroy (&request);
    gw_auth_verdict_clear (&verdict);

    //  No token, no address: neither travels
    body = json_object ();
    request = gw_envelope_request (&s_auth_route, 500, &verdict, "", &body);
    assert_non_null (request);
    assert_null (pst_msg_caller (request));
    assert_null (pst_msg_client_ip (request));
    pst_msg_destroy (&request);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_authentication_api_body),
        cmocka_unit_test (test_management_api_body),
        cmocka_unit_test (test_request_carries_caller),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
