/*  mailer_delivery - the delivery workers: outbox rows out over SMTP.

    config->concurrency worker threads, each with its own outbox connection,
    curl handle and mfa client, deliver jobs: 2xx sent, 5xx
    failed, 4xx or a network error retried with backoff, never at or after the
    code's expiry (mailer/README.md). Before an attempt on a job that has waited
    (a retry, or a row accepted more than 2 s ago) a worker asks mfa
    (mail.check, on a request socket of its own) whether the job's code is
    still live: dead ends the job 'expired' unsent (S22), no answer puts it back
    to wait.

    A fresh job comes to the workers in memory: the owner stores it already
    claimed (mailer_outbox_insert_batch's sending) and hands it over
    (mailer_delivery_hand), and the first worker free takes it, with no claim
    of its own (a write transaction that rewrote the row with its bodies, and
    under load one for each worker woken). Rows due later (a retry, a row
    recovered at start) are claimed from the outbox, looked at when one may be
    due (at least every second).

    A worker writes no terminal outcome itself: each goes to the owner
    (mailer_server) as a mailer_delivery_result_t on a list they share, with a
    nudge on an eventfd when the list was empty. The owner waits on it
    (mailer_delivery_fd), reads the ends with mailer_delivery_next, writes
    all it read in one transaction (mailer_outbox_finish_batch), tells mfa, and
    says how many it wrote (mailer_delivery_written). Under load the workers
    then never wait for the outbox's write lock on the way from one mail to the
    next: with each worker writing its own outcome they did, about four times a
    mail, behind the owner's synced commits and each other's. The rarer writes
    stay the workers': claims of due rows, retries, postponements, releases,
    and the prune and checkpoint when idle.
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
    long smtp_code;             //  the last reply's code, 0: none
    int attempts;               //  the attempts made, this one included
    char detail [MAILER_DELIVERY_DETAIL_MAX + 1];   //  safe to log, for mfa's audit
} mailer_delivery_result_t;

typedef struct _mailer_delivery_t mailer_delivery_t;

//  Starts the workers; NULL when one cannot start (outbox, curl or socket).
//  config and curve (the mailer's bus identity, for mail.check) are borrowed
//  and must outlive the workers.
mailer_delivery_t *
    mailer_delivery_new (const mailer_config_t *config, pst_curve_t *curve);
//  Stops the workers and waits for them: a delivery in progress is abandoned
//  (its row stays 'sending' and is retried at the next start). The ends they
//  reported stay readable with mailer_delivery_next, so an owner that writes
//  them before mailer_delivery_destroy loses none.
void
    mailer_delivery_stop (mailer_delivery_t *self);
//  Stops the workers if they still run; ends not read are dropped (logged),
//  and their rows are sent again after the restart.
void
    mailer_delivery_destroy (mailer_delivery_t **self_p);

//  Takes *job_p (stored as claimed, its first attempt to come) for the first
//  worker free. Call mailer_delivery_wake after a batch of them.
void
    mailer_delivery_hand (mailer_delivery_t *self, mailer_job_t **job_p);
//  Nudges one idle worker for each job handed over and not taken yet; busy
//  workers take the rest when they are done.
void
    mailer_delivery_wake (mailer_delivery_t *self);

//  The descriptor the owner waits on (pst_actor_wait's fd): it becomes readable
//  when an end is reported to an empty list. The owner never reads it itself:
//  mailer_delivery_next does, once it finds the list empty.
int
    mailer_delivery_fd (mailer_delivery_t *self);

//  The next end a worker reported, without waiting, in the order they came:
//  1 with *result filled, 0 when there is none. An owner that reads until this
//  says 0 may then wait on mailer_delivery_fd.
int
    mailer_delivery_next (mailer_delivery_t *self, mailer_delivery_result_t *result);
//  The owner wrote count ends to the outbox: an idle worker checkpoints it
//  after them, so the wiped bodies replace the codes in the database file too.
void
    mailer_delivery_written (mailer_delivery_t *self, int count);

#endif
