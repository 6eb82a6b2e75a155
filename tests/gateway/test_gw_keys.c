/*  gw_keys: verification against the installed set, and unknown-kid reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gw_keys.h"
#include "pst_crypto.h"
#include "pst_jwt.h"

#define ISSUER      "https://localhost:8443/"
#define AUDIENCE    "https://localhost:8443/api/v2/"

typedef struct {
    char *pem;
    char *kid;
} key_t_;

static key_t_ s_keys [2];

static int
s_setup (void **state)
{
    (void) state;
    if (pst_crypto_init () != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        s_keys [i].pem = pst_jwt_generate_key_pem (2048);
        s_keys [i].kid = s_keys [i].pem? pst_jwt_key_id (s_keys [i].pem): NULL;
        if (!s_keys [i].kid)
            return -1;
    }
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    for (int i = 0; i < 2; i++) {
        free (s_keys [i].pem);
        free (s_keys [i].kid);
    }
    return 0;
}

static json_t *
s_jwks (int key)
{
    return json_pack ("{s:[o]}", "keys", pst_jwt_public_jwk (s_keys [key].pem, s_keys [key].kid));
}

static char *
s_token (int key, const char *audience, long long expires_in)
{
    long long now = (long long) time (NULL);
    json_t *claims = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISSUER, "aud", audience,
                                "sub", "m2m@clients", "iat", now, "exp", now + expires_in,
                                "scope", "read:users");
    char *token = pst_jwt_sign (s_keys [key].pem, s_keys [key].kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    return token;
}

static void
test_verify_and_unknown_kid (void **state)
{
    (void) state;
    gw_keys_t *keys = gw_keys_new ();
    assert_non_null (keys);
    assert_int_equal (gw_keys_size (keys), 0);
    char *token = s_token (0, AUDIENCE, 600);
    const char *reason = NULL;
    int unknown = 0;

    //  No keys yet: the kid is unknown
    assert_null (gw_keys_verify (keys, token, ISSUER, AUDIENCE, &reason, &unknown));
    assert_int_equal (unknown, 1);

    json_t *jwks = s_jwks (0);
    assert_int_equal (gw_keys_update (keys, jwks), 0);
    json_decref (jwks);
    assert_int_equal (gw_keys_size (keys), 1);
    json_t *claims = gw_keys_verify (keys, token, ISSUER, AUDIENCE, &reason, &unknown);
    assert_non_null (claims);
    assert_int_equal (unknown, 0);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")), "m2m@clients");
    json_decref (claims);

    //  Wrong audience: refused, and not for want of keys
    assert_null (gw_keys_verify (keys, token, ISSUER, "https://localhost:8443/mfa/",
                                 &reason, &unknown));
    assert_int_equal (unknown, 0);
    assert_non_null (reason);

    //  Rotation: a token from the other key is unknown until its set arrives
    char *rotated = s_token (1, AUDIENCE, 600);
    assert_null (gw_keys_verify (keys, rotated, ISSUER, AUDIENCE, &reason, &unknown));
    assert_int_equal (unknown, 1);
    jwks = s_jwks (1);
    assert_int_equal (gw_keys_update (keys, jwks), 0);
    json_decref (jwks);
    claims = gw_keys_verify (keys, rotated, ISSUER, AUDIENCE, &reason, &unknown);
    assert_non_null (claims);
    json_decref (claims);

    //  An unusable document leaves the set alone
    json_t *junk = json_pack ("{s:s}", "keys", "nope");
    assert_int_equal (gw_keys_update (keys, junk), -1);
    json_decref (junk);
    assert_int_equal (gw_keys_size (keys), 1);

    free (token);
    free (rotated);
    gw_keys_destroy (&keys);
    assert_null (keys);
}

static void
test_expired_token (void **state)
{
    (void) state;
    gw_keys_t *keys = gw_keys_new ();
    json_t *jwks = s_jwks (0);
    gw_keys_update (keys, jwks);
    json_decref (jwks);
    char *token = s_token (0, AUDIENCE, -3600);
    int unknown = 0;
    assert_null (gw_keys_verify (keys, token, ISSUER, AUDIENCE, NULL, &unknown));
    assert_int_equal (unknown, 0);
    free (token);
    gw_keys_destroy (&keys);
}

static void
test_token_shapes (void **state)
{
    (void) state;
    char *token = s_token (0, AUDIENCE, 600);
    assert_true (gw_keys_is_jwt (token));
    char *kid = gw_keys_token_kid (token);
    assert_string_equal (kid, s_keys [0].kid);
    free (kid);
    free (token);
    assert_false (gw_keys_is_jwt ("Fe26.2**05abc"));
    assert_false (gw_keys_is_jwt ("opaqueMfaToken_-123"));
    assert_false (gw_keys_is_jwt ("a.b"));
    assert_false (gw_keys_is_jwt (NULL));
    assert_null (gw_keys_token_kid ("%%%.x.y"));
    assert_null (gw_keys_token_kid ("nodots"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_verify_and_unknown_kid),
        cmocka_unit_test (test_expired_token),
        cmocka_unit_test (test_token_shapes),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
