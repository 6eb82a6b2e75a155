/*  authn_clientauth - client authentication in front of the Authentication
    API's client routes (POST /oauth/token, /mfa/challenge, /oauth/revoke),
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

#endif
