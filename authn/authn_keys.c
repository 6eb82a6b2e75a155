#include "authn_keys.h"
#include "authn_worker.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_jwt.h"
#include "pst_log.h"
#include "pst_x509.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_BITS        2048
#define CERT_DAYS       3650

//  ---------------------------------------------------------------------------
//  Making keys

//  The public JWK of a key with its certificate (x5c, x5t), as compact JSON
//  text; caller frees
static char *
s_jwk_text (const char *pem, const char *kid, const char *cert)
{
    json_t *jwk = pst_jwt_public_jwk (pem, kid);
    char *der = pst_x509_der_base64 (cert);
    uint8_t sha1 [PST_X509_SHA1_SIZE];
    char *x5t = der && pst_x509_sha1 (cert, sha1) == 0? pst_b64url_encode (sha1, sizeof sha1): NULL;
    char *text = NULL;
    if (jwk && x5t
    &&  json_object_set_new (jwk, "x5t", json_string (x5t)) == 0
    &&  json_object_set_new (jwk, "x5c", json_pack ("[s]", der)) == 0)
        text = json_dumps (jwk, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (jwk);
    free (der);
    free (x5t);
    return text;
}

//  The certificate and JWK of a key; 0 or -1
static int
s_certify (const authn_config_t *config, const char *pem, const char *kid,
           char **cert_p, char **jwk_p)
{
    *cert_p = pst_x509_self_signed (pem, config->domain, CERT_DAYS);
    *jwk_p = *cert_p? s_jwk_text (pem, kid, *cert_p): NULL;
    if (*jwk_p)
        return 0;
    free (*cert_p);
    *cert_p = NULL;
    return -1;
}

typedef struct {
    char *kid;
    char *pem;
    char *cert;
    char *jwk;
} made_key_t;

static void
s_made_key_free (made_key_t *key)
{
    if (key->pem) {
        sodium_memzero (key->pem, strlen (key->pem));
        free (key->pem);
    }
    free (key->kid);
    free (key->cert);
    free (key->jwk);
    memset (key, 0, sizeof *key);
}

//  A new key with its certificate; 0, or -1 (logged) with key emptied
static int
s_make_key (const authn_config_t *config, made_key_t *key)
{
    memset (key, 0, sizeof *key);
    key->pem = pst_jwt_generate_key_pem (KEY_BITS);
    key->kid = key->pem? pst_jwt_key_id (key->pem): NULL;
    if (key->kid && s_certify (config, key->pem, key->kid, &key->cert, &key->jwk) == 0)
        return 0;
    pst_log (PST_LOG_ERROR, "signing_key_not_made", NULL);
    s_made_key_free (key);
    return -1;
}

int
authn_keys_prepare (authn_store_t *store, const authn_config_t *config)
{
    //  Keys from before certificates get theirs first
    int rc = 0;
    while (rc == 0) {
        char *kid = NULL, *pem = NULL, *cert = NULL, *jwk = NULL;
        int found = authn_store_signing_uncertified (store, &kid, &pem);
        if (found != 0) {
            rc = found < 0? -1: 0;
            break;
        }
        rc = s_certify (config, pem, kid, &cert, &jwk) == 0
          && authn_store_signing_certify (store, kid, cert, jwk) == 0? 0: -1;
        if (rc == 0)
            pst_log (PST_LOG_INFO, "signing_key_certified", "kid", kid, NULL);
        sodium_memzero (pem, strlen (pem));
        free (pem);
        free (kid);
        free (cert);
        free (jwk);
    }
    //  Then the current and next keys, made outside any transaction (slow)
    int missing = rc == 0? authn_store_signing_missing (store): -1;
    while (rc == 0 && missing > 0) {
        made_key_t key;
        rc = s_make_key (config, &key);
        int added = rc == 0? authn_store_signing_add (store, key.kid, key.pem, key.cert, key.jwk,
                                                      authn_config_now (config)): -1;
        if (added == 0)
            pst_log (PST_LOG_INFO, "signing_key_created", "kid", key.kid,
                     "role", missing == 2? "current": "next", NULL);
        rc = added < 0? -1: 0;
        s_made_key_free (&key);
        missing = rc == 0? authn_store_signing_missing (store): -1;
    }
    return rc == 0 && missing == 0? 0: -1;
}

//  ---------------------------------------------------------------------------
//  The JWKS

int
authn_keys_jwks (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    authn_worker_t *self = (authn_worker_t *) worker;
    //  A rotation by another worker shows here at once
    if (authn_signer_refresh (self->keys, self->store) != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "No signing key");
    //  A copy: the reply may outlive this call in another thread
    json_t *body = json_deep_copy (authn_signer_jwks (self->keys));
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The Management API

//  Unix seconds as the Management API writes times, or null
static json_t *
s_iso_time (const json_t *seconds)
{
    if (!json_is_integer (seconds))
        return json_null ();
    time_t when = (time_t) json_integer_value (seconds);
    struct tm utc;
    char text [32];
    if (!gmtime_r (&when, &utc) || !strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &utc))
        return json_null ();
    return json_string (text);
}

//  A key as Auth0 lists it: kid, its certificate (PEM and PKCS#7), the
//  certificate's SHA-1 as fingerprint ("AB:CD:...") and thumbprint ("ABCD..."),
//  its role and times
static json_t *
s_shown (const json_t *row)
{
    const char *cert = json_string_value (json_object_get (row, "cert"));
    uint8_t sha1 [PST_X509_SHA1_SIZE];
    char thumbprint [2 * PST_X509_SHA1_SIZE + 1] = "";
    char fingerprint [3 * PST_X509_SHA1_SIZE] = "";
    int hashed = cert && pst_x509_sha1 (cert, sha1) == 0;
    for (size_t i = 0; hashed && i < sizeof sha1; i++) {
        snprintf (thumbprint + 2 * i, 3, "%02X", sha1 [i]);
        snprintf (fingerprint + 3 * i, 4, "%02X%s", sha1 [i], i + 1 < sizeof sha1? ":": "");
    }
    char *pkcs7 = cert? pst_x509_pkcs7 (cert): NULL;
    json_t *shown = json_pack ("{s:O, s:s?, s:s?, s:s?, s:s?, s:O, s:O, s:O, s:O}",
        "kid", json_object_get (row, "kid"), "cert", cert, "pkcs7", pkcs7,
        "fingerprint", hashed? fingerprint: NULL, "thumbprint", hashed? thumbprint: NULL,
        "current", json_object_get (row, "current"), "next", json_object_get (row, "next"),
        "previous", json_object_get (row, "previous"), "revoked", json_object_get (row, "revoked"));
    free (pkcs7);
    const char *times [] = { "current_since", "current_until", "revoked_at", NULL };
    for (const char *const *name = times; shown && *name; name++) {
        json_t *when = s_iso_time (json_object_get (row, *name));
        if (json_is_null (when))
            json_decref (when);
        else
        if (json_object_set_new (shown, *name, when)) {
            json_decref (shown);
            shown = NULL;
        }
    }
    return shown;
}

int
authn_keys_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *rows = authn_store_signing_list (((authn_worker_t *) worker)->store);
    json_t *keys = rows? json_array (): NULL;
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row)
        if (keys && json_array_append_new (keys, s_shown (row))) {
            json_decref (keys);
            keys = NULL;
        }
    json_decref (rows);
    json_t *body = keys? json_pack ("{s:o}", "result", keys): NULL;
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    pst_msg_set_body (reply, &body);
    return 0;
}

