/*  pst_payload - the member check every Management API payload gets, in
    whichever service handles it.

    Auth0 answers 400 invalid_body "Payload validation error: 'Additional
    properties not allowed: x'" for a member its schema lacks. Postern answers
    the same for any member the handler does not keep, also for members Auth0
    has and Postern does not (a `blocked` ignored would leave the user able to
    sign in), so a payload is used whole or refused (docs/auth0.md).

    Kept apart from pst_json, which parses and knows nothing of the bus: this
    module fails a pst_msg reply.
*/
#ifndef PST_PAYLOAD_H_INCLUDED
#define PST_PAYLOAD_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>

//  Which names of a refused member the reply repeats; any other, and any over
//  64 bytes, is given as "(a member)". authn's payloads use the first, mfa's
//  the second: the two grew apart, and each is kept as clients see it.
typedef enum {
    PST_PAYLOAD_NAME_PRINTABLE,     //  no byte below 0x20, nor 0x7f
    PST_PAYLOAD_NAME_WORD           //  letters, digits, '_', '-' and '.' only
} pst_payload_name_t;

//  0 when every member of object is one of known (NULL-terminated); 0 too
//  when object is NULL or not an object. Else -1 after failing reply with
//  invalid_body naming the first member that is not, shown as names says.
int
    pst_payload_only (pst_msg_t *reply, const json_t *object, const char *const *known,
                      pst_payload_name_t names);

#endif
