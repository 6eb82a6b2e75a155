#include "mfa_verify.h"
#include "mfa_worker.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include <sodium.h>
#include <string.h>

int
mfa_verify_recovery_normalise (const char *typed, char out [25])
{
    size_t length = 0;
    for (const char *scan = typed; scan && *scan; scan++) {
        if (*scan == ' ')
            continue;
        char c = *scan >= 'a' && *scan <= 'z'? (char) (*scan - 'a' + 'A'): *scan;
        if (!strchr (MFA_RECOVERY_ALPHABET, c) || length == MFA_RECOVERY_LENGTH) {
            out [0] = '\0';
            return -1;
        }
        out [length++] = c;
    }
    out [length] = '\0';
    return length == MFA_RECOVERY_LENGTH? 0: -1;
}

static const char *
s_str (const json_t *object, const char *key)
{
    return json_string_value (json_object_get (object, key));
}

int
mfa_verify_failures_allowed (mfa_worker_t *self, pst_msg_t *reply, const char *user_id,
                             mfa_outcome_t *outcome, const char *limit_type)
{
    mfa_bucket_rule_t rule = mfa_worker_fail_rule (self);
    int retry_after = 0;
    int level = mfa_store_bucket_level (mfa_worker_store (self), user_id, MFA_BUCKET_FAIL,
                                        &rule, mfa_worker_now_ms (self), &retry_after);
    if (level < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (level == 0) {
        outcome->type = limit_type;
        return mfa_worker_fail_limited (self, reply, PST_ERR_TOO_MANY_ATTEMPTS, &rule, retry_after,
            "Too many failed codes. Wait for some minutes before retrying.");
    }
    return 0;
}

//  Refuses when the user's recovery bucket is empty; -1 after failing reply.
static int
s_recovery_allowed (mfa_worker_t *self, pst_msg_t *reply, const char *user_id,
                    mfa_outcome_t *outcome)
{
    mfa_bucket_rule_t rule = mfa_worker_recovery_rule (self);
    int retry_after = 0;
    int level = mfa_store_bucket_level (mfa_worker_store (self), user_id, MFA_BUCKET_RECOVERY,
                                        &rule, mfa_worker_now_ms (self), &retry_after);
    if (level < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (level == 0) {
        outcome->type = "gd_recovery_rate_limit_exceed";
        return mfa_worker_fail_limited (self, reply, PST_ERR_TOO_MANY_ATTEMPTS, &rule, retry_after,
            "Too many failed recovery codes. Wait for some minutes before retrying.");
    }
    return 0;
}

int
mfa_verify_count_failure (mfa_worker_t *self, const char *user_id)
{
    mfa_bucket_rule_t rule = mfa_worker_fail_rule (self);
    return mfa_store_bucket_take (mfa_worker_store (self), user_id, MFA_BUCKET_FAIL, &rule,
                                  mfa_worker_now_ms (self), NULL) < 0? -1: 0;
}

int
mfa_verify_grant (mfa_worker_t *self, pst_msg_t *reply, const json_t *token)
{
    mfa_store_t *store = mfa_worker_store (self);
    const char *user_id = s_str (token, "user_id");
    mfa_bucket_rule_t rule = mfa_worker_fail_rule (self);
    int used = mfa_store_token_use (store, s_str (token, "hash"));
    if (used == 0)
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "mfa_token has already been used");
    if (used < 0 || mfa_store_bucket_fill (store, user_id, MFA_BUCKET_FAIL, &rule,
                                           mfa_worker_now_ms (self)))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_t *body = pst_msg_body (reply);
    const char *keys [] = { "user_id", "client_id", "audience", "scope", NULL };
    for (int i = 0; keys [i]; i++)
        if (s_str (token, keys [i]))
            json_object_set_new (body, keys [i], json_string (s_str (token, keys [i])));
    //  The password was checked when mfa.begin issued the token: the sign-in's
    //  auth_time, for the id_token authn signs now
    json_int_t created_at = json_integer_value (json_object_get (token, "created_at"));
    if (created_at > 0)
        json_object_set_new (body, "auth_time", json_integer (created_at / 1000));
    return 0;
}

//  ---------------------------------------------------------------------------
//  mfa.verify_oob

//  The attempt was granted: compare the code's HMAC with the stored one (S9).
//  Wrong costs a failure token and commits; right uses the challenge, activates
//  the authenticator and ends the mfa_token.
static int
s_verify_decide (mfa_worker_t *self, pst_msg_t *reply, const json_t *token,
                 const mfa_challenge_t *challenge, const char *binding_code,
                 const char stored [65], mfa_outcome_t *outcome)
{
    mfa_store_t *store = mfa_worker_store (self);
    const char *user_id = s_str (token, "user_id");
    char given [65] = "";
    mfa_worker_code_hmac (self, binding_code, given);
    int right = strlen (stored) == 64 && sodium_memcmp (stored, given, 64) == 0;
    sodium_memzero (given, sizeof given);
    if (!right) {
        outcome->detail = "wrong binding_code";
        if (mfa_verify_count_failure (self, user_id))
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Invalid binding_code.");
        return 0;               //  the spent attempt and failure token must stick
    }
    int enrolled = mfa_store_challenge_move (store, challenge->id, "pending", "used") == 1
        ? mfa_store_authenticator_activate (store, user_id, challenge->authenticator_id): -1;
    if (enrolled < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (mfa_verify_grant (self, reply, token))
        return -1;
    outcome->type = enrolled? "gd_enrollment_complete": "gd_auth_succeed";
    return 0;
}

//  Spends one attempt of the challenge for oob_code: 0 and stored set, or -1
//  after failing reply. The oob_code is bound to the mfa_token that asked for it,
//  so a code from another sign-in of the same user does not complete this one.
//  Unknown, someone else's, used, superseded, void, expired or out of attempts:
//  one answer for all (S11).
static int
s_verify_attempt (mfa_worker_t *self, pst_msg_t *reply, const json_t *token,
                  const char *oob_code, mfa_challenge_t *challenge, char stored [65],
                  mfa_outcome_t *outcome)
{
    const char *user_id = s_str (token, "user_id");
    const char *token_hash = s_str (token, "hash");
    mfa_store_t *store = mfa_worker_store (self);
    char oob_hash [65];
    pst_sha256_hex (oob_code, strlen (oob_code), oob_hash);
    int found = mfa_store_challenge_get (store, oob_hash, challenge);
    int granted = found == 1 && streq (challenge->user_id, user_id)
               && token_hash && streq (challenge->token_hash, token_hash)
        ? mfa_store_challenge_attempt (store, challenge->id,
                                       mfa_worker_config (self)->code_max_attempts,
                                       mfa_worker_now_ms (self), stored)
        : found < 0? -1: 0;
    if (granted < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (granted == 0) {
        outcome->detail = "invalid oob_code";
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Invalid oob_code.");
    }
    return 0;
}

static int
s_verify_oob_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                  void *args, mfa_outcome_t *outcome)
{
    (void) args;
    json_t *token = mfa_worker_token (self, request, reply, MFA_TOKEN_GRANT, outcome);
    if (!token)
        return -1;
    const char *user_id = s_str (token, "user_id");
    //  Both present and bounded: the catalogue's params
    const char *oob_code = pst_msg_get_str (request, "oob_code");
    const char *binding_code = pst_msg_get_str (request, "binding_code");
    mfa_challenge_t challenge;
    char stored [65] = "";
    int rc = mfa_verify_failures_allowed (self, reply, user_id, outcome,
                                          "gd_otp_rate_limit_exceed");
    if (rc == 0)
        rc = s_verify_attempt (self, reply, token, oob_code, &challenge, stored, outcome);
    if (rc == 0)
        rc = s_verify_decide (self, reply, token, &challenge, binding_code, stored, outcome);
    sodium_memzero (stored, sizeof stored);
    json_decref (token);
    return rc;
}

int
mfa_verify_oob (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    return mfa_worker_transact_last ((mfa_worker_t *) worker, request, reply, s_verify_oob_txn,
                                     NULL, "gd_auth_succeed", "gd_auth_failed");
}

//  ---------------------------------------------------------------------------
//  mfa.verify_recovery

static int
s_verify_recovery_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                       void *args, mfa_outcome_t *outcome)
{
    (void) args;
    mfa_store_t *store = mfa_worker_store (self);
    json_t *token = mfa_worker_token (self, request, reply, MFA_TOKEN_GRANT, outcome);
    if (!token)
        return -1;
    const char *user_id = s_str (token, "user_id");
    //  An empty failure bucket does not stop a recovery code: it is the way back
    //  in for a user whose account is under a guessing attack (F11). Its
    //  failures still drain that bucket (S12), so recovery guesses have a
    //  throttle of their own that refills slower than the failure bucket: else
    //  whoever knows the password could keep the user's email codes refused.
    if (s_recovery_allowed (self, reply, user_id, outcome)) {
        json_decref (token);
        return -1;
    }
    //  Present and bounded: the catalogue's params
    const char *typed = pst_msg_get_str (request, "recovery_code");
    char code [MFA_RECOVERY_LENGTH + 1], hash [65];
    //  Hash whatever was typed, so a malformed code costs the same as a wrong one
    mfa_verify_recovery_normalise (typed, code);
    pst_sha256_hex (code, strlen (code), hash);
    int rc = 0;
    int match = mfa_store_factor_enabled (store, "recovery-code") == 1
             && mfa_store_has_active (store, user_id, "recovery-code") == 1
             && mfa_store_recovery_check (store, user_id, hash) == 1;
    if (!match) {
        outcome->type = "gd_recovery_failed";
        mfa_bucket_rule_t rule = mfa_worker_recovery_rule (self);
        rc = mfa_store_bucket_take (store, user_id, MFA_BUCKET_RECOVERY, &rule,
                                    mfa_worker_now_ms (self), NULL) < 0? -1: 0;
        if (rc == 0)
            rc = mfa_verify_count_failure (self, user_id);
        if (rc == 0)
            pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Invalid recovery_code.");
        else
            pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    if (rc == 0 && match) {
        //  Single use: a new code replaces it and goes back to the user (S12)
        pst_random_string (code, MFA_RECOVERY_LENGTH, MFA_RECOVERY_ALPHABET);
        pst_sha256_hex (code, strlen (code), hash);
        mfa_bucket_rule_t rule = mfa_worker_recovery_rule (self);
        rc = mfa_store_recovery_set (store, user_id, hash, mfa_worker_now_ms (self))
          || mfa_store_bucket_fill (store, user_id, MFA_BUCKET_RECOVERY, &rule,
                                    mfa_worker_now_ms (self))
           ? pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable")
           : mfa_verify_grant (self, reply, token);
        if (rc == 0) {
            json_object_set_new (pst_msg_body (reply), "recovery_code", json_string (code));
            outcome->type = "gd_recovery_succeed";
        }
    }
    sodium_memzero (code, sizeof code);
    json_decref (token);
    return rc;
}

int
mfa_verify_recovery (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    return mfa_worker_transact_last ((mfa_worker_t *) worker, request, reply,
                                     s_verify_recovery_txn, NULL, "gd_recovery_succeed",
                                     "gd_recovery_failed");
}
