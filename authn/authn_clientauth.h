/*  authn_clientauth - client authentication in front of authn's
    Authentication API routes (POST /oauth/token, /oauth/revoke),
    as contract §2 decides it: client_id, and client_secret unless the client
    is public (the gateway has already moved HTTP Basic credentials into the
    body).
*/
#ifndef AUTHN_CLIENTAUTH_H_INCLUDED
#define AUTHN_CLIENTAUTH_H_INCLUDED

#include "authn_worker.h"
#include "pst_msg.h"

//  The client that request authenticates, or NULL after failing reply
//  (invalid_request without client_id, invalid_client otherwise). With
//  secret_optional a confidential client may omit its secret (an mfa_token
//  binds the client); a secret that is sent must still be right. Caller
//  destroys the client.
authn_client_t *
    authn_clientauth_check (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                            int secret_optional);

//  1 when the client is still stored as public or confidential as it was when
//  read (a password grant's, before its hash), with the same secret; 0 when
//  that changed, the client is gone, or it could not be read (a database
//  that cannot be reached makes the request's answer 503 anyway).
int
    authn_clientauth_unchanged (authn_worker_t *worker, const authn_client_t *client);

#endif
