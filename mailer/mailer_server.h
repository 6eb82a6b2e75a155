/*  mailer_server - the mailer service as a pst_actor: the job socket and the outbox.

    Connects a DEALER to mfa's mail-jobs endpoint and announces its capacity with
    mail.ready {credit} at start, every second, and after stored or finished
    jobs when that is news to mfa (mailer_ready_is_news). Credit is the room
    left below config->max_backlog unfinished jobs (at most one batch): with the relay down
    the outbox fills up to that, then credit is 0 and a mail.send that arrives
    anyway is refused (temporarily_unavailable) until deliveries or expiries
    drain it. The mail.send requests waiting on the socket are validated,
    committed to the outbox together and only then acknowledged (S20). The
    delivery workers (mailer_delivery) send due rows over SMTP; the terminal
    outcomes they report are written to the outbox here, many per transaction
    (a failed write is tried again a second later), and each written one goes
    back to mfa as mail.result.

    A pst_actor body: it reports the jobs endpoint (picture "s") when it runs, or
    fails. It stops on "$TERM"; a delivery in progress is abandoned and retried
    at the next start, and the outcomes of those that finished are written.

        char *endpoint = NULL;
        zactor_t *mailer = pst_actor_new (mailer_server_actor, config, "s", &endpoint);
*/
#ifndef MAILER_SERVER_H_INCLUDED
#define MAILER_SERVER_H_INCLUDED

#include "mailer_config.h"
#include <czmq.h>

//  args is a mailer_config_t *, borrowed: it must outlive the actor.
void
    mailer_server_actor (zsock_t *pipe, void *args);

//  After jobs were stored or ended: whether a mail.ready tells an mfa instance
//  something it could act on. told_credit and told_received are what the last
//  one said; credit and received are what one would say now (received counts
//  the instance's jobs read since the mailer started). True when the credit
//  differs, or half of the credit told has been used (the instance still has
//  the other half while the next one crosses), or gap_ms (READY_GAP_MS) have
//  passed since the last one.
bool
    mailer_ready_is_news (int credit, int told_credit, int64_t received,
                          int64_t told_received, int64_t since_last_ms, int gap_ms);

#endif
