#include "authn_admin.h"
#include "pst_email.h"
#include "authn_server.h"
#include "authn_store.h"
#include "pst_crypto.h"
#include "pst_db.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_LEN        256
#define IDENTIFIER_MAX_LEN  600
#define EMAIL_MAX_LEN       PST_EMAIL_MAX
#define PASSWORD_MIN_LEN    8
#define PASSWORD_MAX_LEN    1024
#define MAX_LIFETIME        2592000

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

static int
s_in (const char *value, const char *const *set)
{
    for (; *set; set++)
        if (strcmp (value, *set) == 0)
            return 1;
    return 0;
}

static sqlite3 *
s_db (void *worker)
{
    return ((authn_worker_t *) worker)->db;
}

static json_t *
s_data (const pst_msg_t *request)
{
    json_t *data = json_object_get (pst_msg_body (request), "data");
    return json_is_object (data)? data: NULL;
}

static const char *
s_id (const pst_msg_t *request)
{
    return pst_json_str (pst_msg_body (request), "id");
}

static int
s_has_control_chars (const char *text)
{
    for (const unsigned char *at = (const unsigned char *) text; *at; at++)
        if (*at < 0x20 || *at == 0x7f)
            return 1;
    return 0;
}

//  Optional string member: 0 with *value_p (NULL when absent), or -1 after failing reply.
static int
s_string_field (pst_msg_t *reply, const json_t *data, const char *key, size_t max_len,
                const char *const *allowed, const char **value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    *value_p = NULL;
    if (!member)
        return 0;
    const char *value = json_string_value (member);
    if (!value || !*value || strlen (value) > max_len || s_has_control_chars (value))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid %s", key);
    if (allowed && !s_in (value, allowed))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: %s has an unsupported value", key);
    *value_p = value;
    return 0;
}

//  Optional array of strings, each in allowed when given (NULL = any non-empty).
static int
s_string_array_field (pst_msg_t *reply, const json_t *data, const char *key,
                      const char *const *allowed, json_t **value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    *value_p = NULL;
    if (!member)
        return 0;
    if (!json_is_array (member) || json_array_size (member) > 64)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s must be an array", key);
    size_t index;
    json_t *item;
    json_array_foreach (member, index, item) {
        const char *value = json_string_value (item);
        if (!value || !*value || strlen (value) > 280 || s_has_control_chars (value)
        ||  (allowed && !s_in (value, allowed)))
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                                 "Payload validation error: %s has an unsupported value", key);
    }
    *value_p = member;
    return 0;
}

static int
s_bool_field (pst_msg_t *reply, const json_t *data, const char *key, int *value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    if (!member)
        return 0;
    if (!json_is_boolean (member))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s must be a boolean", key);
    *value_p = json_is_true (member);
    return 0;
}

static void
s_set_result (pst_msg_t *reply, json_t *result)
{
    json_t *body = json_object ();
    json_object_set_new (body, "result", result);
    pst_msg_set_body (reply, &body);
}

static int
s_step_done (sqlite3_stmt *stmt)
{
    int rc = sqlite3_step (stmt);
    sqlite3_finalize (stmt);
    return rc == SQLITE_DONE? 0: (rc & 0xff) == SQLITE_CONSTRAINT? 1: -1;
}

static char *
s_dump (const json_t *value)
{
    return json_dumps (value, JSON_COMPACT);
}

//  ---------------------------------------------------------------------------
//  Clients

static json_t *
s_client_json (sqlite3_stmt *stmt)
{
    const char *grants = (const char *) sqlite3_column_text (stmt, 4);
    json_t *grant_types = json_loads (grants? grants: "[]", 0, NULL);
    return json_pack ("{s:s, s:s, s:s, s:s, s:o, s:b}",
        "client_id", sqlite3_column_text (stmt, 0),
        "name", sqlite3_column_text (stmt, 1),
        "app_type", sqlite3_column_text (stmt, 2),
        "token_endpoint_auth_method", sqlite3_column_text (stmt, 3),
        "grant_types", grant_types? grant_types: json_array (),
        "is_first_party", 1);
}

