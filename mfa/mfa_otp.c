#include "mfa_otp.h"
#include "mfa_seal.h"
#include "mfa_authenticators.h"
#include "mfa_totp.h"
#include "mfa_verify.h"
#include "pst_error.h"
#include <sodium.h>
#include <string.h>

//  The otp secrets' key: the code key's subkey 2 (the reply cache has 1,
//  the SMTP password 3)
#define MFA_OTP_SUBKEY          2
#define MFA_OTP_CONTEXT         "pst-totp"
#define MFA_OTP_SEALED_SIZE     (MFA_TOTP_SECRET_SIZE + MFA_SEAL_OVERHEAD)

static const char *
s_str (const json_t *object, const char *key)
{
    return json_string_value (json_object_get (object, key));
}

//  Seals secret for authenticator id, the id as associated data: a sealed
//  secret copied to another row does not open there (mfa_seal).
static void
s_seal (mfa_worker_t *self, const char *id, const uint8_t secret [MFA_TOTP_SECRET_SIZE],
        uint8_t sealed [MFA_OTP_SEALED_SIZE])
{
    uint8_t key [MFA_CODE_KEY_SIZE];
    mfa_worker_derive_key (self, MFA_OTP_SUBKEY, MFA_OTP_CONTEXT, key);
    mfa_seal (key, id, secret, MFA_TOTP_SECRET_SIZE, sealed);
    sodium_memzero (key, sizeof key);
}

//  Opens the row's secret: 0, or -1 when it was not sealed for this row under
//  this key (another key file, a tampered row).
static int
s_open (mfa_worker_t *self, const mfa_totp_row_t *row, uint8_t secret [MFA_TOTP_SECRET_SIZE])
{
    if (row->sealed_size != MFA_OTP_SEALED_SIZE)
        return -1;
    uint8_t key [MFA_CODE_KEY_SIZE];
    mfa_worker_derive_key (self, MFA_OTP_SUBKEY, MFA_OTP_CONTEXT, key);
    long size = mfa_seal_open (key, row->id, row->sealed, row->sealed_size, secret);
    sodium_memzero (key, sizeof key);
    return size == MFA_TOTP_SECRET_SIZE? 0: -1;
}

//  ---------------------------------------------------------------------------
//  Association

//  The reply of a new association: secret and URI shown once, never stored in
//  clear. 0, or -1 when out of memory.
static int
s_answer (mfa_worker_t *self, pst_msg_t *reply, const json_t *token, const char *id,
          const char *secret_b32, const char *recovery_code)
{
    //  The app shows "<issuer> (<account>)": the tenant and the user's address
    const char *account = s_str (token, "email");
    char *uri = mfa_totp_uri (mfa_worker_config (self)->friendly_name,
                              account? account: s_str (token, "user_id"), secret_b32);
    if (!uri)
        return -1;
    json_t *body = pst_msg_body (reply);
    json_object_set_new (body, "authenticator_type", json_string ("otp"));
    json_object_set_new (body, "secret", json_string (secret_b32));
    json_object_set_new (body, "barcode_uri", json_string (uri));
    json_object_set_new (body, "id", json_string (id));
    if (recovery_code)
        json_object_set_new (body, "recovery_codes", json_pack ("[s]", recovery_code));
    sodium_memzero (uri, strlen (uri));
    free (uri);
    return 0;
}

//  The new inactive otp authenticator, replacing an unconfirmed one of either
//  kind (the last association wins), and the first recovery code.
static int
s_enrol (mfa_worker_t *self, pst_msg_t *reply, const json_t *token, int further)
{
    mfa_store_t *store = mfa_worker_store (self);
    const char *user_id = s_str (token, "user_id");
    uint8_t secret [MFA_TOTP_SECRET_SIZE], sealed [MFA_OTP_SEALED_SIZE];
    char secret_b32 [MFA_TOTP_SECRET_B32 + 1];
    randombytes_buf (secret, sizeof secret);
    char *id = mfa_worker_authenticator_id ("totp");
    char *recovery_code = NULL;
    int64_t now = mfa_worker_now_ms (self);
    int rc = !id || mfa_totp_base32 (secret, sizeof secret, secret_b32, sizeof secret_b32)? -1: 0;
    if (rc == 0) {
        s_seal (self, id, secret, sealed);
        rc = mfa_store_authenticator_drop_inactive (store, user_id, "otp")
          || mfa_store_authenticator_drop_inactive (store, user_id, "email")
          || mfa_store_totp_insert (store, id, user_id, sealed, sizeof sealed, now)
          || (!further  //  a further authenticator keeps the user's recovery code
              && mfa_authenticators_recovery_prepare (store, user_id, now, &recovery_code))? -1: 0;
    }
    if (rc == 0 && s_answer (self, reply, token, id, secret_b32, recovery_code))
        rc = -1;
    if (rc)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (recovery_code) {
        sodium_memzero (recovery_code, strlen (recovery_code));
        free (recovery_code);
    }
    sodium_memzero (secret, sizeof secret);
    sodium_memzero (secret_b32, sizeof secret_b32);
    free (id);
    return rc;
}

