/*  gw_routes: 404 versus 405, captures, and the table's own consistency. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_routes.h"

static void
test_authentication_routes (void **state)
{
    (void) state;
    gw_match_t match;
    assert_int_equal (gw_routes_match ("POST", "/oauth/token", &match), 200);
    assert_string_equal (match.route->op, "token.grant");
    assert_int_equal (match.route->service, GW_SERVICE_AUTHN);
    assert_int_equal (match.route->auth, GW_AUTH_CLIENT);

    assert_int_equal (gw_routes_match ("POST", "/mfa/associate", &match), 200);
    assert_string_equal (match.route->op, "mfa.associate");
    assert_int_equal (match.route->service, GW_SERVICE_MFA);
    assert_int_equal (match.route->auth, GW_AUTH_MFA);
    assert_string_equal (match.route->scope, "enroll");

    assert_int_equal (gw_routes_match ("POST", "/mfa/challenge", &match), 200);
    assert_string_equal (match.route->op, "challenge.create");
    assert_int_equal (match.route->service, GW_SERVICE_MFA);

    //  Listing takes an mfa_token or an /mfa/ access token; deleting only the latter
    assert_int_equal (gw_routes_match ("GET", "/mfa/authenticators", &match), 200);
    assert_string_equal (match.route->op, "authenticators.list");
    assert_int_equal (match.route->service, GW_SERVICE_MFA);
    assert_int_equal (match.route->auth, GW_AUTH_MFA);
    assert_string_equal (match.route->scope, "read:authenticators");
    assert_int_equal (match.route->family, GW_FAMILY_AUTH);
    assert_int_equal (gw_routes_match ("DELETE", "/mfa/authenticators/email|dev_X1", &match), 200);
    assert_string_equal (match.route->op, "authenticators.delete");
    assert_int_equal (match.route->service, GW_SERVICE_MFA);
    assert_int_equal (match.route->auth, GW_AUTH_MFA_ACCESS);
    assert_string_equal (match.route->scope, "remove:authenticators");
    assert_string_equal (match.id, "email|dev_X1");
    assert_int_equal (match.route->status, 204);
    assert_int_equal (match.route->family, GW_FAMILY_AUTH);
    assert_int_equal (gw_routes_match ("DELETE", "/mfa/authenticators", &match), 405);
    assert_int_equal (gw_routes_match ("GET", "/mfa/authenticators/email|dev_X1", &match), 405);

    assert_int_equal (gw_routes_match ("GET", "/.well-known/jwks.json", &match), 200);
    assert_string_equal (match.route->op, "keys.jwks");
    assert_true (match.route->cacheable);
    assert_int_equal (gw_routes_match ("GET", "/.well-known/openid-configuration", &match), 200);
    assert_string_equal (match.route->op, "oidc.configuration");

    //  /userinfo, GET and POST: a user's access token with openid, never cached
    assert_int_equal (gw_routes_match ("GET", "/userinfo", &match), 200);
    assert_string_equal (match.route->op, "userinfo.get");
    assert_int_equal (match.route->service, GW_SERVICE_AUTHN);
    assert_int_equal (match.route->auth, GW_AUTH_USERINFO);
    assert_string_equal (match.route->scope, "openid");
    assert_false (match.route->cacheable);
    assert_int_equal (gw_routes_match ("POST", "/userinfo", &match), 200);
    assert_string_equal (match.route->op, "userinfo.post");
    assert_int_equal (match.route->auth, GW_AUTH_USERINFO);
    assert_int_equal (gw_routes_match ("DELETE", "/userinfo", &match), 405);
}

static void
test_not_found_versus_method_not_allowed (void **state)
{
    (void) state;
    gw_match_t match;
    assert_int_equal (gw_routes_match ("GET", "/oauth/token", &match), 405);
    assert_null (match.route);
    assert_int_equal (gw_routes_match ("DELETE", "/api/v2/guardian/factors", &match), 405);
    assert_int_equal (gw_routes_match ("POST", "/api/v2/clients/abc", &match), 405);
    assert_int_equal (gw_routes_match ("GET", "/nope", &match), 404);
    assert_int_equal (gw_routes_match ("POST", "/oauth/token/", &match), 404);
    assert_int_equal (gw_routes_match ("POST", "/oauth", &match), 404);
    assert_int_equal (gw_routes_match ("GET", "/api/v2/clients/a/b", &match), 404);
    assert_int_equal (gw_routes_match ("GET", "/api/v2/clients/", &match), 404);
    assert_int_equal (gw_routes_match ("GET", "", &match), 404);
    assert_int_equal (gw_routes_match ("GET", "/", &match), 404);
    //  Methods are case-sensitive (RFC 9110 §9.1)
    assert_int_equal (gw_routes_match ("post", "/oauth/token", &match), 405);
}

static void
test_allow_header (void **state)
{
    (void) state;
    char *allow = gw_routes_allow ("/oauth/token");
    assert_string_equal (allow, "POST");
    free (allow);
    allow = gw_routes_allow ("/api/v2/clients/x");
    assert_string_equal (allow, "GET, PATCH, DELETE");
    free (allow);
    allow = gw_routes_allow ("/api/v2/guardian/policies");
    assert_string_equal (allow, "GET, PUT");
    free (allow);
    allow = gw_routes_allow ("/api/v2/users/u1/authentication-methods");
    assert_string_equal (allow, "GET, DELETE");
    free (allow);
    allow = gw_routes_allow ("/nope");
    assert_string_equal (allow, "");
    free (allow);
}

static void
test_captures (void **state)
{
    (void) state;
    gw_match_t match;
    assert_int_equal (gw_routes_match ("PUT", "/api/v2/guardian/factors/email", &match), 200);
    assert_string_equal (match.route->op, "factors.update");
    assert_string_equal (match.route->scope, "update:guardian_factors");
    assert_string_equal (match.id, "email");
    assert_string_equal (match.sub_id, "");

    assert_int_equal (gw_routes_match ("DELETE", "/api/v2/users/auth0|abc123", &match), 200);
    assert_string_equal (match.route->op, "users.delete");
    assert_string_equal (match.id, "auth0|abc123");
    assert_int_equal (match.route->status, 204);

    //  A list route has no capture left over from an earlier match
    assert_int_equal (gw_routes_match ("GET", "/api/v2/users", &match), 200);
    assert_string_equal (match.route->op, "users.list");
    assert_string_equal (match.id, "");

    //  Both captures of a nested resource
    assert_int_equal (gw_routes_match ("DELETE",
        "/api/v2/users/auth0|abc123/authentication-methods/email|dev_X1", &match), 200);
    assert_string_equal (match.route->op, "authentication_methods.delete");
    assert_string_equal (match.id, "auth0|abc123");
    assert_string_equal (match.sub_id, "email|dev_X1");
    assert_int_equal (match.route->service, GW_SERVICE_AUTHN);

    char long_path [400];
    snprintf (long_path, sizeof long_path, "/api/v2/users/%0300d", 7);
    assert_int_equal (gw_routes_match ("GET", long_path, &match), 404);
}

static void
test_management_table (void **state)
{
    (void) state;
    struct { const char *method, *path, *op, *scope; int status; } expected [] = {
        { "GET",    "/api/v2/guardian/factors",  "factors.list",   "read:guardian_factors", 200 },
        { "GET",    "/api/v2/guardian/policies", "policies.get",   "read:mfa_policies", 200 },
        { "PUT",    "/api/v2/guardian/policies", "policies.set",   "update:mfa_policies", 200 },
        { "POST",   "/api/v2/clients",           "clients.create", "create:clients", 201 },
        { "GET",    "/api/v2/clients",           "clients.list",   "read:clients", 200 },
        { "GET",    "/api/v2/clients/c1",        "clients.get",    "read:clients", 200 },
        { "PATCH",  "/api/v2/clients/c1",        "clients.update", "update:clients", 200 },
        { "DELETE", "/api/v2/clients/c1",        "clients.delete", "delete:clients", 204 },
        { "POST",   "/api/v2/client-grants",     "client_grants.create", "create:client_grants", 201 },
        { "GET",    "/api/v2/client-grants",     "client_grants.list",   "read:client_grants", 200 },
        { "DELETE", "/api/v2/client-grants/g1",  "client_grants.delete", "delete:client_grants", 204 },
        { "POST",   "/api/v2/resource-servers",  "resource_servers.create", "create:resource_servers", 201 },
        { "PATCH",  "/api/v2/resource-servers/r", "resource_servers.update", "update:resource_servers", 200 },
        { "POST",   "/api/v2/users",             "users.create",   "create:users", 201 },
        { "GET",    "/api/v2/users/u1",          "users.get",      "read:users", 200 },
        { "GET",    "/api/v2/users/u1/authentication-methods", "authentication_methods.list",
          "read:authentication_methods", 200 },
        { "DELETE", "/api/v2/users/u1/authentication-methods", "authentication_methods.delete_all",
          "delete:authentication_methods", 204 },
        { "DELETE", "/api/v2/users/u1/authentication-methods/m1", "authentication_methods.delete",
          "delete:authentication_methods", 204 },
        { "POST",   "/api/v2/users/u1/recovery-code-regeneration", "recovery_code.regenerate",
          "update:users", 200 },
        { "GET",    "/api/v2/keys/signing",      "signing_keys.list", "read:signing_keys", 200 },
        { "GET",    "/api/v2/keys/signing/k1",   "signing_keys.get",  "read:signing_keys", 200 },
        { "POST",   "/api/v2/keys/signing/rotate", "signing_keys.rotate",
          "create:signing_keys update:signing_keys", 201 },
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected [0]; i++) {
        gw_match_t match;
        assert_int_equal (gw_routes_match (expected [i].method, expected [i].path, &match), 200);
        assert_string_equal (match.route->op, expected [i].op);
        assert_string_equal (match.route->scope, expected [i].scope);
        assert_int_equal (match.route->status, expected [i].status);
        assert_int_equal (match.route->family, GW_FAMILY_MGMT);
        assert_int_equal (match.route->auth, GW_AUTH_MGMT);
        assert_int_equal (gw_routes_family (expected [i].path), GW_FAMILY_MGMT);
    }
    assert_int_equal (gw_routes_family ("/oauth/token"), GW_FAMILY_AUTH);
}

//  Two routes with the same method and path would make one unreachable.
static void
test_table_has_no_duplicates (void **state)
{
    (void) state;
    const gw_route_t *table = gw_routes_table ();
    for (const gw_route_t *a = table; a->method; a++) {
        assert_non_null (a->op);
        assert_true (a->status == 200 || a->status == 201 || a->status == 204);
        if (a->auth == GW_AUTH_MGMT || a->auth == GW_AUTH_MFA_ACCESS)
            assert_non_null (a->scope);
        for (const gw_route_t *b = a + 1; b->method; b++)
            if (strcmp (a->method, b->method) == 0 && strcmp (a->path, b->path) == 0)
                fail_msg ("duplicate route %s %s", a->method, a->path);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_authentication_routes),
        cmocka_unit_test (test_not_found_versus_method_not_allowed),
        cmocka_unit_test (test_allow_header),
        cmocka_unit_test (test_captures),
        cmocka_unit_test (test_management_table),
        cmocka_unit_test (test_table_has_no_duplicates),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
