/*  authn_server - the authn service: users, applications, APIs, grants, signing
    keys and token issuance, served over the bus by a pool of workers.
*/
#ifndef AUTHN_SERVER_H_INCLUDED
#define AUTHN_SERVER_H_INCLUDED

#include <czmq.h>
#include "authn_config.h"

//  pst_actor body: args is an authn_config_t * that outlives the actor. Prepares
//  the database (migrations, signing key, bootstrap management application),
//  then serves until $TERM; reports the bound endpoint (picture "s").
void
    authn_server_actor (zsock_t *pipe, void *args);

#endif
