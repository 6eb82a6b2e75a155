/*  mfa_jobs - the mail dispatcher: hands mail.send jobs to mailers by readiness.

    A thread owns the jobs ROUTER (mailers connect DEALERs to it) and an inproc
    ROUTER that mfa workers call with pst_client. Mailers announce capacity with
    mail.ready {credit}; a job goes to a mailer with credit, and the mailer's reply
    (sent once the job is in its outbox) is relayed to the waiting worker by request
    id. With no mailer the job waits until its deadline and is then dropped, so the
    worker's call times out and the challenge is voided (S20). A mailer silent for
    MFA_JOBS_MAILER_TIMEOUT_MS is forgotten. What the socket's other operations
    do with mfa's data (mail.result recorded, mail.check and mail.provider
    answered from the store) is mfa_jobs_ops'.
*/
#ifndef MFA_JOBS_H_INCLUDED
#define MFA_JOBS_H_INCLUDED

#include "mfa_config.h"
#include "mfa_writer.h"
#include "pst_curve.h"

#define MFA_JOBS_MAILER_TIMEOUT_MS  3000

typedef struct _mfa_jobs_t mfa_jobs_t;

//  Binds config->jobs_endpoint as a CURVE server with curve's key, admitting
//  only mailers' keys, and starts the dispatcher; NULL when the endpoint is
//  another instance's, the bind or the database fails. Results are recorded
//  through writer; code_key (copied) opens the email provider's password for
//  mailers. config, curve and writer must outlive the dispatcher.
mfa_jobs_t *
    mfa_jobs_new (const mfa_config_t *config, pst_curve_t *curve, mfa_writer_t *writer,
                  const uint8_t code_key [32]);
void
    mfa_jobs_destroy (mfa_jobs_t **self_p);

//  The jobs endpoint actually bound (tcp://...:* resolved).
const char *
    mfa_jobs_endpoint (mfa_jobs_t *self);
//  The inproc endpoint workers connect their pst_client to.
const char *
    mfa_jobs_inproc (mfa_jobs_t *self);

#endif
