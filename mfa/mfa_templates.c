#include "mfa_templates.h"
#include "mfa_message.h"
#include "mfa_template.h"
#include "mfa_worker.h"
#include "pst_error.h"
#include "pst_payload.h"
#include <string.h>

#define RESULT_URL_MAX      2048
#define URL_LIFETIME_MAX    2592000     //  30 days, as Auth0's ticket lifetimes

//  The members of Auth0's email template, all of which are kept (resultUrl,
//  urlLifetimeInSeconds and includeEmailInRedirect mean nothing to a code mail
//  but are stored and given back, as tools that copy a tenant expect)
static const char *const s_members [] = {
    "template", "body", "from", "subject", "syntax", "enabled",
    "resultUrl", "urlLifetimeInSeconds", "includeEmailInRedirect", NULL
};

static int
s_invalid (pst_msg_t *reply, const char *member, const char *why)
{
    return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s %s",
                         member, why);
}

//  A template part: a string that renders whatever the values (the check says
//  why not, and that goes back to the caller)
static int
s_check_part (pst_msg_t *reply, const json_t *value, const char *member,
              mfa_template_mode_t mode, size_t output_max)
{
    if (!json_is_string (value) || json_string_length (value) == 0
    ||  strlen (json_string_value (value)) != json_string_length (value))
        return s_invalid (reply, member, "must be a non-empty string");
    char error [200];
    if (mfa_template_check (json_string_value (value), mode, output_max, error, sizeof error))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: the %s cannot be rendered: %s",
                             member, error);
    return 0;
}

//  Checks every member of the template document as it would be stored.
static int
s_check (pst_msg_t *reply, const json_t *document, const char *name)
{
    const json_t *value;
    if ((value = json_object_get (document, "template"))
    &&  !(json_is_string (value) && strcmp (json_string_value (value), name) == 0))
        return s_invalid (reply, "template", "must be the template's name in the path");
    if ((value = json_object_get (document, "syntax"))
    &&  !(json_is_string (value) && strcmp (json_string_value (value), "liquid") == 0))
        return s_invalid (reply, "syntax", "must be \"liquid\"");
    if (s_check_part (reply, json_object_get (document, "body"), "body",
                      MFA_TEMPLATE_HTML, MFA_TEMPLATE_MAX_OUTPUT)
    ||  s_check_part (reply, json_object_get (document, "subject"), "subject",
                      MFA_TEMPLATE_HEADER, MFA_TEMPLATE_SUBJECT_MAX))
        return -1;
    value = json_object_get (document, "from");
    if (value && !json_is_null (value)
    &&  !(json_is_string (value) && (json_string_length (value) == 0
           || (strlen (json_string_value (value)) == json_string_length (value)
               && mfa_template_mailbox_valid (json_string_value (value))))))
        return s_invalid (reply, "from",
                          "must be an address or \"Name <address>\" (no quotes or line breaks)");
    if (!json_is_boolean (json_object_get (document, "enabled")))
        return s_invalid (reply, "enabled", "must be a boolean");
    value = json_object_get (document, "resultUrl");
    if (value && !json_is_null (value)
    &&  !(json_is_string (value) && json_string_length (value) <= RESULT_URL_MAX))
        return s_invalid (reply, "resultUrl", "must be a string of at most 2048 characters");
    value = json_object_get (document, "urlLifetimeInSeconds");
    if (value && !json_is_null (value)
    &&  !(json_is_integer (value) && json_integer_value (value) >= 0
          && json_integer_value (value) <= URL_LIFETIME_MAX))
        return s_invalid (reply, "urlLifetimeInSeconds", "must be an integer from 0 to 2592000");
    value = json_object_get (document, "includeEmailInRedirect");
    if (value && !json_is_null (value) && !json_is_boolean (value))
        return s_invalid (reply, "includeEmailInRedirect", "must be a boolean");
    return 0;
}

//  The template's name from the path: only mfa_oob_code is kept. 0, or -1
//  after failing reply with status (not_found, or bad_request for a PUT).
static int
s_name (const pst_msg_t *request, pst_msg_t *reply, const char *refusal)
{
    const char *name = json_string_value (json_object_get (pst_msg_body (request), "id"));
    if (name && strcmp (name, MFA_MESSAGE_TEMPLATE) == 0)
        return 0;
    if (strcmp (refusal, PST_ERR_NOT_FOUND) == 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The template does not exist.");
    return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                         "Postern sends only the mfa_oob_code email: no other template is kept.");
}

static json_t *
s_stored (mfa_worker_t *self, pst_msg_t *reply)
{
    int64_t generation = 0;
    int failed = 0;
    json_t *document = mfa_store_template_get (mfa_worker_store (self), MFA_MESSAGE_TEMPLATE,
                                               &generation, &failed);
    if (failed)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    else
    if (!document)
        pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The template does not exist.");
    return document;
}

//  Checks and stores document (taken), and answers it.
static int
s_save (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply, json_t *document)
{
    int rc = s_check (reply, document, MFA_MESSAGE_TEMPLATE);
    json_object_set_new (document, "template", json_string (MFA_MESSAGE_TEMPLATE));
    if (rc == 0 && mfa_store_template_put (mfa_worker_store (self), MFA_MESSAGE_TEMPLATE,
                                           document, mfa_worker_now_ms (self)))
        rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    mfa_worker_audit (self, request, "gd_tenant_update", NULL, pst_msg_caller (request),
                      rc? "failure": "success",
                      rc? "email template mfa_oob_code refused"
                        : "email template mfa_oob_code saved");
    if (rc == 0)
        pst_msg_set_body (reply, &document);
    json_decref (document);
    return rc;
}

int
mfa_templates_get (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    if (s_name (request, reply, PST_ERR_NOT_FOUND))
        return -1;
    json_t *document = s_stored (self, reply);
    if (!document)
        return -1;
    pst_msg_set_body (reply, &document);
    return 0;
}

int
mfa_templates_update (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *data = json_object_get (pst_msg_body (request), "data");
    if (s_name (request, reply, PST_ERR_NOT_FOUND)
    ||  pst_payload_only (reply, data, s_members, PST_PAYLOAD_NAME_WORD))
        return -1;
    json_t *document = s_stored (self, reply);
    if (!document)
        return -1;
    json_object_update (document, (json_t *) data);
    return s_save (self, request, reply, document);
}

int
mfa_templates_set (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    const json_t *data = json_object_get (pst_msg_body (request), "data");
    if (s_name (request, reply, PST_ERR_BAD_REQUEST)
    ||  pst_payload_only (reply, data, s_members, PST_PAYLOAD_NAME_WORD))
        return -1;
    json_t *document = json_pack ("{s:s, s:s, s:s, s:b}",
        "body", mfa_template_default_html, "subject", mfa_template_default_subject,
        "syntax", "liquid", "enabled", 1);
    if (!document)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    json_object_update (document, (json_t *) data);
    return s_save (self, request, reply, document);
}
