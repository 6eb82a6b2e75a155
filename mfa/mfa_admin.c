#include "mfa_admin.h"
#include "mfa_worker.h"
#include "pst_error.h"
#include <string.h>

//  Every factor Auth0 lists, and whether this build can turn it on
static const struct {
    const char *name;
    int supported;
} s_factors [] = {
    { "email", 1 },
    { "otp", 1 },
    { "recovery-code", 1 },
    { "sms", 0 },
    { "push-notification", 0 },
    { "duo", 0 },
    { "webauthn-roaming", 0 },
    { "webauthn-platform", 0 },
};

static const char *s_policies [] = { "all-applications", NULL };

static int
s_set_result (pst_msg_t *reply, json_t *result)
{
    if (!result)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_object_set_new (pst_msg_body (reply), "result", result);
    return 0;
}

//  Audit of a management change: the caller is the access token's subject.
static void
s_audit (mfa_worker_t *self, const pst_msg_t *request, const char *detail, int failed)
{
    mfa_worker_audit (self, request, "gd_tenant_update", NULL, pst_msg_caller (request),
                      failed? "failure": "success", detail);
}

int
mfa_admin_factors_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    return s_set_result (reply, mfa_store_factors (mfa_worker_store ((mfa_worker_t *) worker)));
}

int
mfa_admin_factors_update (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *body = pst_msg_body (request);
    const char *name = json_string_value (json_object_get (body, "id"));
    json_t *enabled = json_object_get (json_object_get (body, "data"), "enabled");
    int known = -1;
    for (size_t i = 0; name && i < sizeof s_factors / sizeof s_factors [0]; i++)
        if (streq (name, s_factors [i].name))
            known = (int) i;
    if (known < 0)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Unknown factor: %.64s",
                             name? name: "(none)");
    if (!json_is_boolean (enabled))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: 'enabled' must be a boolean.");
    if (json_is_true (enabled) && !s_factors [known].supported) {
        s_audit (self, request, "factor not supported", 1);
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Factor %s is not supported yet", name);
    }
    if (mfa_store_factor_set (mfa_worker_store (self), name, json_is_true (enabled)))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    s_audit (self, request, json_is_true (enabled)? "factor enabled": "factor disabled", 0);
    json_object_set_new (pst_msg_body (reply), "enabled", json_boolean (json_is_true (enabled)));
    return 0;
}

int
mfa_admin_policies_get (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    return s_set_result (reply, mfa_store_policies (mfa_worker_store ((mfa_worker_t *) worker)));
}

int
mfa_admin_policies_set (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    json_t *names = json_object_get (pst_msg_body (request), "data");
    if (!json_is_array (names))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: expected an array of policy names.");
    size_t index;
    json_t *name;
    json_array_foreach (names, index, name) {
        int known = 0;
        for (int i = 0; json_is_string (name) && s_policies [i]; i++)
            known |= streq (json_string_value (name), s_policies [i]);
        if (!known)
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                                 "Payload validation error: unknown policy.");
    }
    mfa_store_t *store = mfa_worker_store (self);
    if (mfa_store_begin (store))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    if (mfa_store_policies_set (store, names) || mfa_store_commit (store)) {
        mfa_store_rollback (store);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    s_audit (self, request, json_array_size (names)? "policy all-applications": "policy none", 0);
    return s_set_result (reply, mfa_store_policies (store));
}
