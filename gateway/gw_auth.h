/*  gw_auth - who is calling: the caller authentication each route asks for.

    gw_auth_check reads the Authorization header the way the route's auth kind
    (gw_routes.h) wants it and returns a verdict:
    - OK: go on. A verified access token established the caller (sub), its
      scopes and its azp; HTTP Basic client credentials, or an opaque mfa_token,
      were moved into the Authentication API parameters for the service to judge.
    - WAIT_KEYS: the token names a kid the key set does not hold; fetch the keys
      again and call gw_auth_check once more, then without the right to wait
      for keys.
    - WAIT_REVOCATIONS: the token is good, but the first list of revoked tokens
      (gw_revocations) has not arrived yet; wait for it and call gw_auth_check
      once more, then without the right to wait for it: still none is 503.
    - REFUSED: the status, error code, message and WWW-Authenticate challenge
      of the refusal; nothing goes to a service.
    A token whose client, or whose client's grant for its audience, was deleted
    after it was issued is refused like an invalid one (401 invalid_token "The
    access token was revoked"). The route's scope is checked here, once, for
    every kind that carries a token; a route that names several scopes wants
    any one of them (Auth0's "expected any of").
    Nothing here speaks HTTP: the request lifecycle (gw_request) renders the verdict.
*/
#ifndef GW_AUTH_H_INCLUDED
#define GW_AUTH_H_INCLUDED

#include "gw_keys.h"
#include "gw_revocations.h"
#include "gw_routes.h"
#include <jansson.h>

typedef enum {
    GW_VERDICT_OK,
    GW_VERDICT_WAIT_KEYS,
    GW_VERDICT_WAIT_REVOCATIONS,
    GW_VERDICT_REFUSED
} gw_verdict_t;

//  What a check may still wait for (gw_auth_check's may_wait)
#define GW_AUTH_WAIT_KEYS           1
#define GW_AUTH_WAIT_REVOCATIONS    2

#define GW_AUTH_MESSAGE_MAX     160

typedef struct {
    gw_verdict_t outcome;
    //  REFUSED only
    int status;                             //  HTTP status
    const char *code;                       //  from pst_error.h
    char message [GW_AUTH_MESSAGE_MAX];
    const char *challenge;                  //  WWW-Authenticate value, or NULL
    //  OK with a verified token; NULL otherwise. Owned by the verdict.
    char *caller;                           //  the token's sub
    char *scopes;                           //  space separated
    char *caller_client;                    //  the token's azp, when the envelope can carry it
} gw_auth_verdict_t;

typedef struct _gw_auth_context_t gw_auth_context_t;

//  Verifies tokens with keys for the issuer https://{domain}/ and the
//  audiences https://{domain}/api/v2/, https://{domain}/mfa/ and
//  https://{domain}/userinfo, and refuses
//  those that revocations cover (NULL: none are looked for). Both borrowed;
//  they must outlive the context. NULL when out of memory.
gw_auth_context_t *
    gw_auth_context_new (gw_keys_t *keys, gw_revocations_t *revocations, const char *domain);

void
    gw_auth_context_destroy (gw_auth_context_t **self_p);

//  Authenticates the caller of route. authorization is the request's header
//  (NULL when absent); params the Authentication API parameters, which the
//  check may complete (client_id, client_secret, mfa_token); may_wait the
//  GW_AUTH_WAIT_* bits of what this request may still wait for (keys: not once
//  the key set was refreshed for it); client_ip only for the log.
//  Fills verdict (cleared first) and returns its outcome.
gw_verdict_t
    gw_auth_check (gw_auth_context_t *self, const gw_route_t *route, const char *authorization,
                   json_t *params, int may_wait, const char *client_ip,
                   gw_auth_verdict_t *verdict);

//  Frees what the verdict owns and zeroes it; safe on a zeroed verdict.
void
    gw_auth_verdict_clear (gw_auth_verdict_t *verdict);

//  Client credentials of an HTTP Basic Authorization header (RFC 6749 §2.3.1:
//  base64 of form-urlencoded id ":" secret). 0 and both strings (caller frees),
//  or -1 when the header is not Basic or is malformed.
int
    gw_auth_basic_credentials (const char *header, char **client_id_p, char **client_secret_p);

//  The token of a "Bearer <token>" header; caller frees; NULL when absent or
//  malformed.
char *
    gw_auth_bearer_token (const char *header);

#endif
