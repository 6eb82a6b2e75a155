/*  gw_revocations - the access tokens stopped by the deletion of their client
    or client grant, shared by the gateway's requests.

    The gateway verifies tokens without asking authn, so a token whose client
    or grant was deleted would stay good until it expires. authn records a
    revocation at each such deletion (authn_revoke); the gateway's loop reads
    revocations.list about once a second and installs the whole list here, and
    gw_auth asks whether a verified token is covered: a revocation of its client
    for its audience, or for every audience, made at or after its iat.

    Until the first list is in, nothing is known (gw_revocations_loaded: 0). When
    authn cannot be reached the last list stays; later deletions arrive once
    authn answers again.
*/
#ifndef GW_REVOCATIONS_H_INCLUDED
#define GW_REVOCATIONS_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gw_revocations_t gw_revocations_t;

gw_revocations_t *
    gw_revocations_new (void);
void
    gw_revocations_destroy (gw_revocations_t **self_p);

//  Replaces the list with list: a JSON array of {client_id, audience (a
//  string, or null for every audience), revoked_at (Unix ms)}. 0, or -1 when
//  an entry is malformed (the previous list stays).
int
    gw_revocations_update (gw_revocations_t *self, const json_t *list);

//  1 once a list was installed, else 0.
int
    gw_revocations_loaded (gw_revocations_t *self);

//  Revocations in the current list.
size_t
    gw_revocations_size (gw_revocations_t *self);

//  1 when a revocation of client_id, for audience or for every audience,
//  covers a token issued at iat (Unix seconds): iat * 1000 <= revoked_at.
int
    gw_revocations_covers (gw_revocations_t *self, const char *client_id, const char *audience,
                           int64_t iat);

#endif
