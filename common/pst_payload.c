/*  pst_payload - the member check every Management API payload gets.
*/
#include "pst_payload.h"
#include "pst_error.h"
#include <string.h>

#define NAME_SHOWN_MAX      64

//  The bytes of a name PST_PAYLOAD_NAME_WORD shows, and those
//  PST_PAYLOAD_NAME_PRINTABLE does not
static const char s_word_bytes [] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
static const char s_control_bytes [] =
    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
    "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f";

//  Whether a reply may repeat name: its text goes back to a client, and on
//  into whatever logs the client keeps
static int
s_shown (const char *name, pst_payload_name_t names)
{
    size_t length = names == PST_PAYLOAD_NAME_WORD? strspn (name, s_word_bytes)
                                                  : strcspn (name, s_control_bytes);
    return name [length] == '\0' && length <= NAME_SHOWN_MAX;
}

int
pst_payload_only (pst_msg_t *reply, const json_t *object, const char *const *known,
                  pst_payload_name_t names)
{
    const char *name;
    json_t *value;
    json_object_foreach ((json_t *) object, name, value) {
        (void) value;
        const char *const *member = known;
        while (*member && strcmp (*member, name) != 0)
            member++;
        if (!*member)
            return pst_msg_fail (reply, PST_ERR_INVALID_BODY,
                "Payload validation error: 'Additional properties not allowed: %s'"
                " (a member Postern does not support; docs/auth0.md)",
                s_shown (name, names)? name: "(a member)");
    }
    return 0;
}
