#include "authn_admin.h"
#include "authn_fields.h"
#include "authn_mfa.h"
#include "authn_revoke.h"
#include "authn_store.h"
#include "authn_worker.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_payload.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN        256
#define IDENTIFIER_MAX_LEN  600

static const char *s_app_types [] = {
    "native", "spa", "regular_web", "non_interactive", NULL
};
static const char *s_auth_methods [] = {
    "none", "client_secret_post", "client_secret_basic", NULL
};
static const char *s_grant_types [] = {
    "password", "http://auth0.com/oauth/grant-type/password-realm", "client_credentials",
    "refresh_token", "authorization_code", "implicit",
    "http://auth0.com/oauth/grant-type/mfa-oob", "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code", NULL
};

static authn_store_t *
s_store (void *worker)
{
    return ((authn_worker_t *) worker)->store;
}

//  The Management API's body and path id. An op whose row in pst_ops.def lists
//  "data" or "id" only runs with them present (pst_catalogue_check).
static json_t *
s_data (const pst_msg_t *request)
{
    json_t *data = json_object_get (pst_msg_body (request), "data");
    return json_is_object (data)? data: NULL;
}

//  The members each payload may hold (pst_payload_only)
static const char *const s_client_members [] = { "name", "app_type", "token_endpoint_auth_method",
    "grant_types", "web_origins", "allowed_origins", NULL };
static const char *const s_grant_members [] = { "client_id", "audience", "scope", NULL };
static const char *const s_api_create_members [] = { "identifier", "name", "scopes",
    "token_lifetime", "allow_offline_access", NULL };
static const char *const s_api_update_members [] = { "name", "scopes", "token_lifetime",
    "allow_offline_access", NULL };

static const char *
s_id (const pst_msg_t *request)
{
    return pst_json_str (pst_msg_body (request), "id");
}

static void
s_set_result (pst_msg_t *reply, json_t *result)
{
    json_t *body = json_object ();
    json_object_set_new (body, "result", result);
    pst_msg_set_body (reply, &body);
}

//  A member of changes when value is given
static void
s_change (json_t *changes, const char *key, const char *value)
{
    if (value)
        json_object_set_new (changes, key, json_string (value));
}

//  ---------------------------------------------------------------------------
//  What every resource does alike: list, get, delete

static int
s_list (void *worker, const pst_msg_t *request, pst_msg_t *reply, authn_resource_t resource)
{
    json_t *query = json_object_get (pst_msg_body (request), "query");
    json_t *list = authn_store_list (s_store (worker), resource, query);
    if (!list)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    s_set_result (reply, list);
    return 0;
}

static int
s_get (void *worker, const pst_msg_t *request, pst_msg_t *reply, authn_resource_t resource,
       const char *missing)
{
    const char *id = s_id (request);
    json_t *row = authn_store_get (s_store (worker), resource, id);
    if (!row)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "%s", missing);
    pst_msg_set_body (reply, &row);
    return 0;
}