#define CLIENT_COLUMNS "client_id, name, app_type, auth_method, grant_types"

int
authn_admin_insert_client (sqlite3 *db, const char *name, const char *app_type,
                           const char *auth_method, const json_t *grant_types,
                           int is_system, char **client_id_p, char **client_secret_p)
{
    char client_id [33];
    pst_random_string (client_id, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    char secret [80];
    pst_random_token (secret, sizeof secret, 48);
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    char *grants = s_dump (grant_types);
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "INSERT INTO clients (client_id, name, app_type, secret_hash, auth_method, grant_types,"
        " is_system, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    int rc = -1;
    if (stmt && grants) {
        sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, app_type, -1, SQLITE_STATIC);
        if (strcmp (auth_method, "none") == 0)
            sqlite3_bind_null (stmt, 4);
        else
            sqlite3_bind_text (stmt, 4, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 5, auth_method, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 6, grants, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 7, is_system);
        sqlite3_bind_int64 (stmt, 8, (sqlite3_int64) time (NULL));
        rc = s_step_done (stmt) == 0? 0: -1;
    }
    else
        sqlite3_finalize (stmt);
    free (grants);
    if (rc == 0) {
        if (client_id_p)
            *client_id_p = strdup (client_id);
        if (client_secret_p)
            *client_secret_p = strcmp (auth_method, "none") == 0? NULL: strdup (secret);
    }
    sodium_memzero (secret, sizeof secret);
    return rc;
}

static json_t *
s_client_by_id (sqlite3 *db, const char *client_id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT " CLIENT_COLUMNS " FROM clients WHERE client_id = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    json_t *client = sqlite3_step (stmt) == SQLITE_ROW? s_client_json (stmt): NULL;
    sqlite3_finalize (stmt);
    return client;
}

AUTHN_HANDLER (authn_admin_clients_create)
{
    json_t *data = s_data (request);
    const char *name, *app_type, *auth_method;
    json_t *grant_types;
    if (!data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  s_string_field (reply, data, "app_type", 32, s_app_types, &app_type)
    ||  s_string_field (reply, data, "token_endpoint_auth_method", 32, s_auth_methods, &auth_method)
    ||  s_string_array_field (reply, data, "grant_types", s_grant_types, &grant_types))
        return -1;
    if (!name)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: Missing required property: name");
    json_t *default_grants = json_pack ("[s, s, s, s]",
        "authorization_code", "implicit", "refresh_token", "client_credentials");
    char *client_id = NULL, *client_secret = NULL;
    int rc = authn_admin_insert_client (s_db (worker), name, app_type? app_type: "regular_web",
        auth_method? auth_method: "client_secret_post", grant_types? grant_types: default_grants,
        0, &client_id, &client_secret);
    json_decref (default_grants);
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the client");
    json_t *client = s_client_by_id (s_db (worker), client_id);
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
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "SELECT " CLIENT_COLUMNS " FROM clients ORDER BY created_at, client_id LIMIT 1000");
    if (!stmt)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    (void) request;
    json_t *list = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (list, s_client_json (stmt));
    sqlite3_finalize (stmt);
    s_set_result (reply, list);
    return 0;
}

AUTHN_HANDLER (authn_admin_clients_get)
{
    const char *id = s_id (request);
    json_t *client = id? s_client_by_id (s_db (worker), id): NULL;
    if (!client)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The client does not exist");
    pst_msg_set_body (reply, &client);
    return 0;
}

static int
s_is_system_client (sqlite3 *db, const char *client_id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT is_system FROM clients WHERE client_id = ?");
    if (!stmt)
        return 0;
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    int system = sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return system;
}

//  1 when the client exists and has no secret (it was created public)
static int
s_lacks_secret (sqlite3 *db, const char *client_id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT secret_hash IS NULL FROM clients WHERE client_id = ?");
    if (!stmt)
        return 0;
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    int lacks = sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return lacks;
}

