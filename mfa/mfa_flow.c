#include "mfa_flow.h"
#include "mfa_authenticators.h"
#include "mfa_job_id.h"
#include "mfa_otp.h"
#include "mfa_template.h"
#include "mfa_verify.h"
#include "mfa_worker.h"
#include "pst_crypto.h"
#include "pst_email.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_scope.h"
#include <sodium.h>
#include <string.h>

#define MFA_RANDOM_BYTES    32      //  mfa_token and oob_code: 256 bits (S10)

//  Factors that make MFA required; recovery-code alone does not
static const char *s_second_factors [] = { "email", "otp", NULL };

//  1 when value (a string of space-separated words, or an array of strings)
//  holds word, 0 when not, -1 when value has another type.
static int
s_list_has (const json_t *value, const char *word)
{
    if (json_is_string (value))
        return pst_scope_has (json_string_value (value), word);
    if (!json_is_array (value))
        return -1;
    size_t index;
    json_t *item;
    json_array_foreach (value, index, item)
        if (json_is_string (item) && streq (json_string_value (item), word))
            return 1;
    return 0;
}

static const char *
s_token_str (const json_t *token, const char *key)
{
    return json_string_value (json_object_get (token, key));
}

//  1 when MFA is required for every login: the all-applications policy and a
//  second factor enabled. -1 on error.
static int
s_mfa_required (mfa_store_t *store)
{
    int policy = mfa_store_policy_has (store, "all-applications");
    if (policy <= 0)
        return policy;
    int enabled = 0;
    for (int i = 0; s_second_factors [i]; i++) {
        int rc = mfa_store_factor_enabled (store, s_second_factors [i]);
        if (rc < 0)
            return -1;
        enabled |= rc;
    }
    return enabled;
}

//  Auth0's mfa_requirements: {"challenge": [{"type": ...}]} for each kind of
//  second factor the user has active and the tenant has on; NULL when none
//  (the user enrols) or on a database error.
static json_t *
s_requirements (mfa_store_t *store, const char *user_id)
{
    json_t *list = mfa_store_authenticators (store, user_id);
    json_t *challenge = json_array ();
    for (int i = 0; list && s_second_factors [i]; i++) {
        size_t index;
        json_t *item;
        json_array_foreach (list, index, item)
            if (json_is_true (json_object_get (item, "active"))
            &&  streq (s_token_str (item, "type"), s_second_factors [i])) {
                if (mfa_store_factor_enabled (store, s_second_factors [i]) == 1)
                    json_array_append_new (challenge,
                                           json_pack ("{s:s}", "type", s_second_factors [i]));
                break;
            }
    }
    json_decref (list);
    if (json_array_size (challenge) == 0) {
        json_decref (challenge);
        return NULL;
    }
    return json_pack ("{s:o}", "challenge", challenge);
}

//  ---------------------------------------------------------------------------
//  mfa.begin

