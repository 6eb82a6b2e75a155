//  Unit tests of gw_cors: the origin set as installed, which origins it
//  allows (for a client, for any), the preflight's answers and the headers of
//  actual answers, and that the Management API never gets any.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "gw_cors.h"

static gw_cors_t *
s_loaded (void)
{
    gw_cors_t *cors = gw_cors_new ();
    assert_non_null (cors);
    json_t *list = json_pack ("[{s:s, s:[s, s]}, {s:s, s:[s, s]}]",
        "client_id", "spa", "origins", "https://app.example.com", "HTTP://LOCALHOST:3000/",
        "client_id", "other", "origins", "https://*.other.test", "not an origin");
    assert_int_equal (gw_cors_update (cors, list), 0);
    json_decref (list);
    return cors;
}

static void
test_set (void **state)
{
    (void) state;
    gw_cors_t *cors = gw_cors_new ();
    assert_int_equal (gw_cors_loaded (cors), 0);
    assert_int_equal (gw_cors_allows (cors, NULL, "https://app.example.com"), 0);
    gw_cors_destroy (&cors);
    assert_null (cors);

    cors = s_loaded ();
    assert_int_equal (gw_cors_loaded (cors), 1);
    assert_int_equal (gw_cors_size (cors), 3);
    //  any application's, normalized on both sides
    assert_true (gw_cors_allows (cors, NULL, "https://app.example.com"));
    assert_true (gw_cors_allows (cors, NULL, "https://APP.example.com:443"));
    assert_true (gw_cors_allows (cors, NULL, "http://localhost:3000"));
    assert_true (gw_cors_allows (cors, NULL, "https://x.other.test"));
    assert_false (gw_cors_allows (cors, NULL, "https://a.b.other.test"));
    assert_false (gw_cors_allows (cors, NULL, "http://app.example.com"));
    assert_false (gw_cors_allows (cors, NULL, "https://evil.test"));
    assert_false (gw_cors_allows (cors, NULL, "null"));
    assert_false (gw_cors_allows (cors, NULL, "https://*.other.test"));
    assert_false (gw_cors_allows (cors, NULL, NULL));
    //  one application's own
    assert_true (gw_cors_allows (cors, "spa", "https://app.example.com"));
    assert_false (gw_cors_allows (cors, "spa", "https://x.other.test"));
    assert_true (gw_cors_allows (cors, "other", "https://x.other.test"));
    assert_false (gw_cors_allows (cors, "other", "https://app.example.com"));
    assert_false (gw_cors_allows (cors, "nobody", "https://app.example.com"));

    //  a malformed list leaves the set as it was; a new one replaces it whole
    json_t *bad = json_pack ("[{s:i}]", "client_id", 7);
    assert_int_equal (gw_cors_update (cors, bad), -1);
    json_decref (bad);
    json_t *object = json_object ();
    assert_int_equal (gw_cors_update (cors, object), -1);
    json_decref (object);
    assert_true (gw_cors_allows (cors, NULL, "https://app.example.com"));
    json_t *empty = json_array ();
    assert_int_equal (gw_cors_update (cors, empty), 0);
    json_decref (empty);
    assert_int_equal (gw_cors_size (cors), 0);
    assert_false (gw_cors_allows (cors, NULL, "https://app.example.com"));
    gw_cors_destroy (&cors);
}

static void
s_assert_header (gw_response_t *response, const char *name, const char *value)
{
    const char *actual = gw_response_header (response, name);
    if (!value) {
        assert_null (actual);
        return;
    }
    assert_non_null (actual);
    assert_string_equal (actual, value);
}

