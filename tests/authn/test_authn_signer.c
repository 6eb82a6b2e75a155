//  authn_keys_prepare and authn_signer: the keys the bootstrap makes, with
//  their certificates, and two workers (two connections, two signers) that
//  both sign with the new key once either of them rotated.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "authn_config.h"
#include "authn_keys.h"
#include "authn_signer.h"
#include "authn_store.h"
#include "test_db.h"
#include "authn_worker.h"
#include "pst_crypto.h"
#include "pst_jwt.h"
#include "pst_x509.h"

static char s_dir [64];
static authn_config_t *s_config;

static int
s_setup (void **state)
{
    (void) state;
    if (pst_crypto_init () != 0)
        return -1;
    strcpy (s_dir, "/tmp/postern-authn-signer-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    setenv ("POSTERN_DATA_DIR", s_dir, 1);
    setenv ("POSTERN_DOMAIN", "keys.test:8443", 1);
    s_config = authn_config_from_env ();
    assert_non_null (s_config);
    //  authn.db in the data directory, or a PostgreSQL database in the pg run
    char *location = test_db_location (s_config->db_path);
    free (s_config->db_path);
    s_config->db_path = location;
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    authn_config_destroy (&s_config);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

static const char *
s_kid_of (const json_t *jwk)
{
    return json_string_value (json_object_get (jwk, "kid"));
}

//  The kid in a compact JWS's header (caller frees)
static char *
s_token_kid (const char *token)
{
    uint8_t bytes [512];
    size_t size = 0;
    assert_int_equal (pst_b64url_decode (token, (size_t) (strchr (token, '.') - token), bytes,
                                         sizeof bytes, &size), 0);
    json_t *header = json_loadb ((const char *) bytes, size, 0, NULL);
    char *kid = strdup (json_string_value (json_object_get (header, "kid")));
    json_decref (header);
    return kid;
}

static char *
s_sign (authn_signer_t *signer, authn_store_t *store)
{
    assert_int_equal (authn_signer_refresh (signer, store), 0);
    json_t *claims = json_pack ("{s:s, s:I}", "sub", "someone", "exp", (json_int_t) time (NULL) + 60);
    char *token = pst_jwt_signer_sign (authn_signer_current (signer), "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    return token;
}

//  The bootstrap makes current and next, each with a certificate of its own
//  key; a second run makes nothing
static void
test_prepare (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_config->db_path);
    assert_non_null (store);
    assert_int_equal (authn_keys_prepare (store, s_config), 0);
    assert_int_equal (authn_store_signing_missing (store), 0);
    int64_t generation = authn_store_signing_generation (store);
    assert_int_equal (authn_keys_prepare (store, s_config), 0);
    assert_int_equal (authn_store_signing_generation (store), generation);

    json_t *list = authn_store_signing_list (store);
    assert_int_equal (json_array_size (list), 2);
    char *kid = NULL, *pem = NULL;
    int64_t at = 0;
    assert_int_equal (authn_store_signing_current (store, &kid, &pem, &at), 0);
    size_t index;
    json_t *key;
    json_array_foreach (list, index, key) {
        const char *cert = json_string_value (json_object_get (key, "cert"));
        json_t *jwk = json_object_get (key, "jwk");
        assert_non_null (cert);
        assert_string_equal (s_kid_of (jwk), json_string_value (json_object_get (key, "kid")));
        //  x5c is the certificate, x5t its thumbprint
        char *der = pst_x509_der_base64 (cert);
        assert_string_equal (json_string_value (json_array_get (json_object_get (jwk, "x5c"), 0)), der);
        free (der);
        uint8_t sha1 [PST_X509_SHA1_SIZE];
        assert_int_equal (pst_x509_sha1 (cert, sha1), 0);
        char *x5t = pst_b64url_encode (sha1, sizeof sha1);
        assert_string_equal (json_string_value (json_object_get (jwk, "x5t")), x5t);
        free (x5t);
        assert_string_equal (json_string_value (json_object_get (jwk, "alg")), "RS256");
        assert_string_equal (json_string_value (json_object_get (jwk, "use")), "sig");
    }
    //  The current key's certificate is of that very key
    json_t *current = json_array_get (list, 0);
    assert_true (json_is_true (json_object_get (current, "current")));
    assert_string_equal (json_string_value (json_object_get (current, "kid")), kid);
    assert_true (pst_x509_matches_key (json_string_value (json_object_get (current, "cert")), pem));
    json_t *same = pst_jwt_public_jwk (pem, kid);
    assert_string_equal (json_string_value (json_object_get (same, "n")),
                         json_string_value (json_object_get (json_object_get (current, "jwk"), "n")));
    json_decref (same);
    free (kid);
    free (pem);
    json_decref (list);
    authn_store_destroy (&store);
}

//  Two workers: either rotates, both sign with the new key at their next
//  token, and both publish the three keys
static void
test_workers_follow_rotation (void **state)
{
    (void) state;
    authn_store_t *store_a = authn_store_new (s_config->db_path);
    authn_store_t *store_b = authn_store_new (s_config->db_path);
    assert_int_equal (authn_keys_prepare (store_a, s_config), 0);
    authn_signer_t *worker_a = authn_signer_new ();
    authn_signer_t *worker_b = authn_signer_new ();
    char *token_a = s_sign (worker_a, store_a);
    char *token_b = s_sign (worker_b, store_b);
    char *old_kid = s_token_kid (token_a);
    char *kid_b = s_token_kid (token_b);
    assert_string_equal (old_kid, kid_b);
    free (token_b);
    free (kid_b);
    const json_t *jwks = authn_signer_jwks (worker_b);
    assert_int_equal (json_array_size (json_object_get (jwks, "keys")), 2);
    char *next_kid = strdup (s_kid_of (json_array_get (json_object_get (jwks, "keys"), 1)));

    //  Worker a answers the rotation request
    pst_msg_t *request = pst_msg_new_request ("signing_keys.rotate", 1000);
    pst_msg_t *reply = pst_msg_new_reply (request);
    authn_worker_t worker = { .config = s_config, .store = store_a, .keys = worker_a };
    assert_int_equal (authn_keys_rotate (&worker, request, reply), 0);
    const char *new_next = pst_msg_get_str (reply, "kid");
    assert_non_null (new_next);
    assert_non_null (strstr (pst_msg_get_str (reply, "cert"), "BEGIN CERTIFICATE"));

    //  Worker b, which did not rotate, signs with the key that was next
    token_b = s_sign (worker_b, store_b);
    kid_b = s_token_kid (token_b);
    assert_string_equal (kid_b, next_kid);
    free (kid_b);
    free (token_b);
    token_b = s_sign (worker_a, store_a);
    kid_b = s_token_kid (token_b);
    assert_string_equal (kid_b, next_kid);
    free (kid_b);
    free (token_b);
    //  And publishes current, next and previous, so the old token still verifies
    jwks = authn_signer_jwks (worker_b);
    json_t *keys = json_object_get (jwks, "keys");
    assert_int_equal (json_array_size (keys), 3);
    assert_string_equal (s_kid_of (json_array_get (keys, 0)), next_kid);
    assert_string_equal (s_kid_of (json_array_get (keys, 1)), new_next);
    assert_string_equal (s_kid_of (json_array_get (keys, 2)), old_kid);
    pst_jwks_t *verifier = pst_jwks_new (jwks);
    json_t *claims = pst_jwt_verify (verifier, token_a, NULL, NULL, time (NULL), 0, NULL);
    assert_non_null (claims);
    json_decref (claims);
    pst_jwks_destroy (&verifier);
    //  Nothing changed: no reload
    int64_t generation = authn_signer_generation (worker_b);
    assert_int_equal (authn_signer_refresh (worker_b, store_b), 0);
    assert_int_equal (authn_signer_generation (worker_b), generation);

    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    free (token_a);
    free (old_kid);
    free (next_kid);
    authn_signer_destroy (&worker_a);
    authn_signer_destroy (&worker_b);
    authn_store_destroy (&store_a);
    authn_store_destroy (&store_b);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_prepare),
        cmocka_unit_test (test_workers_follow_rotation),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
