/*  authn_revoke - deleting a client or a client grant stops the tokens it had
    given, at the gateway.

    Access tokens are JWTs that the gateway verifies by itself, so deleting the
    client or grant they came from would leave them valid until they expire.
    Instead the deletion records a revocation in its own transaction: the
    client's tokens for every audience, or the grant's tokens for its audience,
    issued up to that moment. The gateway reads them with revocations.list about
    once a second and refuses the Management and MFA API tokens they cover.

    A token's iat counts whole seconds and is taken when its request began
    (authn_token); a revocation counts milliseconds and is stamped again once
    its deletion has committed, so a token whose request read the grant before
    it went is always covered. A grant created again for the same client and
    audience waits for the second after the revocation before it is stored, so
    its tokens are never born revoked.

    A revocation is kept while a token it covers could still be valid (the
    longest token lifetime of the system APIs, the tokens the gateway verifies,
    plus a margin for the gateway's leeway and clocks), then pruned.
*/
#ifndef AUTHN_REVOKE_H_INCLUDED
#define AUTHN_REVOKE_H_INCLUDED

#include "authn_store.h"
#include "authn_worker.h"
#include "pst_msg.h"

//  Past a token's exp, how long a revocation is still kept: the gateway's
//  leeway on exp (30 s) and some difference between clocks
#define AUTHN_REVOKE_MARGIN_S   300
//  Revocations per revocations.list answer, each at most ~700 bytes: well
//  under the bus's frame limit
#define AUTHN_REVOKE_PAGE       200

//  Deletes the client (AUTHN_CLIENTS) or client grant (AUTHN_CLIENT_GRANTS)
//  id names and records the revocation of its tokens in the same transaction.
//  Rows deleted (0 when none), or -1.
int
    authn_revoke_delete (authn_worker_t *worker, authn_resource_t resource, const char *id);

//  Before a grant for client_id and audience is stored: when that pair was
//  revoked in the current second, waits for the next one, within the request's
//  deadline. 0, or -1 after failing reply (conflict: no time left to wait).
int
    authn_revoke_wait (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                       const char *client_id, const char *audience);

//  revocations.list: {"after": id?} gives the next AUTHN_REVOKE_PAGE
//  revocations of ids above it, {"revocations": [{client_id, audience (null:
//  every audience), revoked_at (Unix ms)}], "next": last id, "more": bool}.
int
    authn_revoke_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