int
mfa_flow_begin (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    mfa_store_t *store = mfa_worker_store (self);
    const mfa_config_t *config = mfa_worker_config (self);
    //  Both present and bounded: the catalogue's params
    const char *user_id = pst_msg_get_str (request, "user_id");
    const char *client_id = pst_msg_get_str (request, "client_id");
    int required = s_mfa_required (store);
    //  A token for the MFA API can delete authenticators and enrol new ones: an
    //  enrolled user proves the second factor for it whatever the policy says
    if (required == 0 && json_is_true (json_object_get (pst_msg_body (request), "step_up")))
        required = mfa_store_has_second_factor (store, user_id);
    if (required < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (!required) {
        json_object_set_new (pst_msg_body (reply), "mfa_required", json_false ());
        return 0;
    }
    json_t *fields = json_pack ("{s:s, s:s}", "user_id", user_id, "client_id", client_id);
    //  What the token remembers of the login, with the longest value kept
    const struct {
        const char *key;
        size_t max_size;
    } optional [] = {
        { "email", 254 }, { "client_name", 256 }, { "audience", 1024 }, { "scope", 4096 },
        //  The client's credentials, for /mfa/challenge (mfa_worker_token)
        { "client_auth_method", 64 }, { "client_secret_hash", 64 }
    };
    for (size_t i = 0; i < sizeof optional / sizeof optional [0]; i++) {
        const char *value = mfa_worker_param (request, optional [i].key, optional [i].max_size);
        if (value)
            json_object_set_new (fields, optional [i].key, json_string (value));
    }
    char token [64], hash [65];
    pst_random_token (token, sizeof token, MFA_RANDOM_BYTES);
    pst_sha256_hex (token, strlen (token), hash);
    int64_t now = mfa_worker_now_ms (self);
    int rc = mfa_store_token_insert (store, hash, fields, now + config->token_ttl_s * 1000LL, now);
    json_decref (fields);
    if (rc) {
        sodium_memzero (token, sizeof token);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    mfa_worker_prune_now_and_then (self, now);
    mfa_worker_audit (self, request, "gd_start_auth", user_id, client_id, "success",
                      "mfa_token issued");
    json_object_set_new (pst_msg_body (reply), "mfa_required", json_true ());
    json_object_set_new (pst_msg_body (reply), "mfa_token", json_string (token));
    json_t *requirements = s_requirements (store, user_id);
    if (requirements)
        json_object_set_new (pst_msg_body (reply), "mfa_requirements", requirements);
    sodium_memzero (token, sizeof token);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Challenges, shared by associate and challenge.create

typedef struct {
    char user_id [257];
    char client_id [257];
    char email [255];
    char application [257];     //  client_name, for the template
    char authenticator_id [64];
    char code [7];
    char oob_code [64];
    char oob_hash [65];
    char code_hmac [65];
    char token_hash [65];       //  the mfa_token's the challenge belongs to
    char job_id [MFA_JOB_ID_SIZE];
    int64_t expires_at;
    int otp;                    //  an otp authenticator: nothing to send
} s_challenge_t;

static void
s_challenge_wipe (s_challenge_t *challenge)
{
    sodium_memzero (challenge, sizeof *challenge);
}

//  Takes one email from the user's send bucket (S6); -1 after failing reply.
static int
s_send_allowed (mfa_worker_t *self, pst_msg_t *reply, s_challenge_t *challenge,
                mfa_outcome_t *outcome)
{
    mfa_bucket_rule_t rule = mfa_worker_send_rule (self);
    int retry_after = 0;
    int rc = mfa_store_bucket_take (mfa_worker_store (self), challenge->user_id,
                                    MFA_BUCKET_SEND, &rule, mfa_worker_now_ms (self),
                                    &retry_after);
    if (rc < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (rc == 0) {
        outcome->type = "gd_send_limit_exceed";
        return mfa_worker_fail_limited (self, reply, PST_ERR_TOO_MANY_REQUESTS, &rule, retry_after,
            "Too many emails sent. Wait before requesting a new code.");
    }
    return 0;
}

//  The challenge's code, oob_code and job, in memory only: its rows are
//  written once, after a mailer holds the job (s_deliver_txn), so that a
//  challenge costs the writer one unit after its mail instead of two. -1
//  after failing reply.
static int
s_challenge_make (mfa_worker_t *self, pst_msg_t *reply, const char *token_hash,
                  s_challenge_t *challenge)
{
    int64_t now = mfa_worker_now_ms (self);
    pst_random_code6 (challenge->code);
    if (!token_hash || strlen (token_hash) >= sizeof challenge->token_hash
    ||  pst_random_token (challenge->oob_code, sizeof challenge->oob_code, MFA_RANDOM_BYTES)
    ||  mfa_job_id_new (now, challenge->job_id))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "The challenge could not be made");
    snprintf (challenge->token_hash, sizeof challenge->token_hash, "%s", token_hash);
    challenge->expires_at = now + mfa_worker_config (self)->code_ttl_s * 1000LL;
    pst_sha256_hex (challenge->oob_code, strlen (challenge->oob_code), challenge->oob_hash);
    mfa_worker_code_hmac (self, challenge->code, challenge->code_hmac);
    return 0;
}

//  The mail.send job; NULL when the template cannot be rendered.
static json_t *
s_challenge_job (mfa_worker_t *self, const s_challenge_t *challenge)
{
    const mfa_config_t *config = mfa_worker_config (self);
    mfa_template_vars_t vars = {
        .code = challenge->code,
        .user_email = challenge->email,
        .application_name = *challenge->application? challenge->application
                                                   : config->friendly_name,
        .friendly_name = config->friendly_name,
        .expires_in_minutes = (config->code_ttl_s + 59) / 60
    };
    //  The stored template (checked when it was saved, so it renders) or the default
    mfa_message_t *message = mfa_worker_message (self);
    mfa_email_t email;
    if (!message || mfa_template_render_email (&vars, mfa_message_subject (message),
                                               mfa_message_html (message), &email))
        return NULL;
    char message_id [64], random [33];
    pst_random_hex (random, sizeof random, 16);
    snprintf (message_id, sizeof message_id, "<%s@postern>", random);
    json_t *job = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
        "job_id", challenge->job_id, "to", challenge->email, "subject", email.subject,
        "text", email.text, "html", email.html, "message_id", message_id,
        "expires_at", (json_int_t) (challenge->expires_at / 1000));
    mfa_email_clear (&email);
    //  No from: the mailer's POSTERN_SMTP_FROM. The provider's generation tells
    //  the mailer when its SMTP settings changed (mailer/README.md)
    const char *from = mfa_message_from (message);
    if (job && from)
        json_object_set_new (job, "from", json_string (from));
    if (job && mfa_message_provider_generation (message) > 0)
        json_object_set_new (job, "provider_generation",
                             json_integer ((json_int_t) mfa_message_provider_generation (message)));
    return job;
}

//  What the deliver transaction works on
typedef struct {
    s_challenge_t *challenge;
    int sent;                   //  0 when a mailer holds the job
    json_t *answer;             //  the reply's body when it succeeds (borrowed)
} s_deliver_t;

//  The challenge's rows, written once its mail is settled: pending, with its
//  job, superseding the authenticator's earlier ones (S7), once a mailer holds
//  the job; void when none took it (S20) or the authenticator was deleted
//  meanwhile, a record that commits although the reply fails. The mailer's
//  result may be there already (mfa_store_job_put): a failed delivery's `fn`
//  event is written now that its user is known.
static int
s_deliver_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
               void *args, mfa_outcome_t *outcome)
{
    (void) request;
    s_deliver_t *deliver = (s_deliver_t *) args;
    s_challenge_t *challenge = deliver->challenge;
    mfa_store_t *store = mfa_worker_store (self);
    int64_t now = mfa_worker_now_ms (self);
    snprintf (outcome->user_id, sizeof outcome->user_id, "%s", challenge->user_id);
    snprintf (outcome->client_id, sizeof outcome->client_id, "%s", challenge->client_id);
    //  The authenticator may have been deleted while the mail went out: its
    //  challenges are void then (mfa_store_authenticator_delete), this one too
    int exists = mfa_store_authenticator_exists (store, challenge->authenticator_id);
    if (exists < 0) {
        outcome->detail = "database unavailable";
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    int held = deliver->sent == 0 && exists;
    int64_t id = mfa_store_challenge_insert (store, challenge->oob_hash, challenge->user_id,
        challenge->authenticator_id, challenge->token_hash, challenge->code_hmac,
        held? "pending": "void", challenge->expires_at, now);
    char state [MFA_JOB_STATE_SIZE];
    char *detail = NULL;
    int rc = id < 0
          || (held && mfa_store_challenge_supersede (store, challenge->authenticator_id, id) < 0)
          || mfa_store_job_put (store, challenge->job_id, id, challenge->user_id,
                                held? "accepted": "refused", now, state, &detail)? -1: 0;
    if (rc == 0)
        rc = mfa_store_audit_mail_end (store, challenge->user_id, state, detail, now);
    free (detail);
    if (rc) {
        outcome->detail = "database unavailable";
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    //  Both failures commit: the void challenge is the record of what was not sent
    if (!exists) {
        outcome->detail = "authenticator deleted while its code was mailed";
        pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid authenticator_id.");
        return 0;
    }
    if (!held) {
        outcome->detail = "no mailer accepted the message";
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "The email could not be sent. Try again later.");
        return 0;
    }
    outcome->detail = "code sent";
    json_t *answer = json_incref (deliver->answer);
    pst_msg_set_body (reply, &answer);
    return 0;
}

//  Mails the challenge, then commits what became of it; on success
//  answer (borrowed) is the reply's body. The handler's last transaction.
static int
s_challenge_deliver (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                     s_challenge_t *challenge, json_t *answer)
{
    json_t *job = s_challenge_job (self, challenge);
    s_deliver_t deliver = { challenge, job? mfa_worker_mail (self, request, &job): -1, answer };
    json_decref (job);
    return mfa_worker_transact_last (self, request, reply, s_deliver_txn, &deliver,
                                     "gd_send_email", "gd_send_email_failure");
}

static void
s_challenge_target (s_challenge_t *challenge, const json_t *token, const char *email)
{
    snprintf (challenge->user_id, sizeof challenge->user_id, "%s", s_token_str (token, "user_id"));
    snprintf (challenge->client_id, sizeof challenge->client_id, "%s",
              s_token_str (token, "client_id"));
    const char *application = s_token_str (token, "client_name");
    snprintf (challenge->application, sizeof challenge->application, "%s",
              application? application: "");
    snprintf (challenge->email, sizeof challenge->email, "%s", email? email: "");
}

//  ---------------------------------------------------------------------------
//  mfa.associate

//  Arguments of the first transaction of associate
typedef struct {
    s_challenge_t *challenge;
    char *recovery_code;            //  the new code, when one was made
    int further;                    //  an enrolled user's access token: no code, no mail
} s_associate_t;

//  The address to enrol: the request's, else the token's. NULL when the request
//  holds something that is not a string.
static const char *
s_associate_email (const pst_msg_t *request, const json_t *token)
{
    json_t *given = json_object_get (pst_msg_body (request), "email");
    if (given && !json_is_null (given) && !json_is_string (given))
        return NULL;
    const char *email = pst_json_str (pst_msg_body (request), "email");
    return email? email: s_token_str (token, "email");
}

//  The new inactive email authenticator, replacing an unconfirmed one, and the
//  recovery code when that factor is on.
static int
s_enrolment_prepare (mfa_worker_t *self, s_associate_t *state)
{
    mfa_store_t *store = mfa_worker_store (self);
    s_challenge_t *challenge = state->challenge;
    char *id = mfa_worker_authenticator_id ("email");
    if (!id)
        return -1;
    snprintf (challenge->authenticator_id, sizeof challenge->authenticator_id, "%s", id);
    free (id);
    int64_t now = mfa_worker_now_ms (self);
    //  The last association wins: an unconfirmed otp one goes too
    if (mfa_store_authenticator_drop_inactive (store, challenge->user_id, "email")
    ||  mfa_store_authenticator_drop_inactive (store, challenge->user_id, "otp")
    ||  mfa_store_authenticator_insert (store, challenge->authenticator_id, challenge->user_id,
                                        "email", challenge->email, 0, now))
        return -1;
    //  A further authenticator keeps the user's recovery code
    if (state->further)
        return 0;
    return mfa_authenticators_recovery_prepare (store, challenge->user_id, now,
                                                &state->recovery_code);
}

//  Validates the request and prepares the authenticator, recovery code and
//  challenge in one transaction.
static int
s_associate_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                 void *args, mfa_outcome_t *outcome)
{
    s_associate_t *state = (s_associate_t *) args;
    mfa_store_t *store = mfa_worker_store (self);
    json_t *token = mfa_worker_enroller (self, request, reply, outcome);
    if (!token)
        return -1;
    const char *email = s_associate_email (request, token);
    state->further = json_is_true (json_object_get (token, "further"));
    int rc = 0;
    if (state->further)
        rc = mfa_authenticators_further_allowed (store, reply, s_token_str (token, "user_id"),
                                                 "email");
    else
    if (mfa_store_has_active (store, s_token_str (token, "user_id"), NULL) != 0)
        rc = pst_msg_fail (reply, PST_ERR_ACCESS_DENIED, "User is already enrolled.");
    if (rc == 0 && mfa_store_factor_enabled (store, "email") != 1)
        rc = pst_msg_fail (reply, PST_ERR_UNSUPPORTED_CHALLENGE,
                           "The email factor is not enabled.");
    else
    if (rc == 0 && !pst_email_valid (email))
        rc = pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid email address.");
    if (rc == 0) {
        s_challenge_target (state->challenge, token, email);
        if (!state->further)
            rc = s_send_allowed (self, reply, state->challenge, outcome);
    }
    if (rc == 0 && s_enrolment_prepare (self, state))
        rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (rc == 0 && state->further)
        outcome->detail = "further email authenticator associated";
    else
    if (rc == 0)
        rc = s_challenge_make (self, reply, s_token_str (token, "hash"), state->challenge);
    json_decref (token);
    return rc;
}

int
mfa_flow_associate (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *body = pst_msg_body (request);
    json_t *types = json_object_get (body, "authenticator_types");
    json_t *channels = json_object_get (body, "oob_channels");
    if (!types || json_is_null (types))
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST,
                             "Missing required parameter: authenticator_types");
    int oob = s_list_has (types, "oob");
    if (oob < 0 || (channels && !json_is_null (channels) && s_list_has (channels, "email") < 0))
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Malformed authenticator_types");
    if (!oob && s_list_has (types, "otp") == 1)
        return mfa_otp_associate (self, request, reply);
    if (!oob)
        return pst_msg_fail (reply, PST_ERR_UNSUPPORTED_CHALLENGE,
                             "Only the otp authenticator type, and oob with the email channel,"
                             " are supported.");
    if (channels && !json_is_null (channels) && s_list_has (channels, "email") != 1)
        return pst_msg_fail (reply, PST_ERR_UNSUPPORTED_CHALLENGE,
                             "Only the email oob channel is supported.");

    s_challenge_t challenge = { 0 };
    s_associate_t state = { &challenge, NULL, 0 };
    int rc = mfa_worker_transact (self, request, reply, s_associate_txn, &state,
                                  "gd_start_enroll", "gd_start_enroll");
    if (rc == 0 && state.further) {
        //  Confirmed by its first challenge: a sign-in names it by authenticator_id
        json_t *body = pst_msg_body (reply);
        json_object_set_new (body, "authenticator_type", json_string ("oob"));
        json_object_set_new (body, "binding_method", json_string ("prompt"));
        json_object_set_new (body, "oob_channel", json_string ("email"));
        json_object_set_new (body, "id", json_string (challenge.authenticator_id));
    }
    else
    if (rc == 0) {
        json_t *answer = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
            "authenticator_type", "oob", "binding_method", "prompt", "oob_channel", "email",
            "oob_code", challenge.oob_code, "id", challenge.authenticator_id);
        if (answer && state.recovery_code)
            json_object_set_new (answer, "recovery_codes",
                                 json_pack ("[s]", state.recovery_code));
        rc = answer? s_challenge_deliver (self, request, reply, &challenge, answer)
                   : pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
        json_decref (answer);
    }
    if (state.recovery_code) {
        sodium_memzero (state.recovery_code, strlen (state.recovery_code));
        free (state.recovery_code);
    }
    s_challenge_wipe (&challenge);
    return rc;
}

