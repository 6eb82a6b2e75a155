#include "mfa_authenticators.h"
#include "mfa_verify.h"
#include "mfa_worker.h"
#include "pst_crypto.h"
#include "pst_email.h"
#include "pst_error.h"
#include "pst_json.h"
#include <sodium.h>
#include <string.h>

#define MFA_MASK            "*****"
#define MFA_ID_MAX          256     //  path ids: the gateway's capture limit
#define MFA_NAME_SIZE       (PST_EMAIL_MAX + sizeof MFA_MASK)

//  How each stored type shows, in list order: to the user through the MFA API
//  (authenticator_type, oob_channel) and to an administrator through the
//  Management API (type). Types not listed here are not shown.
static const struct {
    const char *type;
    const char *authenticator_type;
    const char *oob_channel;
    const char *method_type;
} s_kinds [] = {
    { "recovery-code",  "recovery-code",    NULL,       "recovery-code" },
    { "email",          "oob",              "email",    "email" },
    { "otp",            "otp",              NULL,       "totp" },
};

static const char *
s_str (const json_t *object, const char *key)
{
    return json_string_value (json_object_get (object, key));
}

void
mfa_authenticators_mask_email (const char *email, char *out, size_t size)
{
    if (!size)
        return;
    //  Every stored address passed this rule at association; anything else is
    //  data we cannot vouch for, so none of it is shown
    if (!pst_email_valid (email)) {
        snprintf (out, size, "%s", MFA_MASK);
        return;
    }
    const char *at = strchr (email, '@');
    int keep = at - email >= 4? 2: 1;
    snprintf (out, size, "%.*s%s%s", keep, email, MFA_MASK, at);
}

//  Calls view for each of the user's authenticators in s_kinds order and
//  collects what it returns (NULL skips the row). NULL on a database error.
static json_t *
s_collect (mfa_worker_t *self, const char *user_id,
           json_t *(*view) (const json_t *row, size_t kind))
{
    json_t *rows = mfa_store_authenticators (mfa_worker_store (self), user_id);
    if (!rows)
        return NULL;
    json_t *result = json_array ();
    for (size_t kind = 0; kind < sizeof s_kinds / sizeof s_kinds [0]; kind++) {
        size_t index;
        json_t *row;
        json_array_foreach (rows, index, row) {
            const char *type = s_str (row, "type");
            if (type && streq (type, s_kinds [kind].type)) {
                json_t *item = view (row, kind);
                if (item)
                    json_array_append_new (result, item);
            }
        }
    }
    json_decref (rows);
    return result;
}

static int
s_set_result (pst_msg_t *reply, json_t *result)
{
    if (!result)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_object_set_new (pst_msg_body (reply), "result", result);
    return 0;
}

//  Inside the caller's transaction: deletes the user's authenticator id. The
//  last active second factor takes the rest of the enrolment with it, because
//  associate refuses a user who still holds an active authenticator and the
//  user must be able to enrol again. 1 deleted, 0 the user has no such
//  authenticator, -1 error.
static int
s_delete_one (mfa_store_t *store, const char *user_id, const char *id)
{
    int deleted = mfa_store_authenticator_delete (store, user_id, id);
    if (deleted != 1)
        return deleted;
    int enrolled = mfa_store_has_second_factor (store, user_id);
    if (enrolled < 0 || (enrolled == 0 && mfa_store_authenticators_delete_all (store, user_id) < 0))
        return -1;
    return 1;
}

//  What a deletion or regeneration works on, and what its audit says
typedef struct {
    const char *user_id;
    const char *id;             //  the authenticator, or NULL for all of them
    const char *client_id;      //  for the audit: the administrator, or NULL
    const char *not_found;      //  the 404 text
    char detail [MFA_ID_MAX + 32];
} s_target_t;

static void
s_outcome (const s_target_t *target, mfa_outcome_t *outcome)
{
    snprintf (outcome->user_id, sizeof outcome->user_id, "%s", target->user_id);
    snprintf (outcome->client_id, sizeof outcome->client_id, "%s",
              target->client_id? target->client_id: "");
}

static int
s_delete_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
              void *args, mfa_outcome_t *outcome)
{
    (void) request;
    s_target_t *target = (s_target_t *) args;
    s_outcome (target, outcome);
    mfa_store_t *store = mfa_worker_store (self);
    int deleted = target->id? s_delete_one (store, target->user_id, target->id)
                            : mfa_store_authenticators_delete_all (store, target->user_id);
    if (deleted < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (deleted == 0 && target->id)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "%s", target->not_found);
    //  Authenticator ids are not secrets: the audit says which one went
    if (target->id)
        snprintf (target->detail, sizeof target->detail, "deleted %s", target->id);
    else
        snprintf (target->detail, sizeof target->detail,
                  "deleted all authentication methods (%d)", deleted);
    outcome->detail = target->detail;
    return 0;
}