AUTHN_HANDLER (authn_admin_clients_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *name, *app_type, *auth_method;
    json_t *grant_types;
    if (!id || !data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  s_string_field (reply, data, "app_type", 32, s_app_types, &app_type)
    ||  s_string_field (reply, data, "token_endpoint_auth_method", 32, s_auth_methods, &auth_method)
    ||  s_string_array_field (reply, data, "grant_types", s_grant_types, &grant_types))
        return -1;
    if (s_is_system_client (s_db (worker), id))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The management application cannot be modified");
    //  A public client made confidential needs a secret it never had: issue one
    //  and show it once, as at creation
    char secret [80] = "", hash [65] = "";
    if (auth_method && strcmp (auth_method, "none") != 0 && s_lacks_secret (s_db (worker), id)) {
        pst_random_token (secret, sizeof secret, 48);
        pst_sha256_hex (secret, strlen (secret), hash);
    }
    char *grants = grant_types? s_dump (grant_types): NULL;
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "UPDATE clients SET name = COALESCE (?, name), app_type = COALESCE (?, app_type),"
        " auth_method = COALESCE (?, auth_method), grant_types = COALESCE (?, grant_types),"
        " secret_hash = COALESCE (secret_hash, ?)"
        " WHERE client_id = ?");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, app_type, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, auth_method, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, grants, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 5, *hash? hash: NULL, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 6, id, -1, SQLITE_STATIC);
        rc = s_step_done (stmt);
    }
    free (grants);
    if (rc == 0)
        rc = authn_admin_clients_get (worker, request, reply);
    else
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the client");
    if (rc == 0 && *secret)
        json_object_set_new (pst_msg_body (reply), "client_secret", json_string (secret));
    sodium_memzero (secret, sizeof secret);
    return rc;
}

static int
s_delete_where (void *worker, pst_msg_t *reply, const char *sql, const char *id, const char *what)
{
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker), sql);
    if (!stmt)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    int rc = s_step_done (stmt);
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not delete the %s", what);
    if (sqlite3_changes (s_db (worker)) == 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The %s does not exist", what);
    return 0;
}

AUTHN_HANDLER (authn_admin_clients_delete)
{
    const char *id = s_id (request);
    if (!id)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The client does not exist");
    if (s_is_system_client (s_db (worker), id))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The management application cannot be deleted");
    return s_delete_where (worker, reply, "DELETE FROM clients WHERE client_id = ?", id, "client");
}

//  ---------------------------------------------------------------------------
//  Client grants

static json_t *
s_grant_json (sqlite3_stmt *stmt)
{
    const char *scope = (const char *) sqlite3_column_text (stmt, 3);
    json_t *scopes = json_loads (scope? scope: "[]", 0, NULL);
    return json_pack ("{s:s, s:s, s:s, s:o}",
        "id", sqlite3_column_text (stmt, 0), "client_id", sqlite3_column_text (stmt, 1),
        "audience", sqlite3_column_text (stmt, 2), "scope", scopes? scopes: json_array ());
}

AUTHN_HANDLER (authn_admin_grants_create)
{
    json_t *data = s_data (request);
    const char *client_id, *audience;
    json_t *scope;
    if (!data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "client_id", 64, NULL, &client_id)
    ||  s_string_field (reply, data, "audience", IDENTIFIER_MAX_LEN, NULL, &audience)
    ||  s_string_array_field (reply, data, "scope", NULL, &scope))
        return -1;
    if (!client_id || !audience || !scope)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
            "Payload validation error: client_id, audience and scope are required");
    authn_client_t *client = authn_store_client (s_db (worker), client_id);
    authn_api_t *api = authn_store_api (s_db (worker), audience);
    int found = client && api;
    authn_client_destroy (&client);
    authn_api_destroy (&api);
    if (!found)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "No client or resource server with that id");

    char id [32] = "cgr_";
    pst_random_string (id + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    char *scopes = s_dump (scope);
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "INSERT INTO client_grants (id, client_id, audience, scope, created_at) VALUES (?, ?, ?, ?, ?)");
    int rc = -1;
    if (stmt && scopes) {
        sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, client_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, audience, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, scopes, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) time (NULL));
        rc = s_step_done (stmt);
    }
    else
        sqlite3_finalize (stmt);
    free (scopes);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "A client grant for that client and audience already exists");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the client grant");
    json_t *grant = json_pack ("{s:s, s:s, s:s, s:O}", "id", id, "client_id", client_id,
                               "audience", audience, "scope", scope);
    pst_msg_set_body (reply, &grant);
    return 0;
}

