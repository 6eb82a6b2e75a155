//  authn_store: the records sign-in and the token endpoint read (a client, an
//  API, a user, a grant's scopes), and the few writes outside the Management
//  API: a user's login, the management application's rotated secret.
#include "authn_store.h"
#include "authn_store_sql.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *
s_text (pst_sql_stmt_t *stmt, int column)
{
    return pst_sql_strdup (stmt, column);
}

//  The JSON array a text column holds; an empty one when it holds none.
static json_t *
s_array (pst_sql_stmt_t *stmt, int column)
{
    const char *text = pst_sql_text (stmt, column);
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
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT client_id, name, app_type, secret_hash, auth_method, grant_types, is_system"
        " FROM clients WHERE client_id = ?", "t", client_id);
    if (!stmt)
        return NULL;
    authn_client_t *client = NULL;
    if (pst_sql_step (stmt) == 1 && (client = calloc (1, sizeof *client))) {
        client->client_id = s_text (stmt, 0);
        client->name = s_text (stmt, 1);
        client->app_type = s_text (stmt, 2);
        client->secret_hash = s_text (stmt, 3);
        client->auth_method = s_text (stmt, 4);
        client->grant_types = s_array (stmt, 5);
        client->is_system = pst_sql_int64 (stmt, 6) != 0;
    }
    pst_sql_done (stmt);
    return client;
}

json_t *
authn_store_origins (authn_store_t *self, const char *after, size_t max_bytes, int limit,
                     char **last_p, int *more_p)
{
    *last_p = NULL;
    *more_p = 0;
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT client_id, web_origins, allowed_origins FROM clients"
        " WHERE client_id > ? AND (web_origins <> '[]' OR allowed_origins <> '[]')"
        " ORDER BY client_id LIMIT ?", "tn", after? after: "", limit);
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    size_t bytes = 0;
    int rc = 0, rows = 0;
    while (list && !*more_p && (rc = pst_sql_step (stmt)) == 1) {
        const char *client_id = pst_sql_text (stmt, 0);
        json_t *origins = s_array (stmt, 1);
        json_t *allowed = s_array (stmt, 2);
        json_t *entry = client_id && origins && allowed && json_array_extend (origins, allowed) == 0
                      ? json_pack ("{s:s, s:O}", "client_id", client_id, "origins", origins): NULL;
        json_decref (origins);
        json_decref (allowed);
        if (!entry || json_array_append_new (list, entry) != 0) {
            json_decref (list);
            list = NULL;
            break;
        }
        bytes += strlen (client_id) + strlen (pst_sql_text (stmt, 1)) + strlen (pst_sql_text (stmt, 2));
        free (*last_p);
        *last_p = strdup (client_id);
        *more_p = ++rows == limit || bytes >= max_bytes;
    }
    if (list && rc < 0) {
        json_decref (list);
        list = NULL;
    }
    if (!list) {
        free (*last_p);
        *last_p = NULL;
    }
    pst_sql_done (stmt);
    return list;
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

int
authn_auth_method_is_public (const char *auth_method)
{
    return auth_method && strcmp (auth_method, "none") == 0;
}

int
authn_client_is_public (const authn_client_t *self)
{
    return authn_auth_method_is_public (self->auth_method);
}

char *
authn_store_system_client (authn_store_t *self)
{
    //  Ordered, so that both engines name the same one should there be several
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT client_id FROM clients WHERE is_system = 1 ORDER BY created_at, client_id LIMIT 1",
        NULL);
    char *client_id = NULL;
    if (stmt && pst_sql_step (stmt) == 1)
        client_id = s_text (stmt, 0);
    pst_sql_done (stmt);
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
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT scope FROM client_grants WHERE client_id = ? AND audience = ?",
        "tt", client_id, audience);
    if (!stmt)
        return NULL;
    json_t *scopes = NULL;
    if (pst_sql_step (stmt) == 1) {
        const char *text = pst_sql_text (stmt, 0);
        scopes = json_loads (text? text: "[]", 0, NULL);
    }
    pst_sql_done (stmt);
    return scopes;
}

//  ---------------------------------------------------------------------------
//  APIs (resource servers)

authn_api_t *
authn_store_api (authn_store_t *self, const char *identifier)
{
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT id, identifier, token_lifetime, allow_offline_access, is_system, scopes"
        " FROM resource_servers WHERE identifier = ?", "t", identifier);
    if (!stmt)
        return NULL;
    authn_api_t *api = NULL;
    if (pst_sql_step (stmt) == 1 && (api = calloc (1, sizeof *api))) {
        api->id = s_text (stmt, 0);
        api->identifier = s_text (stmt, 1);
        api->token_lifetime = (int) pst_sql_int64 (stmt, 2);
        api->allow_offline_access = pst_sql_int64 (stmt, 3) != 0;
        api->is_system = pst_sql_int64 (stmt, 4) != 0;
        api->scopes = s_array (stmt, 5);
    }
    pst_sql_done (stmt);
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

//  updated_at (Unix seconds) as authn_store_resources shows it; formatted
//  here, as SQLite's strftime has no PostgreSQL twin
static char *
s_iso_time (int64_t seconds)
{
    time_t when = (time_t) seconds;
    struct tm utc;
    char text [32];
    if (!gmtime_r (&when, &utc) || !strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &utc))
        return NULL;
    return strdup (text);
}

static authn_user_t *
s_user_where (authn_store_t *self, const char *sql, const char *key)
{
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql, sql, "t", key);
    if (!stmt)
        return NULL;
    authn_user_t *user = NULL;
    if (pst_sql_step (stmt) == 1 && (user = calloc (1, sizeof *user))) {
        user->user_id = s_text (stmt, 0);
        user->email = s_text (stmt, 1);
        user->password_hash = s_text (stmt, 2);
        user->email_verified = pst_sql_int64 (stmt, 3) != 0;
        user->updated_at = s_iso_time (pst_sql_int64 (stmt, 4));
    }
    pst_sql_done (stmt);
    return user;
}

//  The columns s_user_where reads
#define USER_COLUMNS    "user_id, email, password_hash, email_verified, updated_at"

authn_user_t *
authn_store_user_by_email (authn_store_t *self, const char *email)
{
    //  Emails match whatever their ASCII case. SQLite's column is NOCASE, and
    //  its unique index serves `email = ?`; PostgreSQL's index is on
    //  lower(email), which only that expression finds. The value is folded
    //  here, not by lower(?): a parameter would fold under the database's
    //  locale, beyond ASCII.
    char *folded = authn_store_sql_fold (email);
    if (!folded)
        return NULL;
    authn_user_t *user = s_user_where (self, authn_store_sql_is_postgres (self)
        ? "SELECT " USER_COLUMNS " FROM users WHERE lower (email) = ?"
        : "SELECT " USER_COLUMNS " FROM users WHERE email = ?", folded);
    free (folded);
    return user;
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