//  The answer to a deletion of deleted rows (-1: it failed)
static int
s_deleted (pst_msg_t *reply, int deleted, const char *what)
{
    if (deleted < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not delete the %s", what);
    if (deleted == 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The %s does not exist", what);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Clients

//  The origins a client payload sets (web_origins, allowed_origins), as an
//  object of those members (caller frees), NULL when it sets neither. 0, or -1
//  after failing reply.
static int
s_origins (pst_msg_t *reply, const json_t *data, json_t **origins_p)
{
    json_t *web_origins, *allowed_origins;
    *origins_p = NULL;
    if (authn_fields_origins (reply, data, "web_origins", &web_origins)
    ||  authn_fields_origins (reply, data, "allowed_origins", &allowed_origins))
        return -1;
    if (!web_origins && !allowed_origins)
        return 0;
    *origins_p = json_pack ("{s:O*, s:O*}", "web_origins", web_origins,
                            "allowed_origins", allowed_origins);
    return *origins_p? 0: pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
}

//  authn_admin_insert_client, with more (or NULL): further members to store
static int
s_insert_client (authn_store_t *store, const char *name, const char *app_type,
                 const char *auth_method, const json_t *grant_types, const json_t *more,
                 int is_system, char **client_id_p, char **client_secret_p)
{
    char client_id [33];
    pst_random_string (client_id, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    char secret [80];
    pst_random_token (secret, sizeof secret, 48);
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    int public = authn_auth_method_is_public (auth_method);
    json_t *row = json_pack ("{s:s, s:s, s:s, s:s?, s:s, s:O, s:b}",
        "client_id", client_id, "name", name, "app_type", app_type,
        "secret_hash", public? NULL: hash, "token_endpoint_auth_method", auth_method,
        "grant_types", (json_t *) grant_types, "is_system", is_system);
    if (row && more && json_object_update (row, (json_t *) more) != 0) {
        json_decref (row);
        row = NULL;
    }
    int rc = row && authn_store_insert (store, AUTHN_CLIENTS, row) == 0? 0: -1;
    json_decref (row);
    if (rc == 0) {
        if (client_id_p)
            *client_id_p = strdup (client_id);
        if (client_secret_p)
            *client_secret_p = public? NULL: strdup (secret);
    }
    sodium_memzero (secret, sizeof secret);
    return rc;
}

int
authn_admin_insert_client (authn_store_t *store, const char *name, const char *app_type,
                           const char *auth_method, const json_t *grant_types,
                           int is_system, char **client_id_p, char **client_secret_p)
{
    return s_insert_client (store, name, app_type, auth_method, grant_types, NULL, is_system,
                            client_id_p, client_secret_p);
}

static int
s_is_system_client (authn_store_t *store, const char *client_id)
{
    authn_client_t *client = authn_store_client (store, client_id);
    int system = client && client->is_system;
    authn_client_destroy (&client);
    return system;
}

AUTHN_HANDLER (authn_admin_clients_create)
{
    json_t *data = s_data (request);
    const char *name, *app_type, *auth_method;
    json_t *grant_types, *origins;
    if (pst_payload_only (reply, data, s_client_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  authn_fields_string (reply, data, "app_type", 32, s_app_types, &app_type)
    ||  authn_fields_string (reply, data, "token_endpoint_auth_method", 32, s_auth_methods, &auth_method)
    ||  authn_fields_string_array (reply, data, "grant_types", s_grant_types, &grant_types)
    ||  s_origins (reply, data, &origins))
        return -1;
    json_t *default_grants = json_pack ("[s, s, s, s]",
        "authorization_code", "implicit", "refresh_token", "client_credentials");
    char *client_id = NULL, *client_secret = NULL;
    int rc = s_insert_client (s_store (worker), name, app_type? app_type: "regular_web",
        auth_method? auth_method: "client_secret_post", grant_types? grant_types: default_grants,
        origins, 0, &client_id, &client_secret);
    json_decref (default_grants);
    json_decref (origins);
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the client");
    json_t *client = authn_store_get (s_store (worker), AUTHN_CLIENTS, client_id);
    if (client && client_secret)
        json_object_set_new (client, "client_secret", json_string (client_secret));
    pst_log (PST_LOG_INFO, "client_created", "client_id", client_id, "by", pst_msg_caller (request), NULL);
    free (client_id);
    if (client_secret)
        sodium_memzero (client_secret, strlen (client_secret));
    free (client_secret);
    if (!client)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not read the client back");
    pst_msg_set_body (reply, &client);
    return 0;
}

AUTHN_HANDLER (authn_admin_clients_list)
{
    return s_list (worker, request, reply, AUTHN_CLIENTS);
}

AUTHN_HANDLER (authn_admin_clients_get)
{
    return s_get (worker, request, reply, AUTHN_CLIENTS, "The client does not exist");
}

AUTHN_HANDLER (authn_admin_clients_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *name, *app_type, *auth_method;
    json_t *grant_types, *origins;
    if (pst_payload_only (reply, data, s_client_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  authn_fields_string (reply, data, "app_type", 32, s_app_types, &app_type)
    ||  authn_fields_string (reply, data, "token_endpoint_auth_method", 32, s_auth_methods, &auth_method)
    ||  authn_fields_string_array (reply, data, "grant_types", s_grant_types, &grant_types)
    ||  s_origins (reply, data, &origins))
        return -1;
    //  The read and the update share one write transaction, so that two
    //  PATCHes of one client take turns and each decides from the state it
    //  changes (whether publicness changes, whether a secret is missing)
    authn_store_t *store = s_store (worker);
    if (authn_store_begin (store) != 0) {
        json_decref (origins);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the client");
    }
    authn_client_t *current = authn_store_client (store, id);
    int system = current && current->is_system;
    int lacks_secret = current && !current->secret_hash;
    //  What mfa_tokens keep of a client (mfa checks /mfa/challenge alone): whether
    //  it is public, and its secret. A change of either voids them once committed;
    //  if mfa cannot be told (logged), they run out with their lifetime, and no
    //  grant takes them that authn would refuse
    int publicness_changes = current && auth_method
        && authn_auth_method_is_public (auth_method) != authn_client_is_public (current);
    authn_client_destroy (&current);
    if (system) {
        authn_store_rollback (store);
        json_decref (origins);
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The management application cannot be modified");
    }
    //  A public client made confidential needs a secret it never had: issue one
    //  and show it once, as at creation
    char secret [80] = "", hash [65] = "";
    if (auth_method && !authn_auth_method_is_public (auth_method) && lacks_secret) {
        pst_random_token (secret, sizeof secret, 48);
        pst_sha256_hex (secret, strlen (secret), hash);
    }
    json_t *changes = origins? origins: json_object ();
    s_change (changes, "name", name);
    s_change (changes, "app_type", app_type);
    s_change (changes, "token_endpoint_auth_method", auth_method);
    if (grant_types)
        json_object_set (changes, "grant_types", grant_types);
    s_change (changes, "secret_hash", *hash? hash: NULL);
    int rc = authn_store_update (store, AUTHN_CLIENTS, id, changes) == 0
          && authn_store_commit (store) == 0? 0: -1;
    if (rc != 0)
        authn_store_rollback (store);
    json_decref (changes);
    if (rc == 0 && (publicness_changes || *hash))
        authn_mfa_void_client ((authn_worker_t *) worker, request, id);
    if (rc == 0)
        rc = authn_admin_clients_get (worker, request, reply);
    else
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the client");
    if (rc == 0 && *secret)
        json_object_set_new (pst_msg_body (reply), "client_secret", json_string (secret));
    sodium_memzero (secret, sizeof secret);
    return rc;
}

AUTHN_HANDLER (authn_admin_clients_delete)
{
    const char *id = s_id (request);
    if (s_is_system_client (s_store (worker), id))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The management application cannot be deleted");
    //  Its tokens stop at the gateway, for every audience, and its sign-ins at mfa
    int deleted = authn_revoke_delete ((authn_worker_t *) worker, AUTHN_CLIENTS, id);
    if (deleted > 0)
        authn_mfa_void_client ((authn_worker_t *) worker, request, id);
    return s_deleted (reply, deleted, "client");
}

//  ---------------------------------------------------------------------------
//  Client grants

//  1 when api is the Management API, https://{domain}/api/v2/
static int
s_is_management_api (authn_worker_t *worker, const authn_api_t *api)
{
    const char *issuer = worker->config->issuer;
    size_t length = strlen (issuer);
    return api->is_system && strncmp (api->identifier, issuer, length) == 0
        && strcmp (api->identifier + length, "api/v2/") == 0;
}

//  What a grant may hold: only scopes its API defines, as Auth0 has it; and on
//  the Management API only scopes its creator's own token holds, or
//  create:client_grants would be every other Management scope (an application
//  minted with delete:users by a caller who lacks it). 0, or -1 after failing
//  reply.
static int
s_grantable (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
             const authn_api_t *api, const json_t *scope)
{
    size_t index;
    json_t *value;
    json_array_foreach (scope, index, value) {
        const char *word = json_string_value (value);
        if (!authn_api_defines_scope (api, word))
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                "Payload validation error: scope \"%.280s\" is not defined by the resource server",
                word);
    }
    if (!s_is_management_api (worker, api))
        return 0;
    json_array_foreach (scope, index, value) {
        const char *word = json_string_value (value);
        if (!pst_msg_has_scope (request, word))
            return pst_msg_fail (reply, PST_ERR_INSUFFICIENT_SCOPE,
                "A client grant cannot give more than its creator holds: "
                "the access token lacks %.280s", word);
    }
    return 0;
}

AUTHN_HANDLER (authn_admin_grants_create)
{
    json_t *data = s_data (request);
    const char *client_id, *audience;
    json_t *scope;
    if (pst_payload_only (reply, data, s_grant_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "client_id", 64, NULL, &client_id)
    ||  authn_fields_string (reply, data, "audience", IDENTIFIER_MAX_LEN, NULL, &audience)
    ||  authn_fields_string_array (reply, data, "scope", NULL, &scope))
        return -1;
    authn_client_t *client = authn_store_client (s_store (worker), client_id);
    authn_api_t *api = authn_store_api (s_store (worker), audience);
    int found = client && api;
    authn_client_destroy (&client);
    int refused = found && s_grantable ((authn_worker_t *) worker, request, reply, api, scope);
    authn_api_destroy (&api);
    if (!found)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "No client or resource server with that id");
    //  A grant made again right after its deletion must not give tokens that
    //  its revocation covers
    if (refused || authn_revoke_wait ((authn_worker_t *) worker, request, reply, client_id, audience))
        return -1;

    char id [32] = "cgr_";
    pst_random_string (id + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    //  The grant as stored is the grant as shown
    json_t *grant = json_pack ("{s:s, s:s, s:s, s:O}", "id", id, "client_id", client_id,
                               "audience", audience, "scope", scope);
    int rc = grant? authn_store_insert (s_store (worker), AUTHN_CLIENT_GRANTS, grant): -1;
    if (rc != 0)
        json_decref (grant);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "A client grant for that client and audience already exists");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the client grant");
    pst_msg_set_body (reply, &grant);
    return 0;
}

AUTHN_HANDLER (authn_admin_grants_list)
{
    return s_list (worker, request, reply, AUTHN_CLIENT_GRANTS);
}

AUTHN_HANDLER (authn_admin_grants_delete)
{
    const char *id = s_id (request);
    //  The client's tokens for the grant's audience stop at the gateway
    return s_deleted (reply, authn_revoke_delete ((authn_worker_t *) worker, AUTHN_CLIENT_GRANTS, id),
                      "client grant");
}

//  ---------------------------------------------------------------------------
//  Resource servers (APIs)

//  1 when the resource server id names is one of Postern's own, -1 when there
//  is none, else 0
static int
s_is_system_api (void *worker, const char *id)
{
    json_t *current = authn_store_get (s_store (worker), AUTHN_RESOURCE_SERVERS, id);
    if (!current)
        return -1;
    int system = json_is_true (json_object_get (current, "is_system"));
    json_decref (current);
    return system;
}

AUTHN_HANDLER (authn_admin_apis_create)
{
    json_t *data = s_data (request);
    const char *identifier, *name;
    json_t *scopes;
    int lifetime = 86400, offline = 0;
    if (pst_payload_only (reply, data, s_api_create_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "identifier", IDENTIFIER_MAX_LEN, NULL, &identifier)
    ||  authn_fields_string (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  authn_fields_scopes (reply, data, &scopes)
    ||  authn_fields_lifetime (reply, data, &lifetime)
    ||  authn_fields_bool (reply, data, "allow_offline_access", &offline))
        return -1;
    char id [32];
    pst_random_hex (id, 25, 12);
    json_t *row = json_pack ("{s:s, s:s, s:s, s:o, s:i, s:b}", "id", id, "identifier", identifier,
        "name", name? name: identifier, "scopes", scopes? json_incref (scopes): json_array (),
        "token_lifetime", lifetime, "allow_offline_access", offline);
    int rc = row? authn_store_insert (s_store (worker), AUTHN_RESOURCE_SERVERS, row): -1;
    json_decref (row);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "A resource server with the same identifier already exists");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the resource server");
    json_t *api = authn_store_get (s_store (worker), AUTHN_RESOURCE_SERVERS, id);
    if (!api)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not read the resource server back");
    pst_msg_set_body (reply, &api);
    return 0;
}

AUTHN_HANDLER (authn_admin_apis_list)
{
    return s_list (worker, request, reply, AUTHN_RESOURCE_SERVERS);
}

AUTHN_HANDLER (authn_admin_apis_get)
{
    return s_get (worker, request, reply, AUTHN_RESOURCE_SERVERS, "The resource server does not exist");
}

AUTHN_HANDLER (authn_admin_apis_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *name;
    json_t *scopes;
    int lifetime = -1, offline = -1;
    if (pst_payload_only (reply, data, s_api_update_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  authn_fields_scopes (reply, data, &scopes)
    ||  authn_fields_lifetime (reply, data, &lifetime)
    ||  authn_fields_bool (reply, data, "allow_offline_access", &offline))
        return -1;
    int system = s_is_system_api (worker, id);
    if (system < 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The resource server does not exist");
    if (system)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "System resource servers cannot be modified");
    json_t *changes = json_object ();
    s_change (changes, "name", name);
    if (scopes)
        json_object_set (changes, "scopes", scopes);
    if (lifetime >= 0)
        json_object_set_new (changes, "token_lifetime", json_integer (lifetime));
    if (offline >= 0)
        json_object_set_new (changes, "allow_offline_access", json_boolean (offline));
    int rc = authn_store_update (s_store (worker), AUTHN_RESOURCE_SERVERS, id, changes);
    json_decref (changes);
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the resource server");
    return authn_admin_apis_get (worker, request, reply);
}

AUTHN_HANDLER (authn_admin_apis_delete)
{
    const char *id = s_id (request);
    int system = s_is_system_api (worker, id);
    if (system < 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The resource server does not exist");
    if (system)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "System resource servers cannot be deleted");
    return s_deleted (reply, authn_store_delete (s_store (worker), AUTHN_RESOURCE_SERVERS, id),
                      "resource server");
}
