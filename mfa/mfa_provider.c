#include "mfa_provider.h"
#include "mfa_seal.h"
#include "mfa_template.h"
#include "mfa_worker.h"
#include "pst_error.h"
#include "pst_payload.h"
#include <string.h>

//  The password's key: the code key's subkey 3 (replies 1, otp secrets 2)
#define PROVIDER_SUBKEY     3
#define PROVIDER_CONTEXT    "pst-smtp"
//  The associated data: the one provider row
#define PROVIDER_AD         "email_provider"
#define HOST_MAX            253
#define USER_MAX            256
#define PASS_MAX            256

static const char *const s_members [] = {
    "name", "enabled", "default_from_address", "credentials", NULL
};
static const char *const s_credentials [] = {
    "smtp_host", "smtp_port", "smtp_user", "smtp_pass", NULL
};

static int
s_invalid (pst_msg_t *reply, const char *member, const char *why)
{
    return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s %s",
                         member, why);
}

//  A string with no NUL inside, of 1 to max bytes
static int
s_text_ok (const json_t *value, size_t max)
{
    return json_is_string (value) && json_string_length (value) > 0
        && json_string_length (value) <= max
        && strlen (json_string_value (value)) == json_string_length (value);
}

//  The body's members, checked before anything is merged; credentials stay
//  the caller's to check whole (s_check)
static int
s_check_body (pst_msg_t *reply, const json_t *data)
{
    if (!json_is_object (data))
        return s_invalid (reply, "body", "must be an object");
    if (pst_payload_only (reply, data, s_members, PST_PAYLOAD_NAME_WORD))
        return -1;
    const json_t *credentials = json_object_get (data, "credentials");
    if (credentials && !json_is_object (credentials))
        return s_invalid (reply, "credentials", "must be an object");
    if (credentials && pst_payload_only (reply, credentials, s_credentials,
                                        PST_PAYLOAD_NAME_WORD))
        return -1;
    const json_t *pass = json_object_get (credentials, "smtp_pass");
    if (pass && !(s_text_ok (pass, PASS_MAX)))
        return s_invalid (reply, "credentials.smtp_pass", "must be a string of 1 to 256 bytes");
    return 0;
}

