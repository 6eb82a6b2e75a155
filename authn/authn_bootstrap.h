/*  authn_bootstrap - what authn.db must hold before any worker serves.

    Runs at every start, before the workers, so that they never race to create
    any of it: the migrations, the signing key, the Management API and the MFA
    API (system resource servers, which the API cannot change or delete; at
    every start their scopes are set to the catalogue's, and the Management
    API's token lifetime to POSTERN_MGMT_TOKEN_LIFETIME_S) and the management
    application, holding every Management API scope. The
    application's credentials are written to the bootstrap file (mode 0600)
    when it is created; when that file has gone, the application gets a new
    secret, written out afresh (the old one is only stored hashed).
*/
#ifndef AUTHN_BOOTSTRAP_H_INCLUDED
#define AUTHN_BOOTSTRAP_H_INCLUDED

#include "authn_config.h"

//  management_scopes: every Management API scope; mfa_scopes: the MFA API's.
//  Both NULL-terminated. 0 or -1.
int
    authn_bootstrap_run (const authn_config_t *config, const char *const *management_scopes,
                         const char *const *mfa_scopes);

#endif
