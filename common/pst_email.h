//  One rule for what an email address is, shared by every service so that an
//  address authn or mfa accepts is one the mailer can send to: a dot-atom local
//  part (RFC 5322 atext, at most 64 octets) and an ASCII domain name, at most 254
//  octets in all (the RFC 5321 path limit less the brackets). Quoted local parts,
//  address literals and raw UTF-8 (SMTPUTF8) are refused rather than half-handled.
#ifndef PST_EMAIL_H_INCLUDED
#define PST_EMAIL_H_INCLUDED

#include <stddef.h>

#define PST_EMAIL_MAX           254
#define PST_EMAIL_LOCAL_MAX     64

//  1 when address is a deliverable address by the rule above, 0 otherwise
//  (NULL included).
int
    pst_email_valid (const char *address);

#endif
