/*  mfa_verify - the checks behind the two MFA grants: mfa.verify_oob (oob_code +
    binding_code) and mfa.verify_recovery (recovery code, replaced on use). Each
    decision is one BEGIN IMMEDIATE transaction. Handlers have the pst_handler_fn
    shape; worker is an mfa_worker_t. The operation catalogue (common/pst_ops.def) runs both once
    per request id, and only for a live mfa_token.
*/
#ifndef MFA_VERIFY_H_INCLUDED
#define MFA_VERIFY_H_INCLUDED

#include "mfa_worker.h"
#include "pst_bus.h"

//  Recovery codes: 24 characters of [A-Z0-9], about 124 bits (S12)
#define MFA_RECOVERY_ALPHABET   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define MFA_RECOVERY_LENGTH     24

//  mfa.verify_oob: user_id, client_id, audience, scope of the mfa_token.
int
    mfa_verify_oob (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  mfa.verify_recovery: as verify_oob plus the replacement recovery_code.
int
    mfa_verify_recovery (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  What every MFA grant's check shares (mfa_otp's too), inside its transaction.
//  Refuses when the user's failure bucket is empty (S5), with limit_type as the
//  audit type: 0, or -1 after failing reply.
int
    mfa_verify_failures_allowed (mfa_worker_t *self, pst_msg_t *reply, const char *user_id,
                                 mfa_outcome_t *outcome, const char *limit_type);
//  A wrong code costs the user one token of the failure bucket. 0 or -1.
int
    mfa_verify_count_failure (mfa_worker_t *self, const char *user_id);
//  The grant succeeded: the mfa_token (a row of mfa_worker_token) dies, the
//  failure bucket is full again (S5), and the reply says who and for what.
//  0, or -1 after failing reply.
int
    mfa_verify_grant (mfa_worker_t *self, pst_msg_t *reply, const json_t *token);

//  Normalises a recovery code as typed (upper case, spaces removed) into out.
//  0, or -1 when it is not 24 characters of [A-Z0-9] afterwards.
int
    mfa_verify_recovery_normalise (const char *typed, char out [25]);

#endif
