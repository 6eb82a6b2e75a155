/*  authn_mfa - authn's client for mfa: calls made within the deadline of the
    request that needs them, and mfa's answers passed on to authn's caller.
*/
#ifndef AUTHN_MFA_H_INCLUDED
#define AUTHN_MFA_H_INCLUDED

#include "authn_worker.h"
#include "pst_msg.h"
#include <jansson.h>

//  Calls op on mfa with body (taken), within the request's own deadline. Returns the
//  reply, or NULL after failing `reply` with temporarily_unavailable.
pst_msg_t *
    authn_mfa_call (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                    const char *op, json_t **body_p);
//  The same, as the request's caller holding only scope: for a Management API
//  operation of authn that needs mfa to act for the same administrator.
pst_msg_t *
    authn_mfa_call_as (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                       const char *op, const char *scope, json_t **body_p);

//  Passes request on to mfa as it came (same op, id, caller and body), within
//  its deadline, and copies mfa's answer into reply. 0, or -1 with reply failed.
int
    authn_mfa_forward (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply);

//  Tells mfa to void the client's live mfa_tokens (tokens.void_client): they carry
//  its credentials as they were at mfa.begin, and those changed or the client is
//  gone. 0, or -1 when mfa could not be told (logged mfa_tokens_not_voided).
int
    authn_mfa_void_client (authn_worker_t *worker, const pst_msg_t *request,
                           const char *client_id);

//  Copies an error reply from another service into reply (code, text, extra body).
int
    authn_mfa_relay_error (pst_msg_t *reply, const pst_msg_t *from);

#endif
