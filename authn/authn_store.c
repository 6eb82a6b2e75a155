#include "authn_store.h"
#include "pst_db.h"
#include "pst_jwt.h"
#include "pst_log.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_migrations [] = {
    "CREATE TABLE clients ("
    "  client_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  app_type TEXT NOT NULL,"
    "  secret_hash TEXT,"
    "  auth_method TEXT NOT NULL,"
    "  grant_types TEXT NOT NULL,"
    "  is_system INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE resource_servers ("
    "  id TEXT PRIMARY KEY,"
    "  identifier TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  token_lifetime INTEGER NOT NULL,"
    "  allow_offline_access INTEGER NOT NULL DEFAULT 0,"
    "  is_system INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE client_grants ("
    "  id TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,"
    "  audience TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,"
    "  scope TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (client_id, audience));"
    "CREATE TABLE users ("
    "  user_id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  password_hash TEXT NOT NULL,"
    "  email_verified INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_login INTEGER);"
    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  private_pem TEXT NOT NULL,"
    "  is_current INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);",
    //  Sign-in attempts per throttle key, in a fixed window from the first: the
    //  failures, and the attempts whose password is still being checked
    "CREATE TABLE login_failures ("
    "  key TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL,"
    "  window_start INTEGER NOT NULL);",
    //  Pruning finds the ended windows by their start, without a full scan
    "CREATE INDEX login_failures_window_start ON login_failures (window_start);",
    NULL
};

sqlite3 *
authn_store_open (const char *path)
{
    return pst_db_open (path, s_migrations);
}

static char *
s_text (sqlite3_stmt *stmt, int column)
{
    return pst_db_column_strdup (stmt, column);
}

authn_client_t *
authn_store_client (sqlite3 *db, const char *client_id)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT client_id, name, app_type, secret_hash, auth_method, grant_types"
        " FROM clients WHERE client_id = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    authn_client_t *self = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (self = calloc (1, sizeof *self))) {
        self->client_id = s_text (stmt, 0);
        self->name = s_text (stmt, 1);
        self->app_type = s_text (stmt, 2);
        self->secret_hash = s_text (stmt, 3);
        self->auth_method = s_text (stmt, 4);
        const char *grants = (const char *) sqlite3_column_text (stmt, 5);
        self->grant_types = json_loads (grants? grants: "[]", 0, NULL);
        if (!self->grant_types)
            self->grant_types = json_array ();
    }
    sqlite3_finalize (stmt);
    return self;
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

authn_api_t *
authn_store_api (sqlite3 *db, const char *identifier)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT id, identifier, token_lifetime, allow_offline_access, is_system, scopes"
        " FROM resource_servers WHERE identifier = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, identifier, -1, SQLITE_STATIC);
    authn_api_t *self = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (self = calloc (1, sizeof *self))) {
        self->id = s_text (stmt, 0);
        self->identifier = s_text (stmt, 1);
        self->token_lifetime = sqlite3_column_int (stmt, 2);
        self->allow_offline_access = sqlite3_column_int (stmt, 3);
        self->is_system = sqlite3_column_int (stmt, 4);
        const char *scopes = (const char *) sqlite3_column_text (stmt, 5);
        self->scopes = json_loads (scopes? scopes: "[]", 0, NULL);
        if (!json_is_array (self->scopes)) {
            json_decref (self->scopes);
            self->scopes = json_array ();
        }
    }
    sqlite3_finalize (stmt);
    return self;
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

json_t *
authn_store_client_grant_scopes (sqlite3 *db, const char *client_id, const char *audience)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT scope FROM client_grants WHERE client_id = ? AND audience = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, audience, -1, SQLITE_STATIC);
    json_t *scopes = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text (stmt, 0);
        scopes = json_loads (text? text: "[]", 0, NULL);
    }
    sqlite3_finalize (stmt);
    return scopes;
}

static authn_user_t *
s_user_query (sqlite3 *db, const char *sql, const char *key)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, sql);
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    authn_user_t *self = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW && (self = calloc (1, sizeof *self))) {
        self->user_id = s_text (stmt, 0);
        self->email = s_text (stmt, 1);
        self->password_hash = s_text (stmt, 2);
        self->email_verified = sqlite3_column_int (stmt, 3);
    }
    sqlite3_finalize (stmt);
    return self;
}

authn_user_t *
authn_store_user_by_email (sqlite3 *db, const char *email)
{
    return s_user_query (db,
        "SELECT user_id, email, password_hash, email_verified FROM users WHERE email = ?", email);
}

authn_user_t *
authn_store_user_by_id (sqlite3 *db, const char *user_id)
{
    return s_user_query (db,
        "SELECT user_id, email, password_hash, email_verified FROM users WHERE user_id = ?", user_id);
}

