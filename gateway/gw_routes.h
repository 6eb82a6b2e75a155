/*  gw_routes - the HTTP route table and its lookup.

    The routes are the rows of the operation catalogue (common/pst_ops.def) that
    have a method and a path: adding a route is adding its operation there.
    Each route maps a method and a path pattern to a service operation. Pattern
    segments are literal, or {id} / {sub_id} captures of one path segment. The
    lookup tells an unknown path (404) from a known path with another method (405).
*/
#ifndef GW_ROUTES_H_INCLUDED
#define GW_ROUTES_H_INCLUDED

#include <stddef.h>
#include "pst_catalogue.h"

typedef enum {
    GW_SERVICE_AUTHN = 0,
    GW_SERVICE_MFA = 1,
    GW_SERVICE_COUNT
} gw_service_t;

//  The catalogue's auth kinds (pst_http_auth_t), same values
typedef enum {
    GW_AUTH_NONE = PST_AUTH_NONE,               //  no caller identity
    GW_AUTH_CLIENT = PST_AUTH_CLIENT,           //  client credentials in the body, or HTTP Basic
    GW_AUTH_MGMT = PST_AUTH_MGMT,               //  Bearer JWT for https://{domain}/api/v2/, scope checked
    GW_AUTH_MFA = PST_AUTH_MFA,                 //  Bearer mfa_token, or JWT for https://{domain}/mfa/
    GW_AUTH_MFA_ACCESS = PST_AUTH_MFA_ACCESS,   //  Bearer JWT for https://{domain}/mfa/ only
    GW_AUTH_MFA_TOKEN = PST_AUTH_MFA_TOKEN,     //  Bearer mfa_token only (enrolling with an access
                                                //  token is not built yet: refused in words that say so)
    GW_AUTH_USERINFO = PST_AUTH_USERINFO        //  Bearer JWT of a user for https://{domain}/userinfo
} gw_auth_t;

typedef enum {
    GW_FAMILY_AUTH,     //  Authentication API: {"error","error_description"}
    GW_FAMILY_MGMT      //  Management API: {"statusCode","error","message","errorCode"}
} gw_family_t;

typedef struct {
    const char *method;
    const char *path;
    gw_service_t service;
    const char *op;
    const char *scope;          //  required caller scope, or NULL
    gw_auth_t auth;
    int status;                 //  HTTP status on success
    gw_family_t family;
    int cacheable;              //  public documents; everything else is no-store
    int mirrored;               //  answered from the gateway's copy (the key set)
    int keys_changed;           //  a success renews that copy before the answer
    int empty;                  //  success has no body, whatever its status
} gw_route_t;

//  Longest capture kept; longer segments do not match.
#define GW_ROUTE_CAPTURE_MAX    256

typedef struct {
    const gw_route_t *route;
    char id [GW_ROUTE_CAPTURE_MAX + 1];         //  "" when the pattern has no {id}
    char sub_id [GW_ROUTE_CAPTURE_MAX + 1];
} gw_match_t;

//  Finds the route for method and path (no query string). Returns 200 with
//  match filled, 404 when no pattern fits the path, 405 when patterns fit the
//  path but none has this method.
int
    gw_routes_match (const char *method, const char *path, gw_match_t *match);

//  Methods accepted for path, comma separated ("GET, POST") for the Allow header.
//  Caller frees; "" when the path is unknown.
char *
    gw_routes_allow (const char *path);

//  Family an error for path should be rendered in when no route matched.
gw_family_t
    gw_routes_family (const char *path);

//  The whole table, terminated by an entry with method NULL.
const gw_route_t *
    gw_routes_table (void);

//  Service name for logs and error texts ("authn", "mfa").
const char *
    gw_service_name (gw_service_t service);

#endif
