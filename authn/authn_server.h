/*  authn_server - the authn service: users, applications, APIs, grants, signing
    keys and token issuance, served over the bus by a pool of workers.
*/
#ifndef AUTHN_SERVER_H_INCLUDED
#define AUTHN_SERVER_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <sqlite3.h>
#include "authn_config.h"
#include "pst_bus.h"
#include "pst_jwt.h"

//  One per worker thread: handlers get it as their `worker` argument.
typedef struct {
    const authn_config_t *config;
    sqlite3 *db;
    pst_client_t *mfa;
    pst_jwt_signer_t *signer;   //  the current signing key, loaded once
    unsigned sign_ins;          //  password grants handled, to prune now and then
} authn_worker_t;

//  pst_actor body: args is an authn_config_t * that outlives the actor. Prepares
//  the database (migrations, signing key, bootstrap management application),
//  then serves until $TERM; reports the bound endpoint (picture "s").
void
    authn_server_actor (zsock_t *pipe, void *args);

//  Calls op on mfa with body (taken), within the request's own deadline. Returns the
//  reply, or NULL after failing `reply` with temporarily_unavailable.
pst_msg_t *
    authn_call_mfa (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                    const char *op, json_t **body_p);
//  The same, as the request's caller holding only scope: for a Management API
//  operation of authn that needs mfa to act for the same administrator.
pst_msg_t *
    authn_call_mfa_as (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                       const char *op, const char *scope, json_t **body_p);

//  Passes request on to mfa as it came (same op, id, caller and body), within
//  its deadline, and copies mfa's answer into reply. 0, or -1 with reply failed.
int
    authn_forward_mfa (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply);

//  Copies an error reply from another service into reply (code, text, extra body).
int
    authn_relay_error (pst_msg_t *reply, const pst_msg_t *from);

#endif
