/*  authn_discovery - /.well-known/openid-configuration: the discovery document
    of what is served, and nothing else (OpenID Connect Discovery 1.0, RFC 8414).
*/
#ifndef AUTHN_DISCOVERY_H_INCLUDED
#define AUTHN_DISCOVERY_H_INCLUDED

#include "pst_msg.h"

//  oidc.configuration
int
    authn_discovery_document (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
