/*  mfa_message - what a challenge's email is made of beyond its code: the
    mfa_oob_code template and the email provider's from address, as stored
    through the Management API (mfa_templates, mfa_provider), or the defaults.

    Each worker keeps a copy. Before each challenge it reads the two
    generations in one statement (mfa_store_mail_generations: two primary-key
    lookups) and reads a document again only when its generation moved, so a
    save on any mfa instance sharing the database is used from the next
    challenge on, with no restart and no cache to expire.
*/
#ifndef MFA_MESSAGE_H_INCLUDED
#define MFA_MESSAGE_H_INCLUDED

#include "mfa_store.h"
#include <stdint.h>

//  The one template mfa sends
#define MFA_MESSAGE_TEMPLATE    "mfa_oob_code"

typedef struct _mfa_message_t mfa_message_t;

mfa_message_t *
    mfa_message_new (void);
void
    mfa_message_destroy (mfa_message_t **self_p);

//  Brings the copy up to date with store. 0, or -1 when the store could not
//  be read (logged; the copy stays as it was).
int
    mfa_message_refresh (mfa_message_t *self, mfa_store_t *store);

//  The stored, enabled template's subject and HTML body sources; NULL for the
//  defaults. Borrowed until the next refresh.
const char *
    mfa_message_subject (mfa_message_t *self);
const char *
    mfa_message_html (mfa_message_t *self);
//  The From of the mail: the enabled template's `from`, else the enabled
//  provider's default_from_address, else NULL (the mailer's POSTERN_SMTP_FROM).
const char *
    mfa_message_from (mfa_message_t *self);
//  The stored provider's generation (0: none), which each job carries so that
//  mailers know when to fetch the provider again.
int64_t
    mfa_message_provider_generation (mfa_message_t *self);

#endif
