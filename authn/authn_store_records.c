//  authn_store: the records sign-in and the token endpoint read (a client, an
//  API, a user, a grant's scopes), and the few writes outside the Management
//  API: a user's login, the management application's rotated secret.
#include "authn_store.h"
#include "authn_store_sql.h"
#include <stdlib.h>
#include <string.h>

static char *
s_text (sqlite3_stmt *stmt, int column)
{
    return pst_db_column_strdup (stmt, column);
}

//  The JSON array a text column holds; an empty one when it holds none.
static json_t *
s_array (sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    json_t *array = json_loads (text? text: "[]", 0, NULL);
    if (!json_is_array (array)) {
        json_decref (array);
        array = json_array ();
    }
    return array;
}

//  ---------------------------------------------------------------------------
//  Clients

authn_client_t *
authn_store_client (authn_store_t *self, const char *client_id)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT client_id, name, app_type, secret_hash, auth_method, grant_types, is_system"
        " FROM clients WHERE client_id = ?", "t", client_id);
    if (!stmt)
        return NULL;
    authn_client_t *client = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (client = calloc (1, sizeof *client))) {
        client->client_id = s_text (stmt, 0);
        client->name = s_text (stmt, 1);
        client->app_type = s_text (stmt, 2);
        client->secret_hash = s_text (stmt, 3);
        client->auth_method = s_text (stmt, 4);
        client->grant_types = s_array (stmt, 5);
        client->is_system = sqlite3_column_int (stmt, 6);
    }
    sqlite3_finalize (stmt);
    return client;
}

void
authn_client_destroy (authn_client_t **self_p)
{
    if (self_p && *self_p) {
        authn_client_t *self = *self_p;
        free (self->client_id);
        free (self->name);
        free (self->app_type);
        free (self->secret_hash);
        free (self->auth_method);
        json_decref (self->grant_types);
        free (self);
        *self_p = NULL;
    }
}

int
authn_client_allows (const authn_client_t *self, const char *grant_type)
{
    size_t index;
    json_t *value;
    json_array_foreach (self->grant_types, index, value)
        if (json_is_string (value) && strcmp (json_string_value (value), grant_type) == 0)
            return 1;
    return 0;
}

char *
authn_store_system_client (authn_store_t *self)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT client_id FROM clients WHERE is_system = 1 LIMIT 1", NULL);
    char *client_id = NULL;
    if (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        client_id = s_text (stmt, 0);
    sqlite3_finalize (stmt);
    return client_id;
}

int
authn_store_client_set_secret (authn_store_t *self, const char *client_id, const char *secret_hash)
{
    return authn_store_sql_run (self, "UPDATE clients SET secret_hash = ? WHERE client_id = ?",
                            "tt", secret_hash, client_id) == 0? 0: -1;
}

json_t *
authn_store_client_grant_scopes (authn_store_t *self, const char *client_id, const char *audience)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT scope FROM client_grants WHERE client_id = ? AND audience = ?",
        "tt", client_id, audience);
    if (!stmt)
        return NULL;
    json_t *scopes = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text (stmt, 0);
        scopes = json_loads (text? text: "[]", 0, NULL);
    }
    sqlite3_finalize (stmt);
    return scopes;
}

//  ---------------------------------------------------------------------------
//  APIs (resource servers)

authn_api_t *
authn_store_api (authn_store_t *self, const char *identifier)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT id, identifier, token_lifetime, allow_offline_access, is_system, scopes"
        " FROM resource_servers WHERE identifier = ?", "t", identifier);
    if (!stmt)
        return NULL;
    authn_api_t *api = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (api = calloc (1, sizeof *api))) {
        api->id = s_text (stmt, 0);
        api->identifier = s_text (stmt, 1);
        api->token_lifetime = sqlite3_column_int (stmt, 2);
        api->allow_offline_access = sqlite3_column_int (stmt, 3);
        api->is_system = sqlite3_column_int (stmt, 4);
        api->scopes = s_array (stmt, 5);
    }
    sqlite3_finalize (stmt);
    return api;
}

void
authn_api_destroy (authn_api_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->id);
        free ((*self_p)->identifier);
        json_decref ((*self_p)->scopes);
        free (*self_p);
        *self_p = NULL;
    }
}

int
authn_api_defines_scope (const authn_api_t *self, const char *word)
{
    size_t index;
    json_t *scope;
    json_array_foreach (self->scopes, index, scope) {
        const char *value = json_string_value (json_object_get (scope, "value"));
        if (value && strcmp (value, word) == 0)
            return 1;
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  Users

static authn_user_t *
s_user_where (authn_store_t *self, const char *sql, const char *key)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self, sql, "t", key);
    if (!stmt)
        return NULL;
    authn_user_t *user = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (user = calloc (1, sizeof *user))) {
        user->user_id = s_text (stmt, 0);
        user->email = s_text (stmt, 1);
        user->password_hash = s_text (stmt, 2);
        user->email_verified = sqlite3_column_int (stmt, 3);
        user->updated_at = s_text (stmt, 4);
    }
    sqlite3_finalize (stmt);
    return user;
}

//  The columns s_user_where reads; updated_at as authn_store_resources shows it
#define USER_COLUMNS    "user_id, email, password_hash, email_verified," \
                        " strftime ('%Y-%m-%dT%H:%M:%S.000Z', updated_at, 'unixepoch')"

authn_user_t *
authn_store_user_by_email (authn_store_t *self, const char *email)
{
    return s_user_where (self, "SELECT " USER_COLUMNS " FROM users WHERE email = ?", email);
}

authn_user_t *
authn_store_user_by_id (authn_store_t *self, const char *user_id)
{
    return s_user_where (self, "SELECT " USER_COLUMNS " FROM users WHERE user_id = ?", user_id);
}

void
authn_user_destroy (authn_user_t **self_p)
{
    if (self_p && *self_p) {
        authn_user_t *self = *self_p;
        free (self->user_id);
        free (self->email);
        free (self->password_hash);
        free (self->updated_at);
        free (self);
        *self_p = NULL;
    }
}

int
authn_store_user_login (authn_store_t *self, const char *user_id, const char *new_hash, int64_t now)
{
    return authn_store_sql_run (self,
        "UPDATE users SET last_login = ?, password_hash = COALESCE (?, password_hash)"
        " WHERE user_id = ?", "itt", now, new_hash, user_id) == 0? 0: -1;
}