AUTHN_HANDLER (authn_admin_grants_list)
{
    json_t *query = json_object_get (pst_msg_body (request), "query");
    const char *client_id = pst_json_str (query, "client_id");
    const char *audience = pst_json_str (query, "audience");
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "SELECT id, client_id, audience, scope FROM client_grants"
        " WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR audience = ?2)"
        " ORDER BY created_at, id LIMIT 1000");
    if (!stmt)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, audience, -1, SQLITE_STATIC);
    json_t *list = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (list, s_grant_json (stmt));
    sqlite3_finalize (stmt);
    s_set_result (reply, list);
    return 0;
}

AUTHN_HANDLER (authn_admin_grants_delete)
{
    const char *id = s_id (request);
    if (!id)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The client grant does not exist");
    return s_delete_where (worker, reply, "DELETE FROM client_grants WHERE id = ?", id, "client grant");
}

//  ---------------------------------------------------------------------------
//  Resource servers (APIs)

#define API_COLUMNS "id, identifier, name, scopes, token_lifetime, allow_offline_access, is_system"

static json_t *
s_api_json (sqlite3_stmt *stmt)
{
    const char *scopes = (const char *) sqlite3_column_text (stmt, 3);
    json_t *list = json_loads (scopes? scopes: "[]", 0, NULL);
    return json_pack ("{s:s, s:s, s:s, s:o, s:i, s:b, s:b, s:s}",
        "id", sqlite3_column_text (stmt, 0), "identifier", sqlite3_column_text (stmt, 1),
        "name", sqlite3_column_text (stmt, 2), "scopes", list? list: json_array (),
        "token_lifetime", sqlite3_column_int (stmt, 4),
        "allow_offline_access", sqlite3_column_int (stmt, 5),
        "is_system", sqlite3_column_int (stmt, 6), "signing_alg", "RS256");
}

static json_t *
s_api_by_id (sqlite3 *db, const char *id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT " API_COLUMNS " FROM resource_servers WHERE id = ?1 OR identifier = ?1");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    json_t *api = sqlite3_step (stmt) == SQLITE_ROW? s_api_json (stmt): NULL;
    sqlite3_finalize (stmt);
    return api;
}

//  scopes: [{"value": "read:x", "description": "..."}]
static int
s_scopes_field (pst_msg_t *reply, const json_t *data, json_t **scopes_p)
{
    json_t *scopes = json_object_get (data, "scopes");
    *scopes_p = NULL;
    if (!scopes)
        return 0;
    if (!json_is_array (scopes) || json_array_size (scopes) > 500)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: scopes must be an array");
    size_t index;
    json_t *scope;
    json_array_foreach (scopes, index, scope) {
        const char *value = pst_json_str (scope, "value");
        json_t *description = json_object_get (scope, "description");
        if (!json_is_object (scope) || !value || strlen (value) > 280 || strchr (value, ' ')
        ||  s_has_control_chars (value) || (description && !json_is_string (description)))
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid scope");
    }
    *scopes_p = scopes;
    return 0;
}

