#include "gw_routes.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A   GW_SERVICE_AUTHN
#define M   GW_SERVICE_MFA
#define AUTH GW_FAMILY_AUTH
#define MGMT GW_FAMILY_MGMT

//  One line per route. Statuses follow Auth0: 201 on create, 204 on delete.
static const gw_route_t s_routes [] = {
    //  Authentication API
    { "POST",   "/oauth/token",                 A, "token.grant",          NULL, GW_AUTH_CLIENT, 200, AUTH, 0 },
    { "POST",   "/mfa/associate",               M, "mfa.associate",        NULL, GW_AUTH_MFA_TOKEN, 200, AUTH, 0 },
    { "POST",   "/mfa/challenge",               A, "mfa.challenge",        NULL, GW_AUTH_CLIENT, 200, AUTH, 0 },
    { "GET",    "/mfa/authenticators",          M, "authenticators.list",  "read:authenticators", GW_AUTH_MFA, 200, AUTH, 0 },
    { "DELETE", "/mfa/authenticators/{id}",     M, "authenticators.delete", "remove:authenticators", GW_AUTH_MFA_ACCESS, 204, AUTH, 0 },
    { "GET",    "/.well-known/jwks.json",       A, "keys.jwks",            NULL, GW_AUTH_NONE, 200, AUTH, 1 },
    { "GET",    "/.well-known/openid-configuration", A, "oidc.configuration", NULL, GW_AUTH_NONE, 200, AUTH, 1 },

    //  Management API v2
    { "GET",    "/api/v2/guardian/factors",     M, "factors.list",   "read:guardian_factors",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "PUT",    "/api/v2/guardian/factors/{id}", M, "factors.update", "update:guardian_factors", GW_AUTH_MGMT, 200, MGMT, 0 },
    { "GET",    "/api/v2/guardian/policies",    M, "policies.get",   "read:mfa_policies",       GW_AUTH_MGMT, 200, MGMT, 0 },
    { "PUT",    "/api/v2/guardian/policies",    M, "policies.set",   "update:mfa_policies",     GW_AUTH_MGMT, 200, MGMT, 0 },

    { "POST",   "/api/v2/clients",              A, "clients.create", "create:clients", GW_AUTH_MGMT, 201, MGMT, 0 },
    { "GET",    "/api/v2/clients",              A, "clients.list",   "read:clients",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "GET",    "/api/v2/clients/{id}",         A, "clients.get",    "read:clients",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "PATCH",  "/api/v2/clients/{id}",         A, "clients.update", "update:clients", GW_AUTH_MGMT, 200, MGMT, 0 },
    { "DELETE", "/api/v2/clients/{id}",         A, "clients.delete", "delete:clients", GW_AUTH_MGMT, 204, MGMT, 0 },

    { "POST",   "/api/v2/client-grants",        A, "client_grants.create", "create:client_grants", GW_AUTH_MGMT, 201, MGMT, 0 },
    { "GET",    "/api/v2/client-grants",        A, "client_grants.list",   "read:client_grants",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "DELETE", "/api/v2/client-grants/{id}",   A, "client_grants.delete", "delete:client_grants", GW_AUTH_MGMT, 204, MGMT, 0 },

    { "POST",   "/api/v2/resource-servers",     A, "resource_servers.create", "create:resource_servers", GW_AUTH_MGMT, 201, MGMT, 0 },
    { "GET",    "/api/v2/resource-servers",     A, "resource_servers.list",   "read:resource_servers",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "GET",    "/api/v2/resource-servers/{id}", A, "resource_servers.get",   "read:resource_servers",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "PATCH",  "/api/v2/resource-servers/{id}", A, "resource_servers.update", "update:resource_servers", GW_AUTH_MGMT, 200, MGMT, 0 },
    { "DELETE", "/api/v2/resource-servers/{id}", A, "resource_servers.delete", "delete:resource_servers", GW_AUTH_MGMT, 204, MGMT, 0 },

    { "POST",   "/api/v2/users",                A, "users.create", "create:users", GW_AUTH_MGMT, 201, MGMT, 0 },
    { "GET",    "/api/v2/users",                A, "users.list",   "read:users",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "GET",    "/api/v2/users/{id}",           A, "users.get",    "read:users",   GW_AUTH_MGMT, 200, MGMT, 0 },
    { "PATCH",  "/api/v2/users/{id}",           A, "users.update", "update:users", GW_AUTH_MGMT, 200, MGMT, 0 },
    { "DELETE", "/api/v2/users/{id}",           A, "users.delete", "delete:users", GW_AUTH_MGMT, 204, MGMT, 0 },
    { "GET",    "/api/v2/users/{id}/authentication-methods", A, "authentication_methods.list", "read:authentication_methods", GW_AUTH_MGMT, 200, MGMT, 0 },
    { "DELETE", "/api/v2/users/{id}/authentication-methods", A, "authentication_methods.delete_all", "delete:authentication_methods", GW_AUTH_MGMT, 204, MGMT, 0 },
    { "DELETE", "/api/v2/users/{id}/authentication-methods/{sub_id}", A, "authentication_methods.delete", "delete:authentication_methods", GW_AUTH_MGMT, 204, MGMT, 0 },
    { "POST",   "/api/v2/users/{id}/recovery-code-regeneration", A, "recovery_code.regenerate", "update:users", GW_AUTH_MGMT, 200, MGMT, 0 },

    { NULL, NULL, A, NULL, NULL, GW_AUTH_NONE, 0, AUTH, 0 }
};

