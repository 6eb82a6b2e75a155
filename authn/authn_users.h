/*  authn_users - the Management API's users (contract §6): create, list,
    find by email, get, update and delete, and the way to a user's MFA state
    kept by mfa. Scopes and required members are checked centrally from the
    operation catalogue before these run.

    What is stored, and how a row reads, is authn_store's; here are the checks
    and the rules: a password is stored only as its argon2id hash, and a
    user's MFA state goes before the user.
*/
#ifndef AUTHN_USERS_H_INCLUDED
#define AUTHN_USERS_H_INCLUDED

#include "authn_admin.h"

AUTHN_HANDLER (authn_users_create);
AUTHN_HANDLER (authn_users_list);
//  Auth0's users-by-email: the users with that address, an array (empty when none)
AUTHN_HANDLER (authn_users_by_email);
AUTHN_HANDLER (authn_users_get);
AUTHN_HANDLER (authn_users_update);
AUTHN_HANDLER (authn_users_delete);
//  A user's MFA state kept by mfa (authentication methods, recovery code):
//  404 for an unknown user, as Auth0 answers, else forwarded to mfa as it came.
AUTHN_HANDLER (authn_users_mfa);

#endif