static int
s_lifetime_field (pst_msg_t *reply, const json_t *data, int *lifetime_p)
{
    json_t *member = json_object_get (data, "token_lifetime");
    if (!member)
        return 0;
    if (!json_is_integer (member) || json_integer_value (member) < 1
    ||  json_integer_value (member) > MAX_LIFETIME)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: token_lifetime must be 1..%d", MAX_LIFETIME);
    *lifetime_p = (int) json_integer_value (member);
    return 0;
}

AUTHN_HANDLER (authn_admin_apis_create)
{
    json_t *data = s_data (request);
    const char *identifier, *name;
    json_t *scopes;
    int lifetime = 86400, offline = 0;
    if (!data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "identifier", IDENTIFIER_MAX_LEN, NULL, &identifier)
    ||  s_string_field (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  s_scopes_field (reply, data, &scopes)
    ||  s_lifetime_field (reply, data, &lifetime)
    ||  s_bool_field (reply, data, "allow_offline_access", &offline))
        return -1;
    if (!identifier)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: Missing required property: identifier");
    char id [32];
    pst_random_hex (id, 25, 12);
    char *scope_text = scopes? s_dump (scopes): strdup ("[]");
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "INSERT INTO resource_servers (id, identifier, name, scopes, token_lifetime,"
        " allow_offline_access, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    int rc = -1;
    if (stmt && scope_text) {
        sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, identifier, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, name? name: identifier, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, scope_text, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 5, lifetime);
        sqlite3_bind_int (stmt, 6, offline);
        sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) time (NULL));
        rc = s_step_done (stmt);
    }
    else
        sqlite3_finalize (stmt);
    free (scope_text);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "A resource server with the same identifier already exists");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the resource server");
    json_t *api = s_api_by_id (s_db (worker), id);
    if (!api)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not read the resource server back");
    pst_msg_set_body (reply, &api);
    return 0;
}

AUTHN_HANDLER (authn_admin_apis_list)
{
    (void) request;
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "SELECT " API_COLUMNS " FROM resource_servers ORDER BY created_at, id LIMIT 1000");
    if (!stmt)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    json_t *list = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (list, s_api_json (stmt));
    sqlite3_finalize (stmt);
    s_set_result (reply, list);
    return 0;
}

AUTHN_HANDLER (authn_admin_apis_get)
{
    const char *id = s_id (request);
    json_t *api = id? s_api_by_id (s_db (worker), id): NULL;
    if (!api)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The resource server does not exist");
    pst_msg_set_body (reply, &api);
    return 0;
}

AUTHN_HANDLER (authn_admin_apis_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *name;
    json_t *scopes;
    int lifetime = -1, offline = -1;
    if (!id || !data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "name", NAME_MAX_LEN, NULL, &name)
    ||  s_scopes_field (reply, data, &scopes)
    ||  s_lifetime_field (reply, data, &lifetime)
    ||  s_bool_field (reply, data, "allow_offline_access", &offline))
        return -1;
    json_t *current = s_api_by_id (s_db (worker), id);
    if (!current)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The resource server does not exist");
    int system = json_is_true (json_object_get (current, "is_system"));
    json_decref (current);
    if (system)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "System resource servers cannot be modified");
    char *scope_text = scopes? s_dump (scopes): NULL;
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "UPDATE resource_servers SET name = COALESCE (?1, name), scopes = COALESCE (?2, scopes),"
        " token_lifetime = CASE WHEN ?3 < 0 THEN token_lifetime ELSE ?3 END,"
        " allow_offline_access = CASE WHEN ?4 < 0 THEN allow_offline_access ELSE ?4 END"
        " WHERE id = ?5 OR identifier = ?5");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, scope_text, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 3, lifetime);
        sqlite3_bind_int (stmt, 4, offline);
        sqlite3_bind_text (stmt, 5, id, -1, SQLITE_STATIC);
        rc = s_step_done (stmt);
    }
    free (scope_text);
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the resource server");
    return authn_admin_apis_get (worker, request, reply);
}

