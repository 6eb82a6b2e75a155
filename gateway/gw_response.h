/*  gw_response - what the gateway answers, before it becomes an MHD response.

    Kept apart from libmicrohttpd so the rendering rules can be unit tested:
    - success: the reply body's "result" member when present (lists), else the
      whole body; no body at all for 204;
    - Authentication API errors: {"error","error_description"} plus the reply
      body's other members (e.g. mfa_token);
    - Management API errors: {"statusCode","error" (reason phrase),"message",
      "errorCode"};
    - a "retry_after" body member becomes the Retry-After header;
    - the status of an error comes from pst_error_http_status; a code outside the
      vocabulary is a 500 server_error;
    - a 401 names the scheme to retry with (gw_response_challenge).
    gw_response_queue is the one place that turns a response into libmicrohttpd's,
    with the headers every answer carries.
*/
#ifndef GW_RESPONSE_H_INCLUDED
#define GW_RESPONSE_H_INCLUDED

#include "gw_routes.h"
#include "pst_msg.h"
#include <stddef.h>

#define GW_RESPONSE_MAX_HEADERS 12

//  WWW-Authenticate values: RFC 6750 §3 for bearer tokens, RFC 7617 for Basic
#define GW_RESPONSE_CHALLENGE_BEARER    "Bearer error=\"invalid_token\""
//  /userinfo's answer to a token without openid (OpenID Connect Core §5.3.3)
#define GW_RESPONSE_CHALLENGE_OPENID    "Bearer error=\"insufficient_scope\", scope=\"openid\""
#define GW_RESPONSE_CHALLENGE_BASIC     "Basic realm=\"postern\", charset=\"UTF-8\""

struct MHD_Connection;

typedef struct _gw_response_t gw_response_t;

//  The HTTP rendering of a service reply to route. NULL when out of memory.
gw_response_t *
    gw_response_from_reply (const gw_route_t *route, const pst_msg_t *reply);

//  An error the gateway decides itself (404, 405, 413, 401...).
gw_response_t *
    gw_response_error (gw_family_t family, int status, const char *code, const char *message);

//  An answer whose JSON body is text already (taken; NULL on failure, when the
//  text is freed too): the documents the gateway keeps copies of.
gw_response_t *
    gw_response_json_text (int status, char **body_p);

//  An answer without a body (a CORS preflight's 204).
gw_response_t *
    gw_response_empty (int status);

//  The Management API's 429 too_many_requests for a caller whose bucket is
//  empty (gw_ratelimit), with Retry-After.
gw_response_t *
    gw_response_rate_limited (int retry_after);

void
    gw_response_destroy (gw_response_t **self_p);

int
    gw_response_status (gw_response_t *self);

//  JSON text, or NULL when the response has no body (204).
const char *
    gw_response_body (gw_response_t *self);

//  Adds a header (copied); -1 when the table is full.
int
    gw_response_add_header (gw_response_t *self, const char *name, const char *value);

//  Adds X-RateLimit-Limit, -Remaining and -Reset (Unix seconds), each only
//  when it is a sane non-negative integer.
void
    gw_response_rate_limit (gw_response_t *self, long long limit, long long remaining,
                            long long reset);

//  Value of header name (case-insensitive), NULL when absent. Borrowed.
const char *
    gw_response_header (gw_response_t *self, const char *name);

size_t
    gw_response_header_count (gw_response_t *self);
const char *
    gw_response_header_name (gw_response_t *self, size_t index);
const char *
    gw_response_header_value (gw_response_t *self, size_t index);

//  On a 401 a service decided, the challenge of the scheme the client used:
//  Basic for a client that failed it (RFC 6749 §5.2), Bearer when a service
//  refused the token (an mfa_token unknown or expired: RFC 6750 §3).
//  authorization is the request's header, NULL when absent.
void
    gw_response_challenge (gw_response_t *self, const char *authorization);

//  Queues *self_p on connection and destroys it. Adds Content-Type (with a
//  body) and nosniff always; no-store unless cacheable (tokens, codes and
//  secrets travel in these answers); Connection: close when closing (the
//  gateway is draining). 0, or -1 when libmicrohttpd refused.
int
    gw_response_queue (gw_response_t **self_p, struct MHD_Connection *connection,
                       int cacheable, int closing);

#endif
