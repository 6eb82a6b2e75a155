/*  pst_msg_internal - what the two files of pst_msg share: the envelope's
    struct, the byte limits of its strings and two checks.

    Private: included by pst_msg.c and pst_msg_codec.c alone, so that the
    envelope stays opaque to everything else (pst_msg.h is the interface).
*/
#ifndef PST_MSG_INTERNAL_H_INCLUDED
#define PST_MSG_INTERNAL_H_INCLUDED

#include "pst_msg.h"

//  Byte limits of the optional envelope strings (docs/protocol.md, Envelope)
#define PST_MSG_CALLER_MAX      256
#define PST_MSG_SCOPES_MAX      4096
#define PST_MSG_CLIENT_IP_MAX   64
#define PST_MSG_ERROR_MAX       64
#define PST_MSG_TEXT_MAX        1024

struct _pst_msg_t {
    char id [PST_MSG_ID_LEN + 1];
    char op [PST_MSG_OP_MAX + 1];
    uint64_t deadline;          //  Unix ms
    int64_t mono_deadline;      //  the same moment on this process's monotonic
                                //  clock (ms), fixed when the deadline is set
    char *caller;               //  NULL when absent
    char *scopes;
    char *caller_client;        //  client the caller's token was issued to (azp)
    char *client_ip;
    int is_reply;               //  replies carry st on the wire
    int is_error;
    char *error;                //  code from pst_error.h
    char *error_text;
    json_t *body;               //  always an object
};

//  1 when the len bytes at op are an operation name: 1 to PST_MSG_OP_MAX of
//  a-z, 0-9, '_' and '.'; 0 if not.
int
    pst_msg_valid_op (const char *op, size_t len);

//  1 when the len bytes at text are valid UTF-8 (as jansson judges it), 0 if not.
int
    pst_msg_valid_utf8 (const char *text, size_t len);

//  Fixes the monotonic moment at which self's deadline passes, from the time
//  it has left now. Called wherever the deadline is set or decoded.
void
    pst_msg_anchor_deadline (pst_msg_t *self);

#endif