static int
s_associate_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                 void *args, mfa_outcome_t *outcome)
{
    (void) args;
    mfa_store_t *store = mfa_worker_store (self);
    json_t *token = mfa_worker_enroller (self, request, reply, outcome);
    if (!token)
        return -1;
    int further = json_is_true (json_object_get (token, "further"));
    int rc = 0;
    if (further)
        rc = mfa_authenticators_further_allowed (store, reply, s_str (token, "user_id"), "otp");
    else
    if (mfa_store_has_active (store, s_str (token, "user_id"), NULL) != 0)
        rc = pst_msg_fail (reply, PST_ERR_ACCESS_DENIED, "User is already enrolled.");
    if (rc == 0 && mfa_store_factor_enabled (store, "otp") != 1)
        rc = pst_msg_fail (reply, PST_ERR_UNSUPPORTED_CHALLENGE, "The otp factor is not enabled.");
    else
    if (rc == 0)
        rc = s_enrol (self, reply, token, further);
    if (rc == 0)
        outcome->detail = "otp authenticator associated";
    json_decref (token);
    return rc;
}

int
mfa_otp_associate (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply)
{
    return mfa_worker_transact_last (self, request, reply, s_associate_txn, NULL,
                                     "gd_start_enroll", "gd_start_enroll");
}

//  ---------------------------------------------------------------------------
//  mfa.verify_otp

//  The user's otp authenticator, while the factor is on: 0 and row filled, or
//  -1 after failing reply. Neither refusal is a guess, so neither costs a token.
static int
s_verify_authenticator (mfa_worker_t *self, pst_msg_t *reply, const char *user_id,
                        mfa_totp_row_t *row, mfa_outcome_t *outcome)
{
    mfa_store_t *store = mfa_worker_store (self);
    int enabled = mfa_store_factor_enabled (store, "otp");
    int found = enabled == 1? mfa_store_totp_get (store, user_id, row): 0;
    if (enabled < 0 || found < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (!enabled) {
        outcome->detail = "otp factor disabled";
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "The otp factor is not enabled.");
    }
    if (!found) {
        outcome->detail = "no otp authenticator";
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "The user has no otp authenticator.");
    }
    return 0;
}

//  Spends one of the mfa_token's otp guesses, as an email code spends one of
//  its challenge's attempts (S4): past the cap the sign-in starts again.
static int
s_verify_attempt (mfa_worker_t *self, pst_msg_t *reply, const json_t *token,
                  mfa_outcome_t *outcome)
{
    int granted = mfa_store_token_otp_attempt (mfa_worker_store (self), s_str (token, "hash"),
                                               mfa_worker_config (self)->code_max_attempts);
    if (granted < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (granted == 0) {
        outcome->detail = "mfa_token out of otp attempts";
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT,
                             "Too many attempts with this mfa_token. Sign in again.");
    }
    return 0;
}

//  The attempt was granted: a code of a step within ±1 of now, later than the
//  last one accepted, takes that step (one statement, so no other instance can
//  take it too), confirms the authenticator and ends the mfa_token. Anything
//  else costs a failure token and commits.
static int
s_verify_decide (mfa_worker_t *self, pst_msg_t *reply, const json_t *token,
                 const mfa_totp_row_t *row, const char *otp, mfa_outcome_t *outcome)
{
    mfa_store_t *store = mfa_worker_store (self);
    const char *user_id = s_str (token, "user_id");
    uint8_t secret [MFA_TOTP_SECRET_SIZE];
    if (s_open (self, row, secret)) {
        outcome->detail = "otp secret unreadable";
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "The otp authenticator cannot be read.");
    }
    int64_t step = mfa_totp_match (secret, sizeof secret, otp,
                                   mfa_totp_step (mfa_worker_now_ms (self)), row->last_step);
    sodium_memzero (secret, sizeof secret);
    int taken = step >= 0? mfa_store_totp_use_step (store, row->id, step): 0;
    if (taken < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (taken == 0) {
        outcome->detail = "wrong otp";
        if (mfa_verify_count_failure (self, user_id))
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Invalid otp_code.");
        return 0;               //  the spent attempt and failure token must stick
    }
    int enrolled = mfa_store_authenticator_activate (store, user_id, row->id);
    if (enrolled < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (mfa_verify_grant (self, reply, token))
        return -1;
    outcome->type = enrolled? "gd_enrollment_complete": "gd_auth_succeed";
    return 0;
}

static int
s_verify_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
              void *args, mfa_outcome_t *outcome)
{
    (void) args;
    json_t *token = mfa_worker_token (self, request, reply, MFA_TOKEN_GRANT, outcome);
    if (!token)
        return -1;
    const char *user_id = s_str (token, "user_id");
    //  Present and bounded: the catalogue's params
    const char *otp = pst_msg_get_str (request, "otp");
    mfa_totp_row_t row;
    int rc = mfa_verify_failures_allowed (self, reply, user_id, outcome,
                                          "gd_otp_rate_limit_exceed");
    if (rc == 0)
        rc = s_verify_authenticator (self, reply, user_id, &row, outcome);
    if (rc == 0)
        rc = s_verify_attempt (self, reply, token, outcome);
    if (rc == 0)
        rc = s_verify_decide (self, reply, token, &row, otp, outcome);
    sodium_memzero (&row, sizeof row);
    json_decref (token);
    return rc;
}

int
mfa_otp_verify (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    return mfa_worker_transact_last ((mfa_worker_t *) worker, request, reply, s_verify_txn,
                                     NULL, "gd_auth_succeed", "gd_auth_failed");
}
