/*  mfa_templates - the Management API's email templates, on mfa: GET, PATCH
    and PUT /api/v2/email-templates/{name}. Postern sends one email, so only
    mfa_oob_code is kept (docs/auth0.md). A template is checked as a whole
    before it is stored (mfa_template_check): one that could not render is
    refused with 400 and changes nothing, so a challenge never fails on it.
    Workers pick a saved template up at their next challenge (mfa_message).
*/
#ifndef MFA_TEMPLATES_H_INCLUDED
#define MFA_TEMPLATES_H_INCLUDED

#include "pst_bus.h"

//  email_templates.get: id = template name. 404 when none is stored.
int
    mfa_templates_get (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  email_templates.update (PATCH): the given members over the stored template;
//  404 when none is stored.
int
    mfa_templates_update (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  email_templates.set (PUT): the template as given, the members left out at
//  their defaults (the default subject and body, syntax liquid, enabled).
int
    mfa_templates_set (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
