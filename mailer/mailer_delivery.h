/*  mailer_delivery - the delivery workers: outbox rows out over SMTP.

    config->concurrency worker threads, each with its own outbox connection,
    curl handle and mfa client, claim due rows and deliver them: 2xx sent, 5xx
    failed, 4xx or a network error retried with backoff, never at or after the
    code's expiry (mailer/README.md). Before an attempt on a job that has waited
    (a retry, or a row accepted more than 2 s ago) a worker asks mfa
    (mail.check, on a request socket of its own) whether the job's code is
    still live: dead ends the job 'expired' unsent (S22), no answer puts it back
    to wait.

    Each terminal outcome goes to the owner (mailer_server, which tells mfa) as
    a mailer_delivery_result_t: one frame holding exactly that struct, by value,
    on the worker's pipe. The owner polls the workers (mailer_delivery_poll)
    and reads a result with mailer_delivery_recv, which accepts nothing else.
*/
#ifndef MAILER_DELIVERY_H_INCLUDED
#define MAILER_DELIVERY_H_INCLUDED

#include "mailer_config.h"
#include "pst_curve.h"
#include "mailer_job.h"
#include "mailer_outbox.h"
#include <czmq.h>
#include <stdbool.h>

//  The longest detail a result carries: the SMTP layer's own bound
#define MAILER_DELIVERY_DETAIL_MAX  127

//  The end of one job. Strings are NUL-terminated within their arrays.
typedef struct {
    char job_id [MAILER_JOB_ID_MAX + 1];
    mailer_state_t state;       //  MAILER_STATE_SENT, _FAILED or _EXPIRED
    bool cancelled;             //  expired because mfa said the code is dead (S22):
                                //  not a delivery problem; only with _EXPIRED
    char detail [MAILER_DELIVERY_DETAIL_MAX + 1];   //  safe to log, for mfa's audit
} mailer_delivery_result_t;

typedef struct _mailer_delivery_t mailer_delivery_t;

//  Starts the workers; NULL when one cannot start (outbox, curl or socket).
//  config and curve (the mailer's bus identity, for mail.check) are borrowed
//  and must outlive the workers.
mailer_delivery_t *
    mailer_delivery_new (const mailer_config_t *config, pst_curve_t *curve);
//  Stops the workers; a delivery in progress is abandoned (its row stays
//  'sending' and is retried at the next start).
void
    mailer_delivery_destroy (mailer_delivery_t **self_p);

//  Nudges every worker to look for due rows now (a job was just stored); a
//  busy worker finds the nudge when it is done.
void
    mailer_delivery_wake (mailer_delivery_t *self);

//  Adds the workers' pipes to poller, where their results arrive. 0 or -1.
int
    mailer_delivery_poll (mailer_delivery_t *self, zpoller_t *poller);

//  Reads one message from a worker's pipe that the poller returned. 0 and
//  *result filled when it is a well-formed result; -1 for anything else (the
//  message is dropped).
int
    mailer_delivery_recv (void *worker, mailer_delivery_result_t *result);

#endif
