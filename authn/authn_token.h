/*  authn_token - POST /oauth/token (every grant) and the client authentication
    in front of POST /mfa/challenge.
*/
#ifndef AUTHN_TOKEN_H_INCLUDED
#define AUTHN_TOKEN_H_INCLUDED

#include "pst_msg.h"

int
    authn_token_grant (void *worker, const pst_msg_t *request, pst_msg_t *reply);
int
    authn_token_mfa_challenge (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  The grant types /oauth/token serves, as a JSON array of strings (for the
//  discovery document); NULL when out of memory.
json_t *
    authn_token_grant_types (void);

#endif
