/*  mfa_flow - the MFA conversation up to the code: begin (mint an mfa_token),
    associate (enrol an email authenticator), challenge.create (send a code),
    tokens.void_client (a client's credentials changed).
    Handlers have the pst_handler_fn shape; worker is an mfa_worker_t. The operation
    catalogue (common/pst_ops.def) runs associate and challenge.create once per request
    id, and only for a live mfa_token. The verifications are in mfa_verify.
*/
#ifndef MFA_FLOW_H_INCLUDED
#define MFA_FLOW_H_INCLUDED

#include "pst_bus.h"

//  mfa.begin: is MFA required for this login? If so, a new mfa_token.
int
    mfa_flow_begin (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  mfa.associate: inactive email authenticator, first recovery code, first challenge;
//  with an access token's caller, a further one alone (confirmed by a later challenge).
int
    mfa_flow_associate (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  challenge.create: a new code for the user's active email authenticator, or for an
//  otp one {"challenge_type": "otp"} (the app holds the code).
int
    mfa_flow_challenge (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  tokens.void_client: authn changed a client's credentials or deleted it; its
//  live mfa_tokens, which carry the old ones, stop working (the sign-in starts again).
int
    mfa_flow_void_client (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
