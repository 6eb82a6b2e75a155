/*  authn_token - POST /oauth/token (every grant). POST /mfa/challenge is mfa's:
    the mfa_token carries the client's credentials (mfa.begin).
*/
#ifndef AUTHN_TOKEN_H_INCLUDED
#define AUTHN_TOKEN_H_INCLUDED

#include "pst_msg.h"

int
    authn_token_grant (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  The grant types /oauth/token serves, as a JSON array of strings (for the
//  discovery document); NULL when out of memory.
json_t *
    authn_token_grant_types (void);

#endif