//  The document as it would be stored (no password in it)
static int
s_check (pst_msg_t *reply, const json_t *document)
{
    const json_t *value = json_object_get (document, "name");
    if (!json_is_string (value))
        return s_invalid (reply, "name", "is required");
    if (strcmp (json_string_value (value), "smtp") != 0)
        return s_invalid (reply, "name", "must be \"smtp\": Postern's mailer speaks SMTP only");
    if (!json_is_boolean (json_object_get (document, "enabled")))
        return s_invalid (reply, "enabled", "must be a boolean");
    value = json_object_get (document, "default_from_address");
    if (!(s_text_ok (value, 512) && mfa_template_mailbox_valid (json_string_value (value))))
        return s_invalid (reply, "default_from_address",
                          "must be an address or \"Name <address>\" (no quotes or line breaks)");
    const json_t *credentials = json_object_get (document, "credentials");
    value = json_object_get (credentials, "smtp_host");
    const char *host = json_string_value (value);
    if (!s_text_ok (value, HOST_MAX) || host [0] == '-' || host [0] == '.'
    ||  strspn (host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
            != strlen (host))
        return s_invalid (reply, "credentials.smtp_host", "must be a host name or IPv4 address");
    value = json_object_get (credentials, "smtp_port");
    if (!json_is_integer (value) || json_integer_value (value) < 1
    ||  json_integer_value (value) > 65535)
        return s_invalid (reply, "credentials.smtp_port", "must be an integer from 1 to 65535");
    value = json_object_get (credentials, "smtp_user");
    if (value && !json_is_null (value)
    &&  !(s_text_ok (value, USER_MAX) && strcspn (json_string_value (value), "\r\n")
                                         == json_string_length (value)))
        return s_invalid (reply, "credentials.smtp_user",
                          "must be a string of 1 to 256 bytes on one line");
    return 0;
}

//  Fails reply for a read that found nothing or failed
static json_t *
s_stored (mfa_worker_t *self, pst_msg_t *reply, uint8_t **sealed_p, size_t *size_p)
{
    int64_t generation = 0;
    int failed = 0;
    json_t *document = mfa_store_provider_get (mfa_worker_store (self), &generation,
                                               sealed_p, size_p, &failed);
    if (failed)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    else
    if (!document)
        pst_msg_fail (reply, PST_ERR_NOT_FOUND, "There is not a configured email provider.");
    return document;
}

//  Checks document (taken), seals the body's password if it has one (else
//  keeps sealed), stores, and answers the document without the password.
static int
s_save (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply, json_t *document,
        int insert, const uint8_t *sealed, size_t sealed_size)
{
    json_t *credentials = json_object_get (document, "credentials");
    const char *pass = json_string_value (json_object_get (credentials, "smtp_pass"));
    uint8_t fresh [PASS_MAX + MFA_SEAL_OVERHEAD];
    if (pass) {
        uint8_t key [MFA_CODE_KEY_SIZE];
        mfa_worker_derive_key (self, PROVIDER_SUBKEY, PROVIDER_CONTEXT, key);
        mfa_seal (key, PROVIDER_AD, (const uint8_t *) pass, strlen (pass), fresh);
        sodium_memzero (key, sizeof key);
        sealed = fresh;
        sealed_size = strlen (pass) + MFA_SEAL_OVERHEAD;
        json_object_del (credentials, "smtp_pass");
    }
    int rc = s_check (reply, document);
    if (rc == 0) {
        int stored = mfa_store_provider_put (mfa_worker_store (self), insert, document,
                                             sealed, sealed_size, mfa_worker_now_ms (self));
        if (stored < 0)
            rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        else
        if (stored == 0 && insert)
            rc = pst_msg_fail (reply, PST_ERR_CONFLICT, "An email provider is already configured.");
        else
        if (stored == 0)
            rc = pst_msg_fail (reply, PST_ERR_NOT_FOUND, "There is not a configured email provider.");
    }
    mfa_worker_audit (self, request, "gd_tenant_update", NULL, pst_msg_caller (request),
                      rc? "failure": "success",
                      rc? "email provider refused": "email provider saved");
    if (rc == 0)
        pst_msg_set_body (reply, &document);
    json_decref (document);
    return rc;
}

int
mfa_provider_get (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *document = s_stored ((mfa_worker_t *) worker, reply, NULL, NULL);
    if (!document)
        return -1;
    pst_msg_set_body (reply, &document);
    return 0;
}

int
mfa_provider_create (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *data = json_object_get (pst_msg_body (request), "data");
    if (s_check_body (reply, data))
        return -1;
    //  enabled defaults to true, as Auth0's
    json_t *document = json_pack ("{s:b}", "enabled", 1);
    if (!document)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    json_object_update (document, (json_t *) data);
    json_t *credentials = json_object_get (document, "credentials");
    if (credentials)
        json_object_set_new (document, "credentials", json_deep_copy (credentials));
    return s_save (self, request, reply, document, 1, NULL, 0);
}

int
mfa_provider_update (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *data = json_object_get (pst_msg_body (request), "data");
    if (s_check_body (reply, data))
        return -1;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    json_t *document = s_stored (self, reply, &sealed, &sealed_size);
    if (!document)
        return -1;
    json_t *credentials = json_object_get (document, "credentials");
    if (!json_is_object (credentials)) {
        credentials = json_object ();
        json_object_set_new (document, "credentials", credentials);
    }
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) data, key, value)
        if (strcmp (key, "credentials") != 0)
            json_object_set (document, key, value);
    json_object_update (credentials, json_object_get (data, "credentials"));
    int rc = s_save (self, request, reply, document, 0, sealed, sealed_size);
    free (sealed);
    return rc;
}

json_t *
mfa_provider_for_mailer (mfa_store_t *store, const uint8_t code_key [32])
{
    int64_t generation = 0;
    int failed = 0;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    json_t *document = mfa_store_provider_get (store, &generation, &sealed, &sealed_size,
                                               &failed);
    if (failed)
        return NULL;
    if (!document) {
        free (sealed);
        return json_pack ("{s:I}", "generation", (json_int_t) 0);
    }
    json_object_set_new (document, "generation", json_integer ((json_int_t) generation));
    if (sealed) {
        uint8_t key [MFA_CODE_KEY_SIZE];
        crypto_kdf_derive_from_key (key, sizeof key, PROVIDER_SUBKEY, PROVIDER_CONTEXT, code_key);
        uint8_t plain [PASS_MAX + 1];
        long size = sealed_size <= PASS_MAX + MFA_SEAL_OVERHEAD
                  ? mfa_seal_open (key, PROVIDER_AD, sealed, sealed_size, plain): -1;
        sodium_memzero (key, sizeof key);
        free (sealed);
        json_t *credentials = json_object_get (document, "credentials");
        if (size < 0 || !json_is_object (credentials)) {
            json_decref (document);
            return NULL;
        }
        json_object_set_new (credentials, "smtp_pass", json_stringn ((char *) plain, size));
        sodium_memzero (plain, sizeof plain);
    }
    return document;
}