void
authn_user_destroy (authn_user_t **self_p)
{
    if (self_p && *self_p) {
        authn_user_t *self = *self_p;
        free (self->user_id);
        free (self->email);
        free (self->password_hash);
        free (self);
        *self_p = NULL;
    }
}

int
authn_store_user_login (sqlite3 *db, const char *user_id, const char *new_hash, int64_t now)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "UPDATE users SET last_login = ?, password_hash = COALESCE (?, password_hash)"
        " WHERE user_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, now);
    if (new_hash)
        sqlite3_bind_text (stmt, 2, new_hash, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, 2);
    sqlite3_bind_text (stmt, 3, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return rc;
}

static int
s_current_key (sqlite3 *db, char **kid_p, char **pem_p)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT kid, private_pem FROM signing_keys WHERE is_current = 1 LIMIT 1");
    if (!stmt)
        return -1;
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        *kid_p = s_text (stmt, 0);
        *pem_p = s_text (stmt, 1);
        rc = *kid_p && *pem_p? 0: -1;
    }
    sqlite3_finalize (stmt);
    return rc;
}

int
authn_store_signing_key (sqlite3 *db, char **kid_p, char **pem_p)
{
    *kid_p = *pem_p = NULL;
    if (s_current_key (db, kid_p, pem_p) == 0)
        return 0;
    //  Generate outside the transaction (slow), insert inside it, then re-read:
    //  if another process won the race its key stays current and ours is unused.
    char *pem = pst_jwt_generate_key_pem (2048);
    char *kid = pem? pst_jwt_key_id (pem): NULL;
    int rc = -1;
    if (kid && pst_db_begin (db) == 0) {
        sqlite3_stmt *stmt = pst_db_prepare (db,
            "INSERT INTO signing_keys (kid, private_pem, is_current, created_at)"
            " SELECT ?, ?, 1, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE is_current = 1)");
        if (stmt) {
            sqlite3_bind_text (stmt, 1, kid, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, 2, pem, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) time (NULL));
            rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
            sqlite3_finalize (stmt);
        }
        if (rc == 0)
            rc = pst_db_commit (db);
        else
            pst_db_rollback (db);
        if (rc == 0)
            pst_log (PST_LOG_INFO, "signing_key_created", "kid", kid, NULL);
    }
    free (kid);
    if (pem) {
        memset (pem, 0, strlen (pem));
        free (pem);
    }
    if (rc != 0)
        return -1;
    return s_current_key (db, kid_p, pem_p);
}

//  ---------------------------------------------------------------------------
//  Sign-in throttling

int
authn_store_login_reserve (sqlite3 *db, const char *key, int max_attempts, int window_s,
                           int64_t now, int64_t *window_start_p)
{
    //  Count and check are one statement, so two workers cannot both take the
    //  last attempt. An ended window starts afresh; a full one is left as it is
    //  (the WHERE of DO UPDATE), so nothing comes back and nothing moves.
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "INSERT INTO login_failures (key, failures, window_start) VALUES (?1, 1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN window_start + ?3 <= ?2 THEN 1 ELSE failures + 1 END,"
        "  window_start = CASE WHEN window_start + ?3 <= ?2 THEN ?2 ELSE window_start END"
        "  WHERE window_start + ?3 <= ?2 OR failures < ?4"
        " RETURNING window_start");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, now);
    sqlite3_bind_int (stmt, 3, window_s);
    sqlite3_bind_int (stmt, 4, max_attempts);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *window_start_p = sqlite3_column_int64 (stmt, 0);
    //  The change commits when the statement ends: run it to its end, so that
    //  a commit that fails is seen as an error rather than as a reservation
    int done = rc == SQLITE_ROW? sqlite3_step (stmt): rc;
    sqlite3_finalize (stmt);
    if (done != SQLITE_DONE)
        return -1;
    if (rc == SQLITE_ROW)
        return 0;

    //  Refused: read when the window ends, for Retry-After. The key may have
    //  gone in between (cleared or pruned); its window has then ended now.
    *window_start_p = now - window_s;
    stmt = pst_db_prepare (db, "SELECT window_start FROM login_failures WHERE key = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *window_start_p = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 1: -1;
}

int
authn_store_login_release (sqlite3 *db, const char *key, int64_t window_start)
{
    //  Only within the window it was counted in: a window started since holds
    //  other attempts, which this one must not cancel
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "UPDATE login_failures SET failures = failures - 1"
        " WHERE key = ? AND window_start = ? AND failures > 0");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, window_start);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return rc;
}

int
authn_store_login_succeeded (sqlite3 *db, const char *key)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "DELETE FROM login_failures WHERE key = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return rc;
}

int
authn_store_login_prune (sqlite3 *db, int64_t now, int window_s)
{
    //  Written against the bare column so that the index on window_start serves it
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "DELETE FROM login_failures WHERE window_start <= ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, now - window_s);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return rc;
}
