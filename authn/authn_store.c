#include "authn_store.h"
#include "authn_store_sql.h"
#include "pst_clock.h"
#include <stdlib.h>

//  SQLite: entry i brings user_version to i + 1. Never edit a released entry:
//  add one (and its counterpart to s_postgres).
static const char *const s_sqlite [] = {
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
    //  Auth0's key rotation: a next key published ahead of its turn, the
    //  previous one published until the rotation after; each key's
    //  certificate and public JWK (what the JWKS shows); a generation that
    //  every change of the keys raises, which workers read to reload
    "ALTER TABLE signing_keys ADD COLUMN is_next INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE signing_keys ADD COLUMN is_previous INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE signing_keys ADD COLUMN current_since INTEGER;"
    "ALTER TABLE signing_keys ADD COLUMN current_until INTEGER;"
    "ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;"
    "ALTER TABLE signing_keys ADD COLUMN cert_pem TEXT;"
    "ALTER TABLE signing_keys ADD COLUMN jwk TEXT;"
    "UPDATE signing_keys SET current_since = created_at WHERE is_current = 1;"
    "CREATE UNIQUE INDEX signing_keys_current ON signing_keys (is_current) WHERE is_current = 1;"
    "CREATE UNIQUE INDEX signing_keys_next ON signing_keys (is_next) WHERE is_next = 1;"
    "CREATE UNIQUE INDEX signing_keys_previous ON signing_keys (is_previous) WHERE is_previous = 1;"
    "CREATE TABLE signing_generation ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  generation INTEGER NOT NULL);"
    "INSERT INTO signing_generation (id, generation) VALUES (1, 1);",
    //  The origins browsers may call the Authentication API from: JSON text of
    //  arrays, as grant_types (the gateway reads them through origins.list)
    "ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';"
    "ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';",
    //  Refresh tokens (authn_refresh): the SHA-256 of each token, never the
    //  token. A family is every token rotated from one sign-in: they share its
    //  absolute expiry, and a reuse revokes them all. rotated_at is set when a
    //  token is exchanged (its use afterwards is a reuse), revoked_at when its
    //  family is revoked. Pruning finds the expired families by expires_at.
    "CREATE TABLE refresh_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  family_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  audience TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  auth_time INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  idle_expires_at INTEGER NOT NULL,"
    "  rotated_at INTEGER,"
    "  revoked_at INTEGER);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);"
    "CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);",
    //  The audit log of sign-ins and token exchanges (authn_audit), read with
    //  mfa's by the Management API's logs (authn_logs). Never a secret: no
    //  password, token, code or client secret. created_at in Unix ms; pruned
    //  by age (POSTERN_AUDIT_RETENTION_DAYS)
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY, type TEXT NOT NULL, user_id TEXT, user_name TEXT,"
    "  client_id TEXT, ip TEXT, result TEXT NOT NULL, detail TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX audit_created ON audit (created_at, id);"
    "CREATE INDEX audit_user ON audit (user_id, created_at);",
    NULL
};

