#include "authn_worker.h"
#include <stdlib.h>

authn_worker_t *
authn_worker_new (const authn_config_t *config, pst_curve_t *curve, authn_audit_t *audit,
                  authn_attempts_t *attempts)
{
    authn_worker_t *self = (authn_worker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->audit = audit;
    self->attempts = attempts;
    self->store = authn_store_new (config->db_path);
    if (self->store)
        authn_store_set_clock (self->store, config->now_s);
    self->mfa = pst_client_new (config->mfa_endpoint, curve, "mfa");
    self->keys = authn_signer_new ();
    if (!self->store || !self->mfa || !self->keys
    ||  authn_signer_refresh (self->keys, self->store) != 0)
        authn_worker_destroy (&self);
    return self;
}

void
authn_worker_destroy (authn_worker_t **self_p)
{
    if (self_p && *self_p) {
        authn_worker_t *self = *self_p;
        authn_store_destroy (&self->store);
        pst_client_destroy (&self->mfa);
        authn_signer_destroy (&self->keys);
        free (self);
        *self_p = NULL;
    }
}
