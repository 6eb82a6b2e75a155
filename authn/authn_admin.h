/*  authn_admin - Management API v2 handlers owned by authn: clients, client
    grants and resource servers (contract §6; users are authn_users'). Scopes
    are checked centrally from the op table before these run.

    What is stored, and how a row reads, is authn_store's; here are the checks
    and the rules: the management application and the system APIs stay as they
    are, and a client secret is issued and shown once.
*/
#ifndef AUTHN_ADMIN_H_INCLUDED
#define AUTHN_ADMIN_H_INCLUDED

#include "authn_store.h"
#include "pst_msg.h"
#include <jansson.h>

#define AUTHN_HANDLER(name) \
    int name (void *worker, const pst_msg_t *request, pst_msg_t *reply)

AUTHN_HANDLER (authn_admin_clients_create);
AUTHN_HANDLER (authn_admin_clients_list);
AUTHN_HANDLER (authn_admin_clients_get);
AUTHN_HANDLER (authn_admin_clients_update);
AUTHN_HANDLER (authn_admin_clients_delete);
AUTHN_HANDLER (authn_admin_grants_create);
AUTHN_HANDLER (authn_admin_grants_list);
AUTHN_HANDLER (authn_admin_grants_delete);
AUTHN_HANDLER (authn_admin_apis_create);
AUTHN_HANDLER (authn_admin_apis_list);
AUTHN_HANDLER (authn_admin_apis_get);
AUTHN_HANDLER (authn_admin_apis_update);
AUTHN_HANDLER (authn_admin_apis_delete);

//  Creates a client; fills client_id and client_secret (caller frees) when asked.
//  Used by the handler and by the bootstrap of the management application.
int
    authn_admin_insert_client (authn_store_t *store, const char *name, const char *app_type,
                               const char *auth_method, const json_t *grant_types,
                               int is_system, char **client_id_p, char **client_secret_p);

#endif