//  ---------------------------------------------------------------------------
//  challenge.create

//  The user's active authenticator of a type the request accepts, email first
//  (oob), else otp; or the one the request names, active or not (a further one
//  is confirmed by its first challenge).
static int
s_challenge_authenticator (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                           const char *user_id, s_challenge_t *challenge)
{
    mfa_store_t *store = mfa_worker_store (self);
    const char *wanted = pst_json_str (pst_msg_body (request), "authenticator_id");
    json_t *list = mfa_store_authenticators (store, user_id);
    if (!list)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_t *email = NULL, *otp = NULL, *named = NULL;
    int second_factor = 0;
    size_t index;
    json_t *item;
    json_array_foreach (list, index, item) {
        const char *type = s_token_str (item, "type");
        int active = json_is_true (json_object_get (item, "active"));
        if (active && !streq (type, "recovery-code"))
            second_factor = 1;
        if (active && streq (type, "email") && !email)
            email = item;
        if (active && streq (type, "otp") && !otp)
            otp = item;
        if (wanted && streq (wanted, s_token_str (item, "id")))
            named = item;
    }
    int rc = 0;
    if (!second_factor)
        rc = pst_msg_fail (reply, PST_ERR_ASSOCIATION_REQUIRED,
                           "The user has no active authenticator. Associate one first.");
    else
    if (wanted && !named)
        rc = pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid authenticator_id.");
    else {
        const char *types = mfa_worker_param (request, "challenge_type", 256);
        json_t *asked = types? json_string (types): NULL;
        int wants_oob = !asked || s_list_has (asked, "oob") == 1;
        int wants_otp = asked && s_list_has (asked, "otp") == 1;
        json_decref (asked);
        json_t *chosen = named? named: wants_oob && email? email: wants_otp? otp: NULL;
        const char *type = chosen? s_token_str (chosen, "type"): NULL;
        //  A further authenticator, not yet confirmed, is challenged by its id
        int usable = type && (json_is_true (json_object_get (chosen, "active")) || named)
                  && ((wants_oob && streq (type, "email")) || (wants_otp && streq (type, "otp")));
        if (!usable || mfa_store_factor_enabled (store, type) != 1)
            rc = pst_msg_fail (reply, PST_ERR_UNSUPPORTED_CHALLENGE,
                               "The requested challenge type is not available for this user.");
        else
        if (streq (type, "otp")) {
            //  The app holds the code: nothing to send, the mfa-otp grant checks it
            challenge->otp = 1;
            snprintf (challenge->authenticator_id, sizeof challenge->authenticator_id, "%s",
                      s_token_str (chosen, "id"));
        }
        else {
            snprintf (challenge->authenticator_id, sizeof challenge->authenticator_id, "%s",
                      s_token_str (chosen, "id"));
            const char *address = s_token_str (chosen, "email");
            snprintf (challenge->email, sizeof challenge->email, "%s", address? address: "");
        }
    }
    json_decref (list);
    return rc;
}