AUTHN_HANDLER (authn_admin_apis_delete)
{
    const char *id = s_id (request);
    json_t *current = id? s_api_by_id (s_db (worker), id): NULL;
    if (!current)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The resource server does not exist");
    int system = json_is_true (json_object_get (current, "is_system"));
    json_decref (current);
    if (system)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "System resource servers cannot be deleted");
    return s_delete_where (worker, reply, "DELETE FROM resource_servers WHERE id = ?1 OR identifier = ?1",
                           id, "resource server");
}

//  ---------------------------------------------------------------------------
//  Users

#define USER_COLUMNS "user_id, email, email_verified, created_at, updated_at, last_login"

static json_t *
s_iso_time (sqlite3_stmt *stmt, int column)
{
    if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
        return json_null ();
    time_t when = (time_t) sqlite3_column_int64 (stmt, column);
    struct tm utc;
    gmtime_r (&when, &utc);
    char text [32];
    strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &utc);
    return json_string (text);
}

static json_t *
s_user_json (sqlite3_stmt *stmt)
{
    const char *user_id = (const char *) sqlite3_column_text (stmt, 0);
    const char *bare_id = strchr (user_id, '|')? strchr (user_id, '|') + 1: user_id;
    json_t *identity = json_pack ("{s:s, s:s, s:s, s:b}", "connection", AUTHN_CONNECTION,
                                  "user_id", bare_id, "provider", "auth0", "isSocial", 0);
    json_t *user = json_pack ("{s:s, s:s, s:b, s:[o]}",
        "user_id", user_id, "email", sqlite3_column_text (stmt, 1),
        "email_verified", sqlite3_column_int (stmt, 2), "identities", identity);
    json_object_set_new (user, "created_at", s_iso_time (stmt, 3));
    json_object_set_new (user, "updated_at", s_iso_time (stmt, 4));
    json_object_set_new (user, "last_login", s_iso_time (stmt, 5));
    return user;
}

static json_t *
s_user_by_id (sqlite3 *db, const char *user_id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT " USER_COLUMNS " FROM users WHERE user_id = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, user_id, -1, SQLITE_STATIC);
    json_t *user = sqlite3_step (stmt) == SQLITE_ROW? s_user_json (stmt): NULL;
    sqlite3_finalize (stmt);
    return user;
}

static int
s_password_field (pst_msg_t *reply, const json_t *data, const char **password_p)
{
    json_t *member = json_object_get (data, "password");
    *password_p = NULL;
    if (!member)
        return 0;
    const char *password = json_string_value (member);
    size_t length = password? strlen (password): 0;
    if (!password || length < PASSWORD_MIN_LEN || length > PASSWORD_MAX_LEN)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "PasswordStrengthError: Password is too weak (at least %d characters)",
                             PASSWORD_MIN_LEN);
    *password_p = password;
    return 0;
}

AUTHN_HANDLER (authn_admin_users_create)
{
    json_t *data = s_data (request);
    const char *email, *password, *connection;
    int verified = 0;
    if (!data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "email", EMAIL_MAX_LEN, NULL, &email)
    ||  s_string_field (reply, data, "connection", 128, NULL, &connection)
    ||  s_password_field (reply, data, &password)
    ||  s_bool_field (reply, data, "email_verified", &verified))
        return -1;
    if (!connection)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: Missing required property: connection");
    if (strcmp (connection, AUTHN_CONNECTION) != 0)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The connection does not exist.");
    if (!email || !pst_email_valid (email))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid email");
    if (!password)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: Missing required property: password");
    char *hash = pst_password_hash (password);
    if (!hash)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not hash the password");
    char user_id [40] = "auth0|";
    pst_random_hex (user_id + 6, sizeof user_id - 6, 12);
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "INSERT INTO users (user_id, email, password_hash, email_verified, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    int rc = -1;
    if (stmt) {
        sqlite3_int64 now = (sqlite3_int64) time (NULL);
        sqlite3_bind_text (stmt, 1, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, email, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 4, verified);
        sqlite3_bind_int64 (stmt, 5, now);
        sqlite3_bind_int64 (stmt, 6, now);
        rc = s_step_done (stmt);
    }
    free (hash);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "The user already exists.");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the user");
    pst_log (PST_LOG_INFO, "user_created", "user_id", user_id, "by", pst_msg_caller (request), NULL);
    json_t *user = s_user_by_id (s_db (worker), user_id);
    if (!user)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not read the user back");
    pst_msg_set_body (reply, &user);
    return 0;
}

