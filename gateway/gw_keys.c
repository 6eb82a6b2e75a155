#include "gw_keys.h"
#include "pst_crypto.h"
#include "pst_jwt.h"
#include "pst_log.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HEADER_SIZE     1024

struct _gw_keys_t {
    pthread_rwlock_t lock;
    pst_jwks_t *jwks;
    json_t *kids;           //  object: kid -> true
    char *document;         //  the JWKS, compact, as served
};

gw_keys_t *
gw_keys_new (void)
{
    gw_keys_t *self = (gw_keys_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kids = json_object ();
    if (!self->kids || pthread_rwlock_init (&self->lock, NULL) != 0) {
        json_decref (self->kids);
        free (self);
        return NULL;
    }
    return self;
}

void
gw_keys_destroy (gw_keys_t **self_p)
{
    if (self_p && *self_p) {
        gw_keys_t *self = *self_p;
        pthread_rwlock_destroy (&self->lock);
        pst_jwks_destroy (&self->jwks);
        json_decref (self->kids);
        free (self->document);
        free (self);
        *self_p = NULL;
    }
}

static json_t *
s_kids_of (const json_t *jwks)
{
    json_t *kids = json_object ();
    json_t *keys = json_object_get (jwks, "keys");
    size_t index;
    json_t *key;
    json_array_foreach (keys, index, key) {
        const char *kid = json_string_value (json_object_get (key, "kid"));
        if (kids && kid)
            json_object_set_new (kids, kid, json_true ());
    }
    return kids;
}

int
gw_keys_update (gw_keys_t *self, const json_t *jwks)
{
    if (!json_is_array (json_object_get (jwks, "keys")))
        return -1;
    pst_jwks_t *fresh = pst_jwks_new (jwks);
    json_t *kids = fresh? s_kids_of (jwks): NULL;
    //  The same bytes as gw_response would write for authn's answer
    char *document = kids? json_dumps (jwks, JSON_COMPACT | JSON_ENCODE_ANY): NULL;
    if (!document) {
        pst_jwks_destroy (&fresh);
        json_decref (kids);
        return -1;
    }
    pthread_rwlock_wrlock (&self->lock);
    pst_jwks_t *old = self->jwks;
    json_t *old_kids = self->kids;
    char *old_document = self->document;
    self->jwks = fresh;
    self->kids = kids;
    self->document = document;
    pthread_rwlock_unlock (&self->lock);
    pst_jwks_destroy (&old);
    json_decref (old_kids);
    free (old_document);
    return 0;
}

char *
gw_keys_document (gw_keys_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    char *copy = self->document? strdup (self->document): NULL;
    pthread_rwlock_unlock (&self->lock);
    return copy;
}

size_t
gw_keys_size (gw_keys_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    size_t size = self->jwks? pst_jwks_size (self->jwks): 0;
    pthread_rwlock_unlock (&self->lock);
    return size;
}

int
gw_keys_is_jwt (const char *token)
{
    if (!token)
        return 0;
    size_t dots = 0;
    for (const char *c = token; *c; c++) {
        if (*c == '.')
            dots++;
        else
        if (!strchr ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *c))
            return 0;
    }
    return dots == 2;
}

char *
gw_keys_token_kid (const char *token)
{
    const char *dot = token? strchr (token, '.'): NULL;
    if (!dot)
        return NULL;
    uint8_t header [MAX_HEADER_SIZE];
    size_t size = 0;
    if (pst_b64url_decode (token, (size_t) (dot - token), header, sizeof header, &size) != 0)
        return NULL;
    json_t *object = json_loadb ((const char *) header, size, JSON_REJECT_DUPLICATES, NULL);
    const char *kid = json_string_value (json_object_get (object, "kid"));
    char *copy = kid? strdup (kid): NULL;
    json_decref (object);
    return copy;
}

json_t *
gw_keys_verify (gw_keys_t *self, const char *token, const char *issuer,
                const char *audience, const char **reason_p, int *unknown_kid_p)
{
    const char *reason = "malformed token";
    json_t *claims = NULL;
    *unknown_kid_p = 0;
    char *kid = gw_keys_token_kid (token);
    pthread_rwlock_rdlock (&self->lock);
    if (!kid)
        reason = "token has no kid";
    else
    if (!self->jwks || !json_object_get (self->kids, kid)) {
        reason = "unknown kid";
        *unknown_kid_p = 1;
    }
    else
        claims = pst_jwt_verify (self->jwks, token, issuer, audience,
                                 (int64_t) time (NULL), GW_KEYS_LEEWAY_S, &reason);
    pthread_rwlock_unlock (&self->lock);
    free (kid);
    if (reason_p)
        *reason_p = claims? NULL: reason;
    return claims;
}
