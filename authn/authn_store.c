#include "authn_store.h"
#include "authn_store_sql.h"
#include "pst_jwt.h"
#include "pst_log.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Entry i brings user_version to i + 1. Never edit a released entry: add one.
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
    //  Tokens stopped by the deletion of their client or client grant: those of
    //  client_id for audience ('' for every audience: the client went) issued
    //  up to revoked_at (Unix ms). The gateway reads them in id order.
    "CREATE TABLE revocations ("
    "  id INTEGER PRIMARY KEY,"
    "  client_id TEXT NOT NULL,"
    "  audience TEXT NOT NULL,"
    "  revoked_at INTEGER NOT NULL,"
    "  UNIQUE (client_id, audience));"
    "CREATE INDEX revocations_revoked_at ON revocations (revoked_at);",
    //  A user's app_metadata and user_metadata: JSON text of an object, NULL
    //  when there is none (authn_metadata)
    "ALTER TABLE users ADD COLUMN app_metadata TEXT;"
    "ALTER TABLE users ADD COLUMN user_metadata TEXT;",
    NULL
};

authn_store_t *
authn_store_new (const char *path)
{
    authn_store_t *self = (authn_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = pst_db_open (path, s_migrations);
    if (!self->db)
        authn_store_destroy (&self);
    return self;
}

void
authn_store_destroy (authn_store_t **self_p)
{
    if (self_p && *self_p) {
        authn_store_t *self = *self_p;
        pst_db_close (&self->db);
        free (self);
        *self_p = NULL;
    }
}

int
authn_store_begin (authn_store_t *self)
{
    return pst_db_begin (self->db);
}

int
authn_store_commit (authn_store_t *self)
{
    return pst_db_commit (self->db);
}

int
authn_store_rollback (authn_store_t *self)
{
    return pst_db_rollback (self->db);
}

//  ---------------------------------------------------------------------------
//  Signing key

static int
s_current_key (authn_store_t *self, char **kid_p, char **pem_p)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT kid, private_pem FROM signing_keys WHERE is_current = 1 LIMIT 1", NULL);
    if (!stmt)
        return -1;
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        *kid_p = pst_db_column_strdup (stmt, 0);
        *pem_p = pst_db_column_strdup (stmt, 1);
        rc = *kid_p && *pem_p? 0: -1;
    }
    sqlite3_finalize (stmt);
    return rc;
}

int
authn_store_signing_key (authn_store_t *self, char **kid_p, char **pem_p)
{
    *kid_p = *pem_p = NULL;
    if (s_current_key (self, kid_p, pem_p) == 0)
        return 0;
    //  Generate outside the transaction (slow), insert inside it, then re-read:
    //  if another process won the race its key stays current and ours is unused.
    char *pem = pst_jwt_generate_key_pem (2048);
    char *kid = pem? pst_jwt_key_id (pem): NULL;
    int rc = -1;
    if (kid && authn_store_begin (self) == 0) {
        rc = authn_store_sql_run (self,
            "INSERT INTO signing_keys (kid, private_pem, is_current, created_at)"
            " SELECT ?, ?, 1, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE is_current = 1)",
            "tti", kid, pem, (int64_t) time (NULL)) == 0? 0: -1;
        if (rc == 0)
            rc = authn_store_commit (self);
        else
            authn_store_rollback (self);
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
    return s_current_key (self, kid_p, pem_p);
}
