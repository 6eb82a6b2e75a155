#include "authn_worker.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

authn_worker_t *
authn_worker_new (const authn_config_t *config, pst_curve_t *curve)
{
    authn_worker_t *self = (authn_worker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->store = authn_store_new (config->db_path);
    self->mfa = pst_client_new (config->mfa_endpoint, curve, "mfa");
    char *kid = NULL, *pem = NULL;
    if (self->store && self->mfa && authn_store_signing_key (self->store, &kid, &pem) == 0)
        self->signer = pst_jwt_signer_new (pem, kid);
    free (kid);
    if (pem) {
        sodium_memzero (pem, strlen (pem));
        free (pem);
    }
    if (!self->signer)
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
        pst_jwt_signer_destroy (&self->signer);
        free (self);
        *self_p = NULL;
    }
}
