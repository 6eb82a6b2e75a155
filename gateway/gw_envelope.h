/*  gw_envelope - the bus request an HTTP request becomes.

    docs/protocol.md ("Body conventions") says what a service receives: the
    Authentication API's parameters as a flat object, the Management API's path
    captures, JSON body and query as {id, sub_id, data, query}; the caller and
    scopes of a verified token; the client's address.
*/
#ifndef GW_ENVELOPE_H_INCLUDED
#define GW_ENVELOPE_H_INCLUDED

#include "gw_auth.h"
#include "gw_routes.h"
#include "pst_msg.h"

//  The request body for match's route. Authentication API: the parameters,
//  taken from *params_p, with the path's {id} over a member of that name.
//  Management API: {id, sub_id, data, query} from the path captures, data (the
//  JSON body) and query (left out when empty), both borrowed. NULL when a path
//  capture is not UTF-8 (no such resource) or out of memory.
json_t *
    gw_envelope_body (const gw_match_t *match, json_t **params_p, json_t *data, json_t *query);

//  The request for route, carrying the caller, scopes and azp of verdict and
//  client_ip when not empty; takes *body_p. NULL when out of memory.
pst_msg_t *
    gw_envelope_request (const gw_route_t *route, int timeout_ms,
                         const gw_auth_verdict_t *verdict, const char *client_ip,
                         json_t **body_p);

#endif
