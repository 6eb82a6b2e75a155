#include "authn_signer.h"
#include "pst_log.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct _authn_signer_t {
    pst_jwt_signer_t *current;
    json_t *jwks;
    int64_t generation;
};

authn_signer_t *
authn_signer_new (void)
{
    authn_signer_t *self = (authn_signer_t *) calloc (1, sizeof *self);
    if (self)
        self->generation = -1;
    return self;
}

void
authn_signer_destroy (authn_signer_t **self_p)
{
    if (self_p && *self_p) {
        authn_signer_t *self = *self_p;
        pst_jwt_signer_destroy (&self->current);
        json_decref (self->jwks);
        free (self);
        *self_p = NULL;
    }
}

//  The JWKS of the published keys: each one's stored JWK, or for the current
//  key, should it have none, the loaded key's own
static json_t *
s_jwks (authn_store_t *store, const pst_jwt_signer_t *current)
{
    json_t *list = authn_store_signing_list (store);
    json_t *keys = list? json_array (): NULL;
    size_t index;
    json_t *key;
    json_array_foreach (list, index, key) {
        if (!keys)
            break;
        int published = json_is_true (json_object_get (key, "current"))
                     || json_is_true (json_object_get (key, "next"))
                     || json_is_true (json_object_get (key, "previous"));
        json_t *jwk = json_object_get (key, "jwk");
        const char *kid = json_string_value (json_object_get (key, "kid"));
        if (!json_is_object (jwk) && kid && strcmp (kid, pst_jwt_signer_kid (current)) == 0)
            jwk = (json_t *) pst_jwt_signer_jwk (current);
        if (published && json_is_object (jwk) && json_array_append (keys, jwk)) {
            json_decref (keys);
            keys = NULL;
        }
    }
    json_decref (list);
    json_t *jwks = keys? json_pack ("{s:o}", "keys", keys): NULL;
    //  A copy the signer owns alone: nothing in it is shared with the store's rows
    json_t *copy = jwks? json_deep_copy (jwks): NULL;
    json_decref (jwks);
    return copy;
}

int
authn_signer_refresh (authn_signer_t *self, authn_store_t *store)
{
    int64_t generation = authn_store_signing_generation (store);
    if (generation >= 0 && generation == self->generation)
        return 0;
    char *kid = NULL, *pem = NULL;
    pst_jwt_signer_t *current = NULL;
    json_t *jwks = NULL;
    if (generation >= 0 && authn_store_signing_current (store, &kid, &pem, &generation) == 0
    &&  (current = pst_jwt_signer_new (pem, kid)))
        jwks = s_jwks (store, current);
    free (kid);
    if (pem) {
        sodium_memzero (pem, strlen (pem));
        free (pem);
    }
    if (!current || !jwks) {
        pst_jwt_signer_destroy (&current);
        json_decref (jwks);
        pst_log (PST_LOG_ERROR, "signing_keys_load_failed", NULL);
        return self->current? 0: -1;
    }
    if (self->current && strcmp (pst_jwt_signer_kid (self->current), pst_jwt_signer_kid (current)))
        pst_log (PST_LOG_INFO, "signing_key_switched", "kid", pst_jwt_signer_kid (current), NULL);
    pst_jwt_signer_destroy (&self->current);
    json_decref (self->jwks);
    self->current = current;
    self->jwks = jwks;
    self->generation = generation;
    return 0;
}

const pst_jwt_signer_t *
authn_signer_current (const authn_signer_t *self)
{
    return self->current;
}

const json_t *
authn_signer_jwks (const authn_signer_t *self)
{
    return self->jwks;
}

int64_t
authn_signer_generation (const authn_signer_t *self)
{
    return self->generation;
}