static int
s_delete (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply, s_target_t *target)
{
    return mfa_worker_transact_last (self, request, reply, s_delete_txn, target,
                                     "gd_unenroll", "gd_unenroll");
}

//  ---------------------------------------------------------------------------
//  MFA API: the user's own authenticators

//  The user an MFA API request is about: the mfa_token's user, or else the
//  verified access token's subject (whose scope the catalogue's row has
//  checked). Caller frees; NULL after failing reply.
static char *
s_api_user (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply)
{
    if (pst_json_str (pst_msg_body (request), "mfa_token")) {
        json_t *token = mfa_worker_token (self, request, reply, MFA_TOKEN_BEARER, NULL);
        const char *user_id = s_str (token, "user_id");
        char *copy = user_id? strdup (user_id): NULL;
        json_decref (token);
        if (token && !copy)
            pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
        return copy;
    }
    const char *caller = pst_msg_caller (request);
    if (!caller || !*caller) {
        pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "Missing authentication");
        return NULL;
    }
    char *copy = strdup (caller);
    if (!copy)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    return copy;
}

static json_t *
s_api_view (const json_t *row, size_t kind)
{
    json_t *item = json_pack ("{s:s, s:s}", "id", s_str (row, "id"),
                              "authenticator_type", s_kinds [kind].authenticator_type);
    if (item && s_kinds [kind].oob_channel) {
        char name [MFA_NAME_SIZE];
        mfa_authenticators_mask_email (s_str (row, "email"), name, sizeof name);
        json_object_set_new (item, "oob_channel", json_string (s_kinds [kind].oob_channel));
        json_object_set_new (item, "name", json_string (name));
    }
    if (item)
        json_object_set (item, "active", json_object_get (row, "active"));
    return item;
}

int
mfa_authenticators_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    char *user_id = s_api_user (self, request, reply);
    if (!user_id)
        return -1;
    int rc = s_set_result (reply, s_collect (self, user_id, s_api_view));
    free (user_id);
    return rc;
}

int
mfa_authenticators_delete (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    //  Only an access token removes authenticators (contract §5): the op table
    //  demands remove:authenticators, which no mfa_token carries
    const char *user_id = pst_msg_caller (request);
    const char *id = pst_msg_get_str (request, "id");
    if (!user_id || !*user_id)
        return pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "Missing authentication");
    s_target_t target = { user_id, id, NULL, "Authenticator not found", "" };
    return s_delete (self, request, reply, &target);
}

//  ---------------------------------------------------------------------------
//  Management API: any user's authentication methods

static json_t *
s_mgmt_view (const json_t *row, size_t kind)
{
    char created [MFA_ISO8601_SIZE];
    mfa_store_iso8601 (json_integer_value (json_object_get (row, "created_at")), created);
    json_t *item = json_pack ("{s:s, s:s, s:O}", "id", s_str (row, "id"),
                              "type", s_kinds [kind].method_type,
                              "confirmed", json_object_get (row, "active"));
    //  An administrator sees the address itself
    if (item && s_str (row, "email"))
        json_object_set_new (item, "email", json_string (s_str (row, "email")));
    if (item)
        json_object_set_new (item, "created_at", json_string (created));
    return item;
}

int
mfa_authenticators_methods_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *user_id = pst_msg_get_str (request, "id");
    return s_set_result (reply, s_collect (self, user_id, s_mgmt_view));
}

//  Auth0's Guardian enrollment: an authenticator app is "authenticator"
static json_t *
s_enrollment_view (const json_t *row, size_t kind)
{
    if (streq (s_kinds [kind].type, "recovery-code"))
        return NULL;
    char created [MFA_ISO8601_SIZE];
    mfa_store_iso8601 (json_integer_value (json_object_get (row, "created_at")), created);
    const char *method = streq (s_kinds [kind].type, "otp")? "authenticator": "email";
    json_t *item = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "id", s_str (row, "id"),
        "status", json_is_true (json_object_get (row, "active"))? "confirmed": "pending",
        "type", method, "auth_method", method, "enrolled_at", created);
    if (item && s_str (row, "email"))
        json_object_set_new (item, "identifier", json_string (s_str (row, "email")));
    return item;
}

int
mfa_authenticators_enrollments_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *user_id = pst_msg_get_str (request, "id");
    return s_set_result (reply, s_collect (self, user_id, s_enrollment_view));
}

int
mfa_authenticators_enrollments_delete (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *id = pst_msg_get_str (request, "id");
    //  The path names no user: the enrollment's owner, read before the
    //  transaction; the deletion itself matches both, so a race only finds none
    int failed = 0;
    char *owner = mfa_store_enrollment_owner (mfa_worker_store (self), id, &failed);
    if (failed)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (!owner)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "Enrollment not found");
    s_target_t target = { owner, id, pst_msg_caller (request), "Enrollment not found", "" };
    int rc = s_delete (self, request, reply, &target);
    free (owner);
    return rc;
}