AUTHN_HANDLER (authn_admin_users_list)
{
    json_t *query = json_object_get (pst_msg_body (request), "query");
    const char *email = pst_json_str (query, "email");
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "SELECT " USER_COLUMNS " FROM users WHERE (?1 IS NULL OR email = ?1)"
        " ORDER BY created_at, user_id LIMIT 1000");
    if (!stmt)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    sqlite3_bind_text (stmt, 1, email, -1, SQLITE_STATIC);
    json_t *list = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (list, s_user_json (stmt));
    sqlite3_finalize (stmt);
    s_set_result (reply, list);
    return 0;
}

AUTHN_HANDLER (authn_admin_users_get)
{
    const char *id = s_id (request);
    json_t *user = id? s_user_by_id (s_db (worker), id): NULL;
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    pst_msg_set_body (reply, &user);
    return 0;
}

AUTHN_HANDLER (authn_admin_users_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *email, *password;
    int verified = -1;
    if (!id || !data)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be an object");
    if (s_string_field (reply, data, "email", EMAIL_MAX_LEN, NULL, &email)
    ||  s_password_field (reply, data, &password)
    ||  s_bool_field (reply, data, "email_verified", &verified))
        return -1;
    if (email && !pst_email_valid (email))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid email");
    char *hash = password? pst_password_hash (password): NULL;
    if (password && !hash)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not hash the password");
    sqlite3_stmt *stmt = pst_db_prepare (s_db (worker),
        "UPDATE users SET email = COALESCE (?1, email), password_hash = COALESCE (?2, password_hash),"
        " email_verified = CASE WHEN ?3 < 0 THEN email_verified ELSE ?3 END, updated_at = ?4"
        " WHERE user_id = ?5");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, email, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 3, verified);
        sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) time (NULL));
        sqlite3_bind_text (stmt, 5, id, -1, SQLITE_STATIC);
        rc = s_step_done (stmt);
    }
    free (hash);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "The specified new email already exists");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the user");
    return authn_admin_users_get (worker, request, reply);
}

//  A deleted user's authenticators and recovery code go first: left behind, they
//  would be secrets nobody can reach or remove. If mfa cannot do it now, the user
//  stays and the caller gets 503 and may retry.
AUTHN_HANDLER (authn_admin_users_delete)
{
    const char *id = s_id (request);
    authn_user_t *user = id? authn_store_user_by_id (s_db (worker), id): NULL;
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    authn_user_destroy (&user);
    json_t *body = json_pack ("{s:s}", "id", id);
    pst_msg_t *answer = authn_call_mfa_as ((authn_worker_t *) worker, request, reply,
        "authentication_methods.delete_all", "delete:authentication_methods", &body);
    if (!answer)
        return -1;
    int failed = pst_msg_is_error (answer);
    if (failed)
        authn_relay_error (reply, answer);
    pst_msg_destroy (&answer);
    if (failed)
        return -1;
    return s_delete_where (worker, reply, "DELETE FROM users WHERE user_id = ?", id, "user");
}

//  mfa alone would answer an unknown user with an empty list, and cannot tell a
//  mistyped user id from a user without authenticators
AUTHN_HANDLER (authn_admin_user_mfa)
{
    const char *id = s_id (request);
    if (!id)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Path validation error: 'id' is required");
    authn_user_t *user = authn_store_user_by_id (s_db (worker), id);
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    authn_user_destroy (&user);
    return authn_forward_mfa ((authn_worker_t *) worker, request, reply);
}
