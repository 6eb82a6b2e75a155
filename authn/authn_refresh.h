/*  authn_refresh - refresh tokens as Auth0 issues them with rotation: opaque
    (256 random bits), stored as their SHA-256 only, each exchange answering a
    new one and retiring the one used; a retired token used again revokes its
    whole family (every token rotated from the same sign-in), with no reuse
    interval (Auth0's leeway 0). A family lives at most the absolute lifetime
    from its sign-in, and a token expires unused after the idle lifetime
    (authn_config). Also POST /oauth/revoke.

    The exchange is a read-then-write in one store transaction (authn's lock
    on PostgreSQL), so two uses of one token never both succeed, whichever
    instances they reach.
*/
#ifndef AUTHN_REFRESH_H_INCLUDED
#define AUTHN_REFRESH_H_INCLUDED

#include "authn_worker.h"
#include "pst_msg.h"

//  A new family's first token for a user signed in to client_id for audience
//  and scope (auth_time: when the password was checked), set as
//  "refresh_token" in the reply's body. 0, or -1 after failing reply (its body
//  emptied: no token goes out beside an error).
int
    authn_refresh_issue (authn_worker_t *worker, const char *user_id, const char *client_id,
                         const char *audience, const char *scope, int64_t auth_time,
                         int64_t now, pst_msg_t *reply);

//  The refresh_token grant's first half: opens a store transaction and finds
//  the live token presented, issued to client_id. 0 with the transaction open
//  and *token_p set (caller destroys); the caller then signs what it answers
//  and ends with authn_refresh_rotate or authn_refresh_abandon. -1 after
//  failing reply, the transaction ended: invalid_grant for a token unknown,
//  another client's, expired or revoked, and for a reuse, which first revokes
//  the token's family.
int
    authn_refresh_take (authn_worker_t *worker, const char *client_id, const char *presented,
                        int64_t now, pst_msg_t *reply, authn_refresh_token_t **token_p);
//  Retires presented and sets its successor (same family, scope and absolute
//  expiry) as "refresh_token" in the reply's body, then commits. 0, or -1
//  after failing reply (its body emptied), everything rolled back.
int
    authn_refresh_rotate (authn_worker_t *worker, const char *presented,
                          const authn_refresh_token_t *token, int64_t now, pst_msg_t *reply);
//  Rolls back the transaction authn_refresh_take opened.
void
    authn_refresh_abandon (authn_worker_t *worker);

//  POST /oauth/revoke (op token.revoke): revokes the family of the refresh
//  token given, as Auth0 does: 200 with nothing to say, for an unknown token
//  too; a token of another client is refused (403 invalid_grant) and stays.
int
    authn_refresh_revoke (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
