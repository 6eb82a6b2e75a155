/*  authn_metadata - a user's app_metadata and user_metadata, kept as Auth0
    keeps them: JSON objects, checked when written, merged by a PATCH.

    The rules (Auth0's, and Postern's bounds):
    - each is an object; no key at any level holds '.' or '$';
    - app_metadata holds none of the top-level names Auth0 reserves for the
      profile (blocked, clientID, created_at, email, email_verified,
      global_client_id, globalClientID, identities, lastIP, lastLogin,
      metadata, user_id, loginsCount);
    - at most AUTHN_METADATA_MAX_SIZE bytes as compact JSON, each (16 KiB, the
      size Auth0 names as the practical limit);
    - nested at most AUTHN_METADATA_MAX_DEPTH deep, the object itself counting
      one: a page of users must still fit the bus's nesting (PST_MSG_MAX_DEPTH);
    - written, top-level members merge into what is stored: a member replaces
      the one of its name, whole (nested objects are not merged), a null
      removes it, and an empty object clears everything. Creation merges into
      nothing, so a null is never stored either.
    The two are separate: a change to one never touches the other.
*/
#ifndef AUTHN_METADATA_H_INCLUDED
#define AUTHN_METADATA_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>

#define AUTHN_METADATA_MAX_SIZE     16384
#define AUTHN_METADATA_MAX_DEPTH    4

//  The change data's member key ("app_metadata" or "user_metadata") asks
//  for, checked by the rules above: 0 with *changes_p (borrowed from data;
//  NULL when the member is absent), or -1 after failing reply with 400
//  bad_request.
int
    authn_metadata_check (pst_msg_t *reply, const json_t *data, const char *key,
                          json_t **changes_p);

//  What key holds once changes are merged into current (NULL or null: none
//  yet): a new object, or a new null when nothing remains. NULL after failing
//  reply when the result is over AUTHN_METADATA_MAX_SIZE (400) or memory ran out.
json_t *
    authn_metadata_merge (pst_msg_t *reply, const char *key, const json_t *current,
                          const json_t *changes);

#endif
