/*  mfa_job_id - the ids of mail jobs, which say when they were made.

    A challenge's rows are written once, after a mailer has acknowledged its
    job (mfa_flow), so for a moment a mailer holds a job that mfa.db does not
    know yet: its result, or a check before a retry, can arrive first. The id
    carries the time it was made (12 hex digits of Unix ms, then 20 of
    randomness: 32 hex characters, 80 random bits), so that mfa can tell a job
    it has not recorded yet from one it never will, without asking the mailer.
    Only mfa reads the time; to a mailer the id is opaque.
*/
#ifndef MFA_JOB_ID_H_INCLUDED
#define MFA_JOB_ID_H_INCLUDED

#include <stdint.h>

#define MFA_JOB_ID_SIZE     33      //  32 hex characters and the NUL

//  How long after its making a job may still be unknown to mfa.db: the worker
//  waits at most its request's deadline (under a minute) for the mailer's
//  acknowledgement, then commits the challenge in the writer's next batch
#define MFA_JOB_ID_SETTLE_MS    (2 * 60 * 1000)

//  A new id for a job made at now (Unix ms). 0, or -1 when randomness failed.
int
    mfa_job_id_new (int64_t now, char out [MFA_JOB_ID_SIZE]);

//  1 when job_id is one of ours made less than MFA_JOB_ID_SETTLE_MS before now
//  (or up to that much after it: another instance's clock): its rows may still
//  be on their way. 0 for anything else, an id of the older, all-random form
//  included (those were written before their mail).
int
    mfa_job_id_settling (const char *job_id, int64_t now);

#endif