static const char *s_service_names [GW_SERVICE_COUNT] = { "authn", "mfa" };

const gw_route_t *
gw_routes_table (void)
{
    return s_routes;
}

const char *
gw_service_name (gw_service_t service)
{
    return service >= 0 && service < GW_SERVICE_COUNT? s_service_names [service]: "unknown";
}

//  Length of the segment starting at text (up to '/' or the end).
static size_t
s_segment_len (const char *text)
{
    const char *slash = strchr (text, '/');
    return slash? (size_t) (slash - text): strlen (text);
}

static int
s_is_capture (const char *segment, size_t len, const char *name)
{
    size_t name_len = strlen (name);
    return len == name_len + 2 && segment [0] == '{' && segment [len - 1] == '}'
        && memcmp (segment + 1, name, name_len) == 0;
}

//  Matches path against pattern, filling captures when match is not NULL.
static int
s_path_matches (const char *pattern, const char *path, gw_match_t *match)
{
    if (*pattern != '/' || *path != '/')
        return 0;
    while (*pattern && *path) {
        pattern++;                          //  past the '/'
        path++;
        size_t plen = s_segment_len (pattern);
        size_t len = s_segment_len (path);
        char *capture = NULL;
        if (s_is_capture (pattern, plen, "id"))
            capture = match? match->id: NULL;
        else
        if (s_is_capture (pattern, plen, "sub_id"))
            capture = match? match->sub_id: NULL;
        else
        if (plen != len || memcmp (pattern, path, len) != 0)
            return 0;
        if (pattern [0] == '{' && (len == 0 || len > GW_ROUTE_CAPTURE_MAX))
            return 0;
        if (capture) {
            memcpy (capture, path, len);
            capture [len] = 0;
        }
        pattern += plen;
        path += len;
    }
    return *pattern == 0 && *path == 0;
}

int
gw_routes_match (const char *method, const char *path, gw_match_t *match)
{
    memset (match, 0, sizeof *match);
    int path_known = 0;
    for (const gw_route_t *route = s_routes; route->method; route++) {
        if (!s_path_matches (route->path, path, NULL))
            continue;
        path_known = 1;
        if (strcmp (route->method, method) == 0) {
            s_path_matches (route->path, path, match);
            match->route = route;
            return 200;
        }
    }
    return path_known? 405: 404;
}

char *
gw_routes_allow (const char *path)
{
    const char *methods [16];
    size_t count = 0;
    char allow [128] = "";
    for (const gw_route_t *route = s_routes; route->method; route++) {
        if (!s_path_matches (route->path, path, NULL))
            continue;
        size_t seen = 0;
        while (seen < count && strcmp (methods [seen], route->method) != 0)
            seen++;
        if (seen < count || count == sizeof methods / sizeof methods [0])
            continue;
        methods [count++] = route->method;
        size_t used = strlen (allow);
        snprintf (allow + used, sizeof allow - used, "%s%s", used? ", ": "", route->method);
    }
    return strdup (allow);
}

gw_family_t
gw_routes_family (const char *path)
{
    return path && strncmp (path, "/api/v2/", 8) == 0? GW_FAMILY_MGMT: GW_FAMILY_AUTH;
}