static void
test_preflight (void **state)
{
    (void) state;
    gw_cors_t *cors = s_loaded ();
    //  an origin some application lists
    gw_response_t *response = gw_cors_preflight (cors, "/oauth/token", "https://app.example.com",
                                                 "POST");
    assert_int_equal (gw_response_status (response), 204);
    assert_null (gw_response_body (response));
    s_assert_header (response, "Access-Control-Allow-Origin", "https://app.example.com");
    s_assert_header (response, "Access-Control-Allow-Methods", "POST");
    s_assert_header (response, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Auth0-Client");
    s_assert_header (response, "Access-Control-Max-Age", "7200");
    s_assert_header (response, "Vary", "Origin");
    s_assert_header (response, "Allow", "POST");
    gw_response_destroy (&response);

    //  a path of several methods says them all
    response = gw_cors_preflight (cors, "/userinfo", "https://x.other.test", "GET");
    assert_int_equal (gw_response_status (response), 204);
    s_assert_header (response, "Access-Control-Allow-Methods", "GET, POST");
    gw_response_destroy (&response);

    //  an origin nobody lists: 403 and no CORS header
    response = gw_cors_preflight (cors, "/oauth/token", "https://evil.test", "POST");
    assert_int_equal (gw_response_status (response), 403);
    assert_non_null (strstr (gw_response_body (response), "access_denied"));
    s_assert_header (response, "Access-Control-Allow-Origin", NULL);
    s_assert_header (response, "Access-Control-Allow-Methods", NULL);
    gw_response_destroy (&response);

    //  a method the path does not serve
    response = gw_cors_preflight (cors, "/oauth/token", "https://app.example.com", "DELETE");
    assert_int_equal (gw_response_status (response), 405);
    s_assert_header (response, "Access-Control-Allow-Origin", NULL);
    s_assert_header (response, "Allow", "POST");
    gw_response_destroy (&response);

    //  not a preflight: the methods only
    response = gw_cors_preflight (cors, "/oauth/token", NULL, NULL);
    assert_int_equal (gw_response_status (response), 204);
    s_assert_header (response, "Allow", "POST");
    s_assert_header (response, "Access-Control-Allow-Origin", NULL);
    gw_response_destroy (&response);

    //  the public documents: any origin, no credential header
    response = gw_cors_preflight (cors, "/.well-known/jwks.json", "https://evil.test", "GET");
    assert_int_equal (gw_response_status (response), 204);
    s_assert_header (response, "Access-Control-Allow-Origin", "*");
    s_assert_header (response, "Access-Control-Allow-Headers", "Content-Type, Auth0-Client");
    s_assert_header (response, "Vary", NULL);
    gw_response_destroy (&response);
    gw_cors_destroy (&cors);
}

static const gw_route_t *
s_route (const char *method, const char *path)
{
    gw_match_t match;
    assert_int_equal (gw_routes_match (method, path, &match), 200);
    return match.route;
}

static void
test_decorate (void **state)
{
    (void) state;
    gw_cors_t *cors = s_loaded ();
    const gw_route_t *token = s_route ("POST", "/oauth/token");
    //  the application the request names lists the origin
    gw_response_t *response = gw_response_error (GW_FAMILY_AUTH, 403, "mfa_required", "x");
    gw_cors_decorate (cors, response, token, "https://app.example.com", "spa");
    s_assert_header (response, "Access-Control-Allow-Origin", "https://app.example.com");
    s_assert_header (response, "Vary", "Origin");
    assert_non_null (gw_response_header (response, "Access-Control-Expose-Headers"));
    gw_response_destroy (&response);
    //  another application lists it, not this one
    response = gw_response_empty (200);
    gw_cors_decorate (cors, response, token, "https://x.other.test", "spa");
    s_assert_header (response, "Access-Control-Allow-Origin", NULL);
    s_assert_header (response, "Vary", "Origin");
    gw_response_destroy (&response);
    //  no application named: any application's
    response = gw_response_empty (200);
    gw_cors_decorate (cors, response, s_route ("GET", "/mfa/authenticators"),
                      "https://x.other.test", NULL);
    s_assert_header (response, "Access-Control-Allow-Origin", "https://x.other.test");
    gw_response_destroy (&response);
    //  no Origin: nothing but Vary
    response = gw_response_empty (200);
    gw_cors_decorate (cors, response, token, NULL, "spa");
    s_assert_header (response, "Access-Control-Allow-Origin", NULL);
    s_assert_header (response, "Vary", "Origin");
    gw_response_destroy (&response);
    //  the public documents: *
    response = gw_response_empty (200);
    gw_cors_decorate (cors, response, s_route ("GET", "/.well-known/openid-configuration"),
                      "https://evil.test", NULL);
    s_assert_header (response, "Access-Control-Allow-Origin", "*");
    s_assert_header (response, "Vary", NULL);
    gw_response_destroy (&response);
    //  the Management API: never
    response = gw_response_empty (200);
    gw_cors_decorate (cors, response, s_route ("GET", "/api/v2/clients"),
                      "https://app.example.com", "spa");
    assert_int_equal (gw_response_header_count (response), 0);
    gw_response_destroy (&response);
    //  no route (404): nothing
    response = gw_response_empty (404);
    gw_cors_decorate (cors, response, NULL, "https://app.example.com", NULL);
    assert_int_equal (gw_response_header_count (response), 0);
    gw_response_destroy (&response);
    gw_cors_destroy (&cors);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_set),
        cmocka_unit_test (test_preflight),
        cmocka_unit_test (test_decorate),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
