/*  mailer_server - the mailer service as a CZMQ actor.

    Connects a DEALER to mfa's mail-jobs endpoint and announces its capacity with
    mail.ready {credit} at start, every second and after each finished job. Credit
    is the idle workers, but never more than the room left below config->max_backlog
    unfinished jobs: with the relay down the outbox fills up to that, then credit is
    0 and a mail.send that arrives anyway is refused (temporarily_unavailable) until
    deliveries or expiries drain it. A mail.send is validated, committed to the
    outbox and only then acknowledged (S20). Worker threads, config->concurrency of them, deliver due rows over SMTP
    with retries, and each terminal outcome goes back to mfa as mail.result.
    Before an attempt on a job that has waited (a retry, or a row accepted more
    than 2 s ago) a worker asks mfa (mail.check) whether its code is still live,
    on a request socket of its own: dead ends the job 'expired' unsent (S22), no
    answer puts it back to wait.

    A pst_actor body: it reports the jobs endpoint (picture "s") when it runs, or
    fails. It stops on "$TERM"; a delivery in progress is abandoned and retried
    at the next start.

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

#endif