//  PostgreSQL, which came later: its first entry is the schema that SQLite's
//  entries 1-6 make, in PostgreSQL's terms. Every integer is BIGINT (times in
//  Unix ms overflow INTEGER); flags stay 0/1 integers, as the shared SQL
//  compares them to 1. Text is COLLATE "C" so that it sorts and compares by
//  bytes as SQLite's BINARY does, whatever locale the database was made with,
//  and lower() folds ASCII alone as NOCASE does: the unique index on
//  lower(email) is SQLite's UNIQUE COLLATE NOCASE. Entry i brings the schema's
//  version to i + 1; never edit a released entry.
static const char *const s_postgres [] = {
    "CREATE TABLE clients ("
    "  client_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  name TEXT COLLATE \"C\" NOT NULL,"
    "  app_type TEXT COLLATE \"C\" NOT NULL,"
    "  secret_hash TEXT COLLATE \"C\","
    "  auth_method TEXT COLLATE \"C\" NOT NULL,"
    "  grant_types TEXT COLLATE \"C\" NOT NULL,"
    "  is_system BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE resource_servers ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  identifier TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  name TEXT COLLATE \"C\" NOT NULL,"
    "  scopes TEXT COLLATE \"C\" NOT NULL,"
    "  token_lifetime BIGINT NOT NULL,"
    "  allow_offline_access BIGINT NOT NULL DEFAULT 0,"
    "  is_system BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE client_grants ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  client_id TEXT COLLATE \"C\" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,"
    "  audience TEXT COLLATE \"C\" NOT NULL"
    "    REFERENCES resource_servers (identifier) ON DELETE CASCADE,"
    "  scope TEXT COLLATE \"C\" NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (client_id, audience));"
    "CREATE TABLE users ("
    "  user_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  email TEXT COLLATE \"C\" NOT NULL,"
    "  password_hash TEXT COLLATE \"C\" NOT NULL,"
    "  email_verified BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  last_login BIGINT,"
    "  app_metadata TEXT COLLATE \"C\","
    "  user_metadata TEXT COLLATE \"C\","
    //  SQLite's implicit rowid, by name: users of one second list as they came
    //  ("created_at, rowid") with one text on both engines. Never written.
    "  rowid BIGINT GENERATED BY DEFAULT AS IDENTITY);"
    "CREATE UNIQUE INDEX users_email_lower ON users (lower (email));"
    "CREATE TABLE signing_keys ("
    "  kid TEXT COLLATE \"C\" PRIMARY KEY,"
    "  private_pem TEXT COLLATE \"C\" NOT NULL,"
    "  is_current BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  is_next BIGINT NOT NULL DEFAULT 0,"
    "  is_previous BIGINT NOT NULL DEFAULT 0,"
    "  current_since BIGINT,"
    "  current_until BIGINT,"
    "  revoked_at BIGINT,"
    "  cert_pem TEXT COLLATE \"C\","
    "  jwk TEXT COLLATE \"C\");"
    "CREATE UNIQUE INDEX signing_keys_current ON signing_keys (is_current) WHERE is_current = 1;"
    "CREATE UNIQUE INDEX signing_keys_next ON signing_keys (is_next) WHERE is_next = 1;"
    "CREATE UNIQUE INDEX signing_keys_previous ON signing_keys (is_previous) WHERE is_previous = 1;"
    "CREATE TABLE signing_generation ("
    "  id BIGINT PRIMARY KEY CHECK (id = 1),"
    "  generation BIGINT NOT NULL);"
    "INSERT INTO signing_generation (id, generation) VALUES (1, 1);"
    "CREATE TABLE login_failures ("
    "  key TEXT COLLATE \"C\" PRIMARY KEY,"
    "  failures BIGINT NOT NULL,"
    "  window_start BIGINT NOT NULL);"
    "CREATE INDEX login_failures_window_start ON login_failures (window_start);"
    "CREATE TABLE revocations ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  client_id TEXT COLLATE \"C\" NOT NULL,"
    "  audience TEXT COLLATE \"C\" NOT NULL,"
    "  revoked_at BIGINT NOT NULL,"
    "  UNIQUE (client_id, audience));"
    "CREATE INDEX revocations_revoked_at ON revocations (revoked_at);",
    "ALTER TABLE clients ADD COLUMN web_origins TEXT COLLATE \"C\" NOT NULL DEFAULT '[]';"
    "ALTER TABLE clients ADD COLUMN allowed_origins TEXT COLLATE \"C\" NOT NULL DEFAULT '[]';",
    //  SQLite's entry 8: refresh tokens
    "CREATE TABLE refresh_tokens ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  token_hash TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  family_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  client_id TEXT COLLATE \"C\" NOT NULL,"
    "  audience TEXT COLLATE \"C\" NOT NULL,"
    "  scope TEXT COLLATE \"C\" NOT NULL,"
    "  auth_time BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  idle_expires_at BIGINT NOT NULL,"
    "  rotated_at BIGINT,"
    "  revoked_at BIGINT);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);"
    "CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);",
    //  SQLite's entry 9: the audit log
    "CREATE TABLE audit ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, type TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\", user_name TEXT, client_id TEXT COLLATE \"C\", ip TEXT,"
    "  result TEXT NOT NULL, detail TEXT, created_at BIGINT NOT NULL);"
    "CREATE INDEX audit_created ON audit (created_at, id);"
    "CREATE INDEX audit_user ON audit (user_id, created_at);",
    NULL
};

static const pst_sql_schema_t s_schema = { "authn", s_sqlite, s_postgres };

authn_store_t *
authn_store_new (const char *location)
{
    authn_store_t *self = (authn_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sql = pst_sql_open (location, &s_schema);
    if (!self->sql)
        authn_store_destroy (&self);
    return self;
}

void
authn_store_set_clock (authn_store_t *self, int64_t (*now_s) (void))
{
    self->now_s = now_s;
}

int64_t
authn_store_sql_now (authn_store_t *self)
{
    //  Not time (): see authn_config_now
    return self->now_s? self->now_s (): pst_clock_wall_ms () / 1000;
}

void
authn_store_destroy (authn_store_t **self_p)
{
    if (self_p && *self_p) {
        authn_store_t *self = *self_p;
        pst_sql_close (&self->sql);
        free (self);
        *self_p = NULL;
    }
}

int
authn_store_begin (authn_store_t *self)
{
    return pst_sql_begin (self->sql);
}

int
authn_store_commit (authn_store_t *self)
{
    return pst_sql_commit (self->sql);
}

int
authn_store_rollback (authn_store_t *self)
{
    return pst_sql_rollback (self->sql);
}
