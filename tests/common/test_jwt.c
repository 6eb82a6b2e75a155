/*  Unit tests of pst_jwt: RS256 sign/verify, the RFC 8725 attacks (alg none,
    HS256 key confusion, unknown kid), claim checks and hostile token shapes.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_crypto.h"
#include "pst_jwt.h"
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW     1800000000
#define ISSUER  "https://auth.example.test/"
#define API     "https://api.example.test/"

typedef struct {
    char *pem;
    char *kid;
    char *other_pem;            //  a key not in the set
    char *other_kid;
    pst_jwks_t *keys;
} fixture_t;

static fixture_t s_fixture;

static int
s_group_setup (void **state)
{
    (void) state;
    s_fixture.pem = pst_jwt_generate_key_pem (2048);
    s_fixture.other_pem = pst_jwt_generate_key_pem (2048);
    if (!s_fixture.pem || !s_fixture.other_pem)
        return -1;
    s_fixture.kid = pst_jwt_key_id (s_fixture.pem);
    s_fixture.other_kid = pst_jwt_key_id (s_fixture.other_pem);
    json_t *jwk = pst_jwt_public_jwk (s_fixture.pem, s_fixture.kid);
    if (!s_fixture.kid || !s_fixture.other_kid || !jwk)
        return -1;
    json_t *jwks = json_pack ("{s:[o]}", "keys", jwk);
    s_fixture.keys = pst_jwks_new (jwks);
    json_decref (jwks);
    return s_fixture.keys? 0: -1;
}

static int
s_group_teardown (void **state)
{
    (void) state;
    pst_jwks_destroy (&s_fixture.keys);
    free (s_fixture.pem);
    free (s_fixture.kid);
    free (s_fixture.other_pem);
    free (s_fixture.other_kid);
    return 0;
}

//  Standard claims, valid at NOW; caller owns
static json_t *
s_claims (void)
{
    return json_pack ("{s:s, s:s, s:s, s:I, s:I}", "iss", ISSUER, "sub", "auth0|user1",
                      "aud", API, "iat", (json_int_t) NOW - 10,
                      "exp", (json_int_t) NOW + 3600);
}

static char *
s_sign (const json_t *claims)
{
    char *token = pst_jwt_sign (s_fixture.pem, s_fixture.kid, "JWT", claims);
    assert_non_null (token);
    return token;
}

//  Verifies token with the fixture's defaults; returns 1 when accepted and
//  copies the reason
static int
s_accepts (const char *token, const char **reason_p)
{
    json_t *claims = pst_jwt_verify (s_fixture.keys, token, ISSUER, API, NOW, 30, reason_p);
    int accepted = claims != NULL;
    json_decref (claims);
    return accepted;
}

//  Part i (0..2) of a compact token; caller frees
static char *
s_part (const char *token, int index)
{
    const char *start = token;
    for (int i = 0; i < index; i++) {
        start = strchr (start, '.');
        assert_non_null (start);
        start++;
    }
    size_t size = strcspn (start, ".");
    return strndup (start, size);
}

static char *
s_b64_json (const char *json)
{
    return pst_b64url_encode (json, strlen (json));
}

static char *
s_join (const char *a, const char *b, const char *c)
{
    char *token = NULL;
    assert_true (asprintf (&token, "%s.%s.%s", a, b, c) > 0);
    return token;
}

static void
test_key_generation (void **state)
{
    (void) state;
    assert_non_null (strstr (s_fixture.pem, "-----BEGIN PRIVATE KEY-----"));
    assert_null (pst_jwt_generate_key_pem (1024));
    //  kid: 16 bytes of base64url, stable for one key, distinct across keys
    assert_int_equal (strlen (s_fixture.kid), 22);
    char *again = pst_jwt_key_id (s_fixture.pem);
    assert_string_equal (again, s_fixture.kid);
    free (again);
    assert_string_not_equal (s_fixture.kid, s_fixture.other_kid);
    assert_null (pst_jwt_key_id ("not a pem"));
    assert_null (pst_jwt_key_id (NULL));
}

static void
test_sign_verify (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);

    //  Header is exactly what the pinned verifier expects
    char *header_b64 = s_part (token, 0);
    uint8_t header_raw [256];
    size_t size = 0;
    assert_int_equal (pst_b64url_decode (header_b64, strlen (header_b64), header_raw,
                                         sizeof header_raw - 1, &size), 0);
    json_t *header = json_loadb ((char *) header_raw, size, 0, NULL);
    assert_non_null (header);
    assert_string_equal (json_string_value (json_object_get (header, "alg")), "RS256");
    assert_string_equal (json_string_value (json_object_get (header, "typ")), "JWT");
    assert_string_equal (json_string_value (json_object_get (header, "kid")), s_fixture.kid);
    json_decref (header);
    free (header_b64);

    const char *reason = NULL;
    json_t *verified = pst_jwt_verify (s_fixture.keys, token, ISSUER, API, NOW, 30, &reason);
    assert_non_null (verified);
    assert_string_equal (reason, "ok");
    assert_string_equal (json_string_value (json_object_get (verified, "sub")), "auth0|user1");
    json_decref (verified);

    //  No issuer/audience asked: not checked
    verified = pst_jwt_verify (s_fixture.keys, token, NULL, NULL, NOW, 0, NULL);
    assert_non_null (verified);
    json_decref (verified);
    free (token);
}

static void
test_tampered_payload (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_object_set_new (claims, "sub", json_string ("auth0|admin"));
    char *forged_claims = s_sign (claims);
    json_decref (claims);

    //  Header and signature of the first token, payload of the second
    char *header = s_part (token, 0);
    char *payload = s_part (forged_claims, 1);
    char *signature = s_part (token, 2);
    char *forged = s_join (header, payload, signature);
    const char *reason = NULL;
    assert_false (s_accepts (forged, &reason));
    assert_string_equal (reason, "bad signature");
    assert_true (s_accepts (token, NULL));

    free (header);
    free (payload);
    free (signature);
    free (forged);
    free (forged_claims);
    free (token);
}

//  A signer gives what the one-shot functions give: the same kid and JWK, and
//  tokens the key set accepts; RS256 PKCS#1 v1.5 is deterministic, so the same
//  claims give the same token both ways
static void
test_signer (void **state)
{
    (void) state;
    pst_jwt_signer_t *signer = pst_jwt_signer_new (s_fixture.pem, NULL);
    assert_non_null (signer);
    assert_string_equal (pst_jwt_signer_kid (signer), s_fixture.kid);
    json_t *jwk = pst_jwt_public_jwk (s_fixture.pem, s_fixture.kid);
    assert_true (json_equal ((json_t *) pst_jwt_signer_jwk (signer), jwk));
    json_decref (jwk);

    json_t *claims = s_claims ();
    char *token = pst_jwt_signer_sign (signer, "JWT", claims);
    assert_non_null (token);
    char *again = pst_jwt_signer_sign (signer, "JWT", claims);
    char *one_shot = s_sign (claims);
    assert_string_equal (token, again);
    assert_string_equal (token, one_shot);
    assert_true (s_accepts (token, NULL));
    free (again);
    free (one_shot);
    free (token);
    json_t *text = json_string ("not claims");
    assert_null (pst_jwt_signer_sign (signer, "JWT", text));
    json_decref (text);
    json_decref (claims);
    pst_jwt_signer_destroy (&signer);
    assert_null (signer);
    pst_jwt_signer_destroy (&signer);

    signer = pst_jwt_signer_new (s_fixture.pem, "chosen");
    assert_string_equal (pst_jwt_signer_kid (signer), "chosen");
    assert_string_equal (json_string_value (json_object_get (pst_jwt_signer_jwk (signer), "kid")),
                         "chosen");
    pst_jwt_signer_destroy (&signer);
    assert_null (pst_jwt_signer_new ("not a pem", NULL));
    assert_null (pst_jwt_signer_new (NULL, "kid"));
}

static void
test_tampered_signature (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);
    //  Change one character in the middle of the signature
    char *last_dot = strrchr (token, '.');
    size_t middle = strlen (last_dot) / 2;
    last_dot [middle] = last_dot [middle] == 'A'? 'B': 'A';
    const char *reason = NULL;
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "bad signature");

    //  Truncated signature
    last_dot [middle] = '\0';
    assert_false (s_accepts (token, NULL));
    free (token);

    //  Valid signature by a key that is not in the set, under our kid
    claims = s_claims ();
    token = pst_jwt_sign (s_fixture.other_pem, s_fixture.kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "bad signature");
    free (token);
}

static void
test_alg_none (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);
    char *payload = s_part (token, 1);
    char *signature = s_part (token, 2);

    char header_json [256];
    const char *algs [] = { "none", "None", "NONE", "", NULL };
    for (int i = 0; algs [i]; i++) {
        snprintf (header_json, sizeof header_json,
                  "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", algs [i], s_fixture.kid);
        char *header = s_b64_json (header_json);
        //  Empty signature (the classic form) and a real signature copied over
        char *unsigned_token = NULL;
        assert_true (asprintf (&unsigned_token, "%s.%s.", header, payload) > 0);
        assert_false (s_accepts (unsigned_token, NULL));
        char *copied = s_join (header, payload, signature);
        const char *reason = NULL;
        assert_false (s_accepts (copied, &reason));
        assert_string_equal (reason, "algorithm not allowed");
        free (unsigned_token);
        free (copied);
        free (header);
    }
    //  alg missing or not a string
    snprintf (header_json, sizeof header_json, "{\"kid\":\"%s\"}", s_fixture.kid);
    char *header = s_b64_json (header_json);
    char *forged = s_join (header, payload, signature);
    assert_false (s_accepts (forged, NULL));
    free (header);
    free (forged);
    snprintf (header_json, sizeof header_json, "{\"alg\":[\"RS256\"],\"kid\":\"%s\"}",
              s_fixture.kid);
    header = s_b64_json (header_json);
    forged = s_join (header, payload, signature);
    assert_false (s_accepts (forged, NULL));
    free (header);
    free (forged);

    free (payload);
    free (signature);
    free (token);
}

//  HMAC-SHA-256 over header.payload keyed with key; returns the full token
static char *
s_forge_hs256 (const char *alg, const uint8_t *key, size_t key_size, const char *payload)
{
    char header_json [256];
    snprintf (header_json, sizeof header_json,
              "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, s_fixture.kid);
    char *header = s_b64_json (header_json);
    char *input = NULL;
    assert_true (asprintf (&input, "%s.%s", header, payload) > 0);
    uint8_t mac [EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    assert_non_null (HMAC (EVP_sha256 (), key, (int) key_size,
                           (const uint8_t *) input, strlen (input), mac, &mac_size));
    char *signature = pst_b64url_encode (mac, mac_size);
    char *token = NULL;
    assert_true (asprintf (&token, "%s.%s", input, signature) > 0);
    free (signature);
    free (input);
    free (header);
    return token;
}

//  The confusion attack: the public key is public, so an HS256 token keyed with
//  its bytes must not pass as if the verifier trusted the header's alg.
static void
test_alg_hs256_confusion (void **state)
{
    (void) state;
    BIO *bio = BIO_new_mem_buf (s_fixture.pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
    BIO_free (bio);
    assert_non_null (pkey);
    bio = BIO_new (BIO_s_mem ());
    assert_int_equal (PEM_write_bio_PUBKEY (bio, pkey), 1);
    char *public_pem = NULL;
    long public_size = BIO_get_mem_data (bio, &public_pem);
    assert_true (public_size > 0);

    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);
    char *payload = s_part (token, 1);

    const char *algs [] = { "HS256", "hs256", "HS384", "RS384", "RS512", "PS256", "ES256", NULL };
    for (int i = 0; algs [i]; i++) {
        char *forged = s_forge_hs256 (algs [i], (const uint8_t *) public_pem,
                                      (size_t) public_size, payload);
        const char *reason = NULL;
        assert_false (s_accepts (forged, &reason));
        assert_string_equal (reason, "algorithm not allowed");
        free (forged);
    }
    BIO_free (bio);
    EVP_PKEY_free (pkey);
    free (payload);
    free (token);
}

static void
test_unknown_kid (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = pst_jwt_sign (s_fixture.other_pem, s_fixture.other_kid, "JWT", claims);
    assert_non_null (token);
    const char *reason = NULL;
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "unknown kid");
    free (token);

    //  Missing kid
    token = s_sign (claims);
    char *payload = s_part (token, 1);
    char *signature = s_part (token, 2);
    char *header = s_b64_json ("{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    char *forged = s_join (header, payload, signature);
    assert_false (s_accepts (forged, &reason));
    assert_string_equal (reason, "unknown kid");
    free (forged);
    free (header);
    free (payload);
    free (signature);
    free (token);
    json_decref (claims);
}

static void
test_expiry (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    const char *reason = NULL;

    //  Expired beyond the leeway
    json_object_set_new (claims, "exp", json_integer (NOW - 100));
    char *token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "expired");
    free (token);

    //  Expired, but within the 30 s leeway
    json_object_set_new (claims, "exp", json_integer (NOW - 10));
    token = s_sign (claims);
    assert_true (s_accepts (token, NULL));
    json_t *verified = pst_jwt_verify (s_fixture.keys, token, ISSUER, API, NOW, 0, &reason);
    assert_null (verified);
    assert_string_equal (reason, "expired");
    free (token);

    //  exp == now is already expired without leeway (valid only before exp)
    json_object_set_new (claims, "exp", json_integer (NOW));
    token = s_sign (claims);
    verified = pst_jwt_verify (s_fixture.keys, token, ISSUER, API, NOW, 0, &reason);
    assert_null (verified);
    free (token);

    //  Numeric but fractional is fine
    json_object_set_new (claims, "exp", json_real (NOW + 0.5));
    token = s_sign (claims);
    verified = pst_jwt_verify (s_fixture.keys, token, ISSUER, API, NOW, 0, &reason);
    assert_non_null (verified);
    json_decref (verified);
    free (token);

    //  exp is required and must be a number
    json_object_set_new (claims, "exp", json_string ("1900000000"));
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "exp missing");
    free (token);
    json_object_del (claims, "exp");
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "exp missing");
    free (token);

    //  nbf in the future beyond leeway, within leeway, and not a number
    json_object_set_new (claims, "exp", json_integer (NOW + 3600));
    json_object_set_new (claims, "nbf", json_integer (NOW + 100));
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "not yet valid");
    free (token);
    json_object_set_new (claims, "nbf", json_integer (NOW + 10));
    token = s_sign (claims);
    assert_true (s_accepts (token, NULL));
    free (token);
    json_object_set_new (claims, "nbf", json_true ());
    token = s_sign (claims);
    assert_false (s_accepts (token, NULL));
    free (token);
    json_decref (claims);
}

static void
test_issuer (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    const char *reason = NULL;
    json_object_set_new (claims, "iss", json_string ("https://evil.example.test/"));
    char *token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "wrong issuer");
    free (token);
    json_object_del (claims, "iss");
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "wrong issuer");
    free (token);
    json_decref (claims);
}

static void
test_audience (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    const char *reason = NULL;

    json_object_set_new (claims, "aud", json_string ("https://other.example.test/"));
    char *token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "wrong audience");
    free (token);

    //  Array containing ours
    json_object_set_new (claims, "aud", json_pack ("[s, s]", "https://userinfo.test/", API));
    token = s_sign (claims);
    assert_true (s_accepts (token, &reason));
    free (token);

    //  Auth0's order when openid was asked: the API, then /userinfo
    json_object_set_new (claims, "aud", json_pack ("[s, s]", API, "https://userinfo.test/"));
    token = s_sign (claims);
    assert_true (s_accepts (token, &reason));
    free (token);

    //  An empty array names no one
    json_object_set_new (claims, "aud", json_array ());
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "wrong audience");
    free (token);

    //  Array without ours, array of non-strings, missing
    json_object_set_new (claims, "aud", json_pack ("[s, i]", "https://userinfo.test/", 1));
    token = s_sign (claims);
    assert_false (s_accepts (token, &reason));
    assert_string_equal (reason, "wrong audience");
    free (token);
    json_object_del (claims, "aud");
    token = s_sign (claims);
    assert_false (s_accepts (token, NULL));
    free (token);
    json_decref (claims);
}

static void
test_jwks_round_trip (void **state)
{
    (void) state;
    json_t *jwk = pst_jwt_public_jwk (s_fixture.pem, s_fixture.kid);
    assert_non_null (jwk);
    assert_string_equal (json_string_value (json_object_get (jwk, "kty")), "RSA");
    assert_string_equal (json_string_value (json_object_get (jwk, "use")), "sig");
    assert_string_equal (json_string_value (json_object_get (jwk, "alg")), "RS256");
    assert_string_equal (json_string_value (json_object_get (jwk, "kid")), s_fixture.kid);
    assert_string_equal (json_string_value (json_object_get (jwk, "e")), "AQAB");
    //  2048-bit modulus: 256 bytes, 342 base64url characters
    assert_int_equal (strlen (json_string_value (json_object_get (jwk, "n"))), 342);
    //  No private member leaks into the public key
    assert_null (json_object_get (jwk, "d"));
    assert_null (json_object_get (jwk, "p"));

    //  Through text, as a client would fetch it
    json_t *doc = json_pack ("{s:[o]}", "keys", jwk);
    char *text = json_dumps (doc, JSON_COMPACT);
    json_decref (doc);
    doc = json_loads (text, 0, NULL);
    free (text);
    pst_jwks_t *keys = pst_jwks_new (doc);
    json_decref (doc);
    assert_non_null (keys);
    assert_int_equal (pst_jwks_size (keys), 1);

    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);
    json_t *verified = pst_jwt_verify (keys, token, ISSUER, API, NOW, 0, NULL);
    assert_non_null (verified);
    json_decref (verified);
    free (token);
    pst_jwks_destroy (&keys);
    assert_null (keys);
    pst_jwks_destroy (&keys);

    //  kid NULL: the key's own id
    jwk = pst_jwt_public_jwk (s_fixture.pem, NULL);
    assert_string_equal (json_string_value (json_object_get (jwk, "kid")), s_fixture.kid);
    json_decref (jwk);
}

static void
test_jwks_filtering (void **state)
{
    (void) state;
    json_t *good = pst_jwt_public_jwk (s_fixture.pem, "good");
    json_t *keys = json_array ();
    //  Only the last one is usable
    json_t *ec = json_deep_copy (good);
    json_object_set_new (ec, "kty", json_string ("EC"));
    json_array_append_new (keys, ec);
    json_t *enc = json_deep_copy (good);
    json_object_set_new (enc, "use", json_string ("enc"));
    json_object_set_new (enc, "kid", json_string ("enc"));
    json_array_append_new (keys, enc);
    json_t *rs512 = json_deep_copy (good);
    json_object_set_new (rs512, "alg", json_string ("RS512"));
    json_object_set_new (rs512, "kid", json_string ("rs512"));
    json_array_append_new (keys, rs512);
    json_t *bad_n = json_deep_copy (good);
    json_object_set_new (bad_n, "n", json_string ("not+base64url"));
    json_object_set_new (bad_n, "kid", json_string ("bad_n"));
    json_array_append_new (keys, bad_n);
    json_t *no_kid = json_deep_copy (good);
    json_object_del (no_kid, "kid");
    json_array_append_new (keys, no_kid);
    json_array_append_new (keys, json_string ("not an object"));
    json_array_append (keys, good);
    json_t *doc = json_pack ("{s:o}", "keys", keys);
    pst_jwks_t *set = pst_jwks_new (doc);
    assert_non_null (set);
    assert_int_equal (pst_jwks_size (set), 1);
    pst_jwks_destroy (&set);
    json_decref (doc);

    //  At most 16 keys, whatever the document holds; duplicate kids count once
    keys = json_array ();
    for (int i = 0; i < 40; i++) {
        json_t *copy = json_deep_copy (good);
        char kid [16];
        snprintf (kid, sizeof kid, "k%d", i / 2);
        json_object_set_new (copy, "kid", json_string (kid));
        json_array_append_new (keys, copy);
    }
    doc = json_pack ("{s:o}", "keys", keys);
    set = pst_jwks_new (doc);
    assert_int_equal (pst_jwks_size (set), 16);
    pst_jwks_destroy (&set);
    json_decref (doc);

    //  Not a key set
    doc = json_pack ("{s:s}", "keys", "none");
    assert_null (pst_jwks_new (doc));
    json_decref (doc);
    assert_null (pst_jwks_new (NULL));
    json_decref (good);
}

static void
test_garbage_tokens (void **state)
{
    (void) state;
    json_t *claims = s_claims ();
    char *token = s_sign (claims);
    json_decref (claims);
    char *header = s_part (token, 0);
    char *payload = s_part (token, 1);
    char *signature = s_part (token, 2);

    const char *reason = NULL;
    const char *simple [] = {
        "", "abc", "a.b", "..", "...", "a..c", ".b.c", "a.b.",
        "!!!.###.$$$", "eyJhbGciOiJSUzI1NiJ9", NULL
    };
    for (int i = 0; simple [i]; i++)
        assert_false (s_accepts (simple [i], NULL));
    assert_null (pst_jwt_verify (s_fixture.keys, NULL, ISSUER, API, NOW, 0, &reason));
    assert_null (pst_jwt_verify (NULL, token, ISSUER, API, NOW, 0, &reason));

    //  Four parts: a valid token with one more segment
    char *four = NULL;
    assert_true (asprintf (&four, "%s.%s", token, signature) > 0);
    assert_false (s_accepts (four, &reason));
    assert_string_equal (reason, "malformed");
    free (four);

    //  Bad base64 in each part
    char *bad = s_join (header, "e30+", signature);
    assert_false (s_accepts (bad, NULL));
    free (bad);
    bad = s_join ("eyJ=", payload, signature);
    assert_false (s_accepts (bad, NULL));
    free (bad);
    bad = s_join (header, payload, "abc/def");
    assert_false (s_accepts (bad, NULL));
    free (bad);

    //  Header that is not a JSON object, or has duplicate keys
    char duplicate [256];
    snprintf (duplicate, sizeof duplicate,
              "{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"%s\"}", s_fixture.kid);
    const char *headers [] = {
        "[\"RS256\"]", "\"RS256\"", "{\"alg\":\"RS256\"", "x", duplicate, NULL
    };
    for (int i = 0; headers [i]; i++) {
        char *encoded = s_b64_json (headers [i]);
        bad = s_join (encoded, payload, signature);
        assert_false (s_accepts (bad, &reason));
        //  Refused while decoding, before any key or signature is looked at
        assert_string_equal (reason, "malformed");
        free (bad);
        free (encoded);
    }

    //  16 KiB token built from a valid one
    size_t big_size = 16 * 1024;
    char *big = malloc (big_size + 1);
    memset (big, 'A', big_size);
    big [big_size] = '\0';
    memcpy (big, token, strlen (token));
    assert_false (s_accepts (big, &reason));
    assert_string_equal (reason, "too long");
    //  ... and one where the excess is inside the payload
    char *padded_payload = malloc (big_size);
    memset (padded_payload, 'A', big_size - 1);
    padded_payload [big_size - 1] = '\0';
    bad = s_join (header, padded_payload, signature);
    assert_false (s_accepts (bad, &reason));
    assert_string_equal (reason, "too long");
    free (bad);
    free (padded_payload);
    free (big);

    //  The original still passes: the failures above are the tampering's doing
    assert_true (s_accepts (token, NULL));
    free (header);
    free (payload);
    free (signature);
    free (token);
}

int
main (void)
{
    if (pst_crypto_init () != 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_key_generation),
        cmocka_unit_test (test_sign_verify),
        cmocka_unit_test (test_signer),
        cmocka_unit_test (test_tampered_payload),
        cmocka_unit_test (test_tampered_signature),
        cmocka_unit_test (test_alg_none),
        cmocka_unit_test (test_alg_hs256_confusion),
        cmocka_unit_test (test_unknown_kid),
        cmocka_unit_test (test_expiry),
        cmocka_unit_test (test_issuer),
        cmocka_unit_test (test_audience),
        cmocka_unit_test (test_jwks_round_trip),
        cmocka_unit_test (test_jwks_filtering),
        cmocka_unit_test (test_garbage_tokens),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
