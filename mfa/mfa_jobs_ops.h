/*  mfa_jobs_ops - what the mail-jobs socket's operations do with mfa's data,
    apart from the dispatching (mfa_jobs): mail.result recorded through the
    writer (a failed or expired delivery becomes an `fn` audit event, one the
    mailer cancelled because its code was dead does not), mail.check answered
    from the store (S22), and mail.provider answering the stored email
    provider with its password opened (only mailers' keys reach the socket,
    whose CURVE link encrypts it).
*/
#ifndef MFA_JOBS_OPS_H_INCLUDED
#define MFA_JOBS_OPS_H_INCLUDED

#include "mfa_config.h"
#include "mfa_store.h"
#include "mfa_writer.h"
#include "pst_bus.h"

//  mail.result {job_id, result, detail?, cancelled?}: posted to writer without
//  waiting (many results share a commit); a malformed one is logged and dropped.
void
    mfa_jobs_ops_record_result (const pst_msg_t *msg, const mfa_config_t *config,
                                mfa_writer_t *writer);
//  mail.check {job_id}: fills reply with {live} (store may be NULL: an error).
void
    mfa_jobs_ops_check (const pst_msg_t *msg, pst_msg_t *reply, mfa_store_t *store,
                        const mfa_config_t *config);
//  mail.provider: fills reply with the provider as mfa_provider_for_mailer
//  gives it ({generation: 0} when none), or an error.
void
    mfa_jobs_ops_provider (pst_msg_t *reply, mfa_store_t *store, const uint8_t code_key [32]);

#endif