int
mfa_authenticators_methods_delete (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *user_id = pst_msg_get_str (request, "id");
    const char *id = pst_msg_get_str (request, "sub_id");
    s_target_t target = { user_id, id, pst_msg_caller (request),
                          "The authentication method does not exist.", "" };
    return s_delete (self, request, reply, &target);
}

int
mfa_authenticators_methods_delete_all (void *worker, const pst_msg_t *request,
                                       pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *user_id = pst_msg_get_str (request, "id");
    s_target_t target = { user_id, NULL, pst_msg_caller (request), NULL, "" };
    return s_delete (self, request, reply, &target);
}

//  ---------------------------------------------------------------------------
//  The first recovery code, at association

int
mfa_authenticators_further_allowed (mfa_store_t *store, pst_msg_t *reply, const char *user_id,
                                    const char *type)
{
    int enrolled = mfa_store_has_second_factor (store, user_id);
    int same = enrolled == 1? mfa_store_has_active (store, user_id, type): 0;
    if (enrolled < 0 || same < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    //  The first authenticator comes with a sign-in's mfa_token: an access token
    //  that needed no second factor proves too little to choose one
    if (!enrolled)
        return pst_msg_fail (reply, PST_ERR_ACCESS_DENIED,
                             "Enrol a first authenticator with the mfa_token of a sign-in.");
    if (same)
        return pst_msg_fail (reply, PST_ERR_ACCESS_DENIED,
                             "The user already has an active %s authenticator.", type);
    return 0;
}

int
mfa_authenticators_recovery_prepare (mfa_store_t *store, const char *user_id, int64_t now,
                                     char **code_p)
{
    *code_p = NULL;
    int enabled = mfa_store_factor_enabled (store, "recovery-code");
    if (enabled <= 0)
        return enabled < 0? -1: 0;
    char code [MFA_RECOVERY_LENGTH + 1], hash [65];
    pst_random_string (code, MFA_RECOVERY_LENGTH, MFA_RECOVERY_ALPHABET);
    pst_sha256_hex (code, strlen (code), hash);
    char *id = mfa_worker_authenticator_id ("recovery-code");
    int rc = !id
          || mfa_store_authenticator_drop_inactive (store, user_id, "recovery-code")
          || mfa_store_authenticator_insert (store, id, user_id, "recovery-code", NULL, 0, now)
          || mfa_store_recovery_set (store, user_id, hash, now);
    free (id);
    *code_p = rc == 0? strdup (code): NULL;
    sodium_memzero (code, sizeof code);
    return rc == 0 && *code_p? 0: -1;
}

//  ---------------------------------------------------------------------------
//  Management API: recovery code regeneration

//  The user's recovery-code authenticator, active; made anew when the user
//  removed it. 0 or -1.
static int
s_recovery_authenticator (mfa_store_t *store, const char *user_id, int64_t now)
{
    int present = mfa_store_has_active (store, user_id, "recovery-code");
    if (present != 0)
        return present < 0? -1: 0;
    char *id = mfa_worker_authenticator_id ("recovery-code");
    int rc = !id
          || mfa_store_authenticator_drop_inactive (store, user_id, "recovery-code")
          || mfa_store_authenticator_insert (store, id, user_id, "recovery-code", NULL, 1, now);
    free (id);
    return rc? -1: 0;
}

static int
s_regenerate_txn (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                  void *args, mfa_outcome_t *outcome)
{
    (void) request;
    s_target_t *target = (s_target_t *) args;
    s_outcome (target, outcome);
    mfa_store_t *store = mfa_worker_store (self);
    int enrolled = mfa_store_has_second_factor (store, target->user_id);
    int enabled = mfa_store_factor_enabled (store, "recovery-code");
    if (enrolled < 0 || enabled < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    //  A code for a user who is not enrolled would open nothing; it would only
    //  stop the next enrolment from handing out the first code
    if (!enrolled)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user has no MFA enrolment.");
    if (!enabled)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The recovery-code factor is not enabled.");
    int64_t now = mfa_worker_now_ms (self);
    char code [MFA_RECOVERY_LENGTH + 1], hash [65];
    pst_random_string (code, MFA_RECOVERY_LENGTH, MFA_RECOVERY_ALPHABET);
    pst_sha256_hex (code, strlen (code), hash);
    int rc = s_recovery_authenticator (store, target->user_id, now)
          || mfa_store_recovery_set (store, target->user_id, hash, now);
    if (rc)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    else {
        json_object_set_new (pst_msg_body (reply), "recovery_code", json_string (code));
        outcome->detail = "recovery code regenerated";
    }
    sodium_memzero (code, sizeof code);
    return rc? -1: 0;
}

int
mfa_authenticators_recovery_regenerate (void *worker, const pst_msg_t *request,
                                        pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const char *user_id = pst_msg_get_str (request, "id");
    s_target_t target = { user_id, NULL, pst_msg_caller (request), NULL, "" };
    return mfa_worker_transact_last (self, request, reply, s_regenerate_txn, &target,
                                     "gd_update_device_account", "gd_update_device_account");
}