int
authn_keys_get (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    //  Present: the catalogue's row requires it
    const char *kid = pst_msg_get_str (request, "id");
    json_t *rows = authn_store_signing_list (((authn_worker_t *) worker)->store);
    if (!rows)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_t *shown = NULL;
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row)
        if (!shown && strcmp (json_string_value (json_object_get (row, "kid")), kid) == 0)
            shown = s_shown (row);
    json_decref (rows);
    if (!shown)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "Signing key not found");
    pst_msg_set_body (reply, &shown);
    return 0;
}

int
authn_keys_rotate (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    made_key_t key;
    if (s_make_key (self->config, &key))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not make a signing key");
    int rc = authn_store_signing_rotate (self->store, key.kid, key.pem, key.cert, key.jwk,
                                         authn_config_now (self->config));
    if (rc == 0) {
        //  Auth0 answers with the new next key
        json_t *body = json_pack ("{s:s, s:s}", "cert", key.cert, "kid", key.kid);
        pst_msg_set_body (reply, &body);
        pst_log (PST_LOG_INFO, "signing_keys_rotated", "next", key.kid,
                 "by", pst_msg_caller (request), NULL);
    }
    else
        pst_msg_fail (reply, PST_ERR_INTERNAL, rc > 0? "There is no next key to rotate to"
                                                      : "Database unavailable");
    s_made_key_free (&key);
    return rc == 0? 0: -1;
}
