/*  mfa_server - the mfa service: MFA state (tokens, authenticators, challenges,
    recovery codes, factors, policies) served over the bus by a pool of workers,
    plus the mail dispatcher that feeds the mailers.
*/
#ifndef MFA_SERVER_H_INCLUDED
#define MFA_SERVER_H_INCLUDED

#include <czmq.h>
#include "mfa_config.h"
#include "mfa_worker.h"
#include "pst_bus.h"

//  pst_actor body: args is an mfa_config_t * that outlives the actor. Migrates
//  the database, loads the code key, starts the dispatcher and the service,
//  then reports both bound endpoints (picture "ss": api, jobs) and serves until
//  $TERM.
void
    mfa_server_actor (zsock_t *pipe, void *args);

#endif
