/*  authn_worker - what each worker thread of authn holds: its own store, its
    connection to mfa and its signing keys (authn_signer: loaded once, again
    after a rotation). Handlers get it as their `worker` argument.
*/
#ifndef AUTHN_WORKER_H_INCLUDED
#define AUTHN_WORKER_H_INCLUDED

#include "authn_attempts.h"
#include "authn_audit.h"
#include "authn_config.h"
#include "authn_signer.h"
#include "authn_store.h"
#include "pst_bus.h"

typedef struct {
    const authn_config_t *config;
    authn_store_t *store;
    pst_client_t *mfa;
    authn_signer_t *keys;       //  the current signing key and the JWKS
    authn_audit_t *audit;       //  the process's audit log (shared, not owned)
    authn_attempts_t *attempts; //  the process's sign-ins in flight (shared, not owned)
    unsigned sign_ins;          //  password grants handled, to prune now and then
    unsigned refreshes;         //  refresh tokens issued, to prune them now and then
} authn_worker_t;

//  Opens the store, connects to mfa as curve's identity and loads the current
//  signing key (the bootstrap made it); config, curve, audit and attempts must
//  outlive the worker. NULL on failure.
authn_worker_t *
    authn_worker_new (const authn_config_t *config, pst_curve_t *curve, authn_audit_t *audit,
                      authn_attempts_t *attempts);
void
    authn_worker_destroy (authn_worker_t **self_p);

#endif
