/*  mailer_message - validation of what goes into headers and the SMTP envelope,
    and the RFC 5322 message itself.

    Anything that reaches a header or an SMTP command is checked here: CR, LF or NUL
    would let a caller add headers or recipients (S16), so they are refused, never
    escaped. The message is a pure function of the job (the Date is the time the job
    was accepted and the MIME boundary derives from the Message-ID), so every retry
    sends the same bytes (S23).
*/
#ifndef MAILER_MESSAGE_H_INCLUDED
#define MAILER_MESSAGE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "pst_email.h"

#define MAILER_ADDRESS_MAX      PST_EMAIL_MAX   //  RFC 5321 path limit less the brackets
#define MAILER_DISPLAY_NAME_MAX 128
#define MAILER_SUBJECT_MAX      512     //  bytes of UTF-8
#define MAILER_MESSAGE_ID_MAX   250
#define MAILER_TEXT_MAX         (64 * 1024)
#define MAILER_HTML_MAX         (128 * 1024)

//  1 when the size bytes of value hold no control character (CR, LF, NUL, any
//  other C0 byte or DEL): it may go into a header. 0 otherwise.
int
    mailer_header_safe (const char *value, size_t size);

//  1 when address is a plain addr-spec we deliver to: at most 254 printable ASCII
//  characters, exactly one '@', a local part of 1..64 and a domain of 1.. chars, no
//  spaces, quotes, brackets, commas or other specials. 0 otherwise.
int
    mailer_address_valid (const char *address);

//  Splits a mailbox, "addr-spec" or "Display Name <addr-spec>", into its display
//  name ("" when none) and address; both newly allocated. 0, or -1 when the mailbox
//  is not acceptable (control characters, quotes or backslashes in the name, a bad
//  address).
int
    mailer_mailbox_parse (const char *mailbox, char **name_p, char **address_p);

//  Message-ID in header form "<left@right>" from "left@right" or "<left@right>";
//  an id without '@' gets "@" plus domain appended (deterministically, so it stays
//  stable across retries). NULL when the id is empty, too long or holds characters
//  outside printable ASCII or '<', '>'. Caller frees.
char *
    mailer_message_id_normalize (const char *message_id, const char *domain);

//  What a message is built from; all strings borrowed and already validated.
typedef struct {
    const char *from;           //  mailbox, "Name <addr>" or "addr"
    const char *to;             //  addr-spec
    const char *subject;        //  UTF-8
    const char *text;           //  text/plain part, UTF-8
    const char *html;           //  text/html part, UTF-8
    const char *message_id;     //  "<left@right>"
    int64_t date;               //  Unix seconds for the Date header
} mailer_message_t;

//  The complete message with CRLF line endings: Date, From, To, Subject (RFC 2047
//  B-encoded when not ASCII), Message-ID, MIME-Version and a multipart/alternative
//  body of quoted-printable text/plain and text/html parts in UTF-8. Dot-stuffing
//  is left to libcurl. Returns the message and its size, or NULL when a field is
//  unsafe. Caller frees.
char *
    mailer_message_build (const mailer_message_t *message, size_t *size_p);

#endif
