/*  mfa_provider - the Management API's email provider, on mfa: GET, POST and
    PATCH /api/v2/emails/provider. Postern speaks SMTP only, so the provider
    is {name: "smtp", enabled, default_from_address, credentials: {smtp_host,
    smtp_port, smtp_user, smtp_pass}}. The password is sealed at rest under the
    code key's subkey 3 (mfa_seal), kept apart from the document, and never
    answered or logged; a body is checked as a whole and a bad one changes
    nothing. Challenges take the from address up at once (mfa_message); mailers
    fetch the whole provider, password opened, over their CURVE link when a
    job's provider_generation differs from the one they hold (mail.provider).
*/
#ifndef MFA_PROVIDER_H_INCLUDED
#define MFA_PROVIDER_H_INCLUDED

#include "mfa_store.h"
#include "pst_bus.h"

//  emails_provider.get: the stored provider without its password; 404 when
//  none is configured.
int
    mfa_provider_get (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  emails_provider.create (POST): configures the provider; 409 when one is.
int
    mfa_provider_create (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  emails_provider.update (PATCH): the given members over the stored provider
//  (credentials member by member: a password left out is kept); 404 when none.
int
    mfa_provider_update (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  The stored provider for a mailer (mail.provider): its document with
//  credentials.smtp_pass opened, and "generation". Returns a new object
//  (caller decrefs): {"generation": 0} when none is stored. NULL on a
//  database error or a password that does not open under code_key.
json_t *
    mfa_provider_for_mailer (mfa_store_t *store, const uint8_t code_key [32]);

#endif
