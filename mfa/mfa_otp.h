/*  mfa_otp - the otp authenticator (an authenticator app, RFC 6238): its
    association (a new secret, sealed in the database under a key derived from
    the code key, shown once as base32 and as an otpauth:// URI) and the check
    behind the mfa-otp grant (mfa.verify_otp), whose first success confirms the
    association. The arithmetic is mfa_totp's; the failure bucket, the grant and
    their errors are those of the email code (mfa_verify). Each decision is one
    transaction of the writer.
*/
#ifndef MFA_OTP_H_INCLUDED
#define MFA_OTP_H_INCLUDED

#include "mfa_worker.h"
#include "pst_bus.h"

//  mfa.associate with authenticator_types ["otp"] (mfa_flow hands it over):
//  {"authenticator_type": "otp", "secret", "barcode_uri", "id",
//  "recovery_codes"?}. The user must have no active authenticator and the otp
//  factor must be on; an unconfirmed earlier association is replaced.
int
    mfa_otp_associate (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply);

//  mfa.verify_otp (pst_handler_fn shape; worker is an mfa_worker_t): mfa_token,
//  client_id, otp. As mfa_verify_oob: user_id, client_id, audience, scope,
//  auth_time of the mfa_token.
int
    mfa_otp_verify (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
