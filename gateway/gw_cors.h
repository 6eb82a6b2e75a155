/*  gw_cors - CORS for the Authentication and MFA APIs, from the origins the
    applications list (web_origins and allowed_origins: Auth0's "Allowed Web
    Origins" and "Allowed Origins (CORS)").

    The gateway stores nothing: the gateway's loop reads every application's
    origins from authn (origins.list) at start and then a second after each
    read ends, and installs the whole set here; the requests ask it.

    Which answers carry CORS headers: those of the catalogue's Authentication
    API rows (api AUTH: /oauth/token, the /mfa/ routes, /userinfo, the
    /.well-known/ documents), never the Management API's.
    - The public documents (CACHEABLE rows: discovery, JWKS) allow any origin:
      Access-Control-Allow-Origin: *.
    - Every other answer names the request's Origin in
      Access-Control-Allow-Origin (with Vary: Origin) only when that origin is
      allowed: listed by the application the request names (its client_id, in
      the body or HTTP Basic, or the azp of its verified access token), or,
      when it names none (an mfa_token is opaque here), by any application.
      Errors carry them too, so a browser app can read mfa_required or
      invalid_grant. An origin that is not allowed gets no CORS header; the
      request itself is answered as it would be without an Origin.
    - A preflight (OPTIONS with Origin and Access-Control-Request-Method)
      comes before any body, so it cannot know the application: an origin
      any application lists passes (as on Auth0, where the origin is checked
      against the tenant's applications). It is answered 204 with the path's
      methods, the headers its routes read (Content-Type, Auth0-Client, which
      Auth0's SDKs send, and Authorization where the route takes a credential
      there) and Access-Control-Max-Age; an origin no application lists is 403
      access_denied without CORS headers, and a method the path does not serve
      405. An OPTIONS that is not a preflight is 204 with Allow.
    Until the first set arrives no origin is allowed (but the public ones).
*/
#ifndef GW_CORS_H_INCLUDED
#define GW_CORS_H_INCLUDED

#include "gw_response.h"
#include "gw_routes.h"
#include <jansson.h>
#include <stddef.h>

//  How long a browser may keep a preflight's answer (Chromium keeps at most
//  2 h). An origin removed meanwhile loses access anyway: the answers
//  themselves no longer name it.
#define GW_CORS_MAX_AGE_S   7200

typedef struct _gw_cors_t gw_cors_t;

gw_cors_t *
    gw_cors_new (void);
void
    gw_cors_destroy (gw_cors_t **self_p);

//  Replaces the set with clients: a JSON array of {client_id, origins: [...]}
//  as origins.list gives it. An origin that is not one (pst_origin) is
//  skipped and logged. 0, or -1 when an entry is malformed (the previous set
//  stays).
int
    gw_cors_update (gw_cors_t *self, const json_t *clients);

//  1 once a set was installed, else 0.
int
    gw_cors_loaded (gw_cors_t *self);

//  Distinct origins (and wildcard patterns) in the current set.
size_t
    gw_cors_size (gw_cors_t *self);

//  1 when origin (a request's Origin header) is listed by client_id, or,
//  when client_id is NULL, by any application; else 0.
int
    gw_cors_allows (gw_cors_t *self, const char *client_id, const char *origin);

//  The answer to OPTIONS on path, a path of the Authentication or MFA API
//  that has routes. origin and method are the request's Origin and
//  Access-Control-Request-Method headers (NULL when absent). NULL when out of
//  memory.
gw_response_t *
    gw_cors_preflight (gw_cors_t *self, const char *path, const char *origin,
                       const char *method);

//  Adds the CORS headers of an answer of route (any family: the Management
//  API's get none) to a request from origin (NULL: none) naming client_id
//  (NULL: none).
void
    gw_cors_decorate (gw_cors_t *self, gw_response_t *response, const gw_route_t *route,
                      const char *origin, const char *client_id);

#endif