static int
s_challenge_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                 void *args, mfa_outcome_t *outcome)
{
    s_challenge_t *challenge = (s_challenge_t *) args;
    json_t *token = mfa_worker_token (self, request, reply, MFA_TOKEN_GRANT, outcome);
    if (!token)
        return -1;
    s_challenge_target (challenge, token, NULL);
    int rc = s_challenge_authenticator (self, request, reply, challenge->user_id, challenge);
    if (rc == 0 && challenge->otp) {
        json_object_set_new (pst_msg_body (reply), "challenge_type", json_string ("otp"));
        json_decref (token);
        return 0;
    }
    if (rc == 0)
        rc = s_send_allowed (self, reply, challenge, outcome);
    if (rc == 0)
        rc = s_challenge_make (self, reply, s_token_str (token, "hash"), challenge);
    json_decref (token);
    return rc;
}

int
mfa_flow_challenge (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    s_challenge_t challenge = { 0 };
    int rc = mfa_worker_transact (self, request, reply, s_challenge_txn, &challenge,
                                  NULL, "gd_challenge_refused");
    if (rc == 0 && !challenge.otp) {
        json_t *answer = json_pack ("{s:s, s:s, s:s}", "challenge_type", "oob",
                                    "oob_code", challenge.oob_code, "binding_method", "prompt");
        rc = answer? s_challenge_deliver (self, request, reply, &challenge, answer)
                   : pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
        json_decref (answer);
    }
    s_challenge_wipe (&challenge);
    return rc;
}

//  ---------------------------------------------------------------------------
//  tokens.void_client

static int
s_void_client_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                   void *args, mfa_outcome_t *outcome)
{
    (void) args;
    (void) outcome;
    const char *client_id = pst_msg_get_str (request, "client_id");
    int voided = mfa_store_tokens_void_client (mfa_worker_store (self), client_id,
                                               mfa_worker_now_ms (self));
    if (voided < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_object_set_new (pst_msg_body (reply), "voided", json_integer (voided));
    return 0;
}

int
mfa_flow_void_client (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    int rc = mfa_worker_transact (self, request, reply, s_void_client_txn, NULL, NULL, NULL);
    if (rc == 0) {
        char count [24];
        snprintf (count, sizeof count, "%" JSON_INTEGER_FORMAT,
                  json_integer_value (json_object_get (pst_msg_body (reply), "voided")));
        pst_log (PST_LOG_INFO, "mfa_tokens_voided",
                 "client_id", pst_msg_get_str (request, "client_id"), "count", count, NULL);
    }
    return rc;
}
