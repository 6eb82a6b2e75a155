#include "authn_server.h"
#include "authn_admin.h"
#include "authn_keys.h"
#include "authn_store.h"
#include "authn_token.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_db.h"
#include "pst_error.h"
#include "pst_log.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  Every Management API scope; the bootstrap application gets them all.
static const char *s_management_scopes [] = {
    "read:clients", "create:clients", "update:clients", "delete:clients",
    "read:client_grants", "create:client_grants", "delete:client_grants",
    "read:resource_servers", "create:resource_servers", "update:resource_servers",
    "delete:resource_servers",
    "read:users", "create:users", "update:users", "delete:users",
    "read:guardian_factors", "update:guardian_factors",
    "read:mfa_policies", "update:mfa_policies",
    "read:authentication_methods", "delete:authentication_methods",
    "read:email_templates", "update:email_templates",
    "read:email_provider", "create:email_provider", "update:email_provider",
    "read:logs", NULL
};

static const pst_op_t s_ops [] = {
    { "token.grant",                authn_token_grant,              NULL },
    { "mfa.challenge",              authn_token_mfa_challenge,      NULL },
    { "keys.jwks",                  authn_keys_jwks,                NULL },
    { "oidc.configuration",         authn_keys_discovery,           NULL },
    { "clients.create",             authn_admin_clients_create,     "create:clients" },
    { "clients.list",               authn_admin_clients_list,       "read:clients" },
    { "clients.get",                authn_admin_clients_get,        "read:clients" },
    { "clients.update",             authn_admin_clients_update,     "update:clients" },
    { "clients.delete",             authn_admin_clients_delete,     "delete:clients" },
    { "client_grants.create",       authn_admin_grants_create,      "create:client_grants" },
    { "client_grants.list",         authn_admin_grants_list,        "read:client_grants" },
    { "client_grants.delete",       authn_admin_grants_delete,      "delete:client_grants" },
    { "resource_servers.create",    authn_admin_apis_create,        "create:resource_servers" },
    { "resource_servers.list",      authn_admin_apis_list,          "read:resource_servers" },
    { "resource_servers.get",       authn_admin_apis_get,           "read:resource_servers" },
    { "resource_servers.update",    authn_admin_apis_update,        "update:resource_servers" },
    { "resource_servers.delete",    authn_admin_apis_delete,        "delete:resource_servers" },
    { "users.create",               authn_admin_users_create,       "create:users" },
    { "users.list",                 authn_admin_users_list,         "read:users" },
    { "users.get",                  authn_admin_users_get,          "read:users" },
    { "users.update",               authn_admin_users_update,       "update:users" },
    { "users.delete",               authn_admin_users_delete,       "delete:users" },
    //  Kept by mfa; authn answers for the user's existence, then forwards
    { "authentication_methods.list",        authn_admin_user_mfa,   "read:authentication_methods" },
    { "authentication_methods.delete",      authn_admin_user_mfa,   "delete:authentication_methods" },
    { "authentication_methods.delete_all",  authn_admin_user_mfa,   "delete:authentication_methods" },
    { "recovery_code.regenerate",           authn_admin_user_mfa,   "update:users" },
    { NULL, NULL, NULL }
};

pst_msg_t *
authn_call_mfa (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                const char *op, json_t **body_p)
{
    return authn_call_mfa_as (self, request, reply, op, NULL, body_p);
}

pst_msg_t *
authn_call_mfa_as (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                   const char *op, const char *scope, json_t **body_p)
{
    pst_msg_t *call = pst_msg_new_request (op, self->config->mfa_timeout_ms);
    //  The admin's own identity, with only the scope this step needs
    if (scope)
        pst_msg_set_caller (call, pst_msg_caller (request)? pst_msg_caller (request): "authn", scope);
    //  never wait longer than our own caller will
    if (pst_msg_deadline (request) < pst_msg_deadline (call))
        pst_msg_set_deadline (call, pst_msg_deadline (request));
    pst_msg_set_client_ip (call, pst_msg_client_ip (request));
    pst_msg_set_body (call, body_p);
    pst_msg_t *answer = pst_client_call (self->mfa, call);
    if (!answer) {
        pst_log (PST_LOG_WARN, "mfa_unavailable", "op", op, "request_id", pst_msg_id (request), NULL);
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "Service mfa did not answer in time");
    }
    pst_msg_destroy (&call);
    return answer;
}

int
authn_forward_mfa (authn_worker_t *self, const pst_msg_t *request, pst_msg_t *reply)
{
    pst_msg_t *call = pst_msg_new_forward (request);
    if (!call)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    uint64_t ours = zclock_time () + (uint64_t) self->config->mfa_timeout_ms;
    if (ours < pst_msg_deadline (call))
        pst_msg_set_deadline (call, ours);
    pst_msg_t *answer = pst_client_call (self->mfa, call);
    pst_msg_destroy (&call);
    if (!answer) {
        pst_log (PST_LOG_WARN, "mfa_unavailable", "op", pst_msg_op (request),
                 "request_id", pst_msg_id (request), NULL);
        return pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "Service mfa did not answer in time");
    }
    int rc = 0;
    if (pst_msg_is_error (answer))
        rc = authn_relay_error (reply, answer);
    else {
        json_t *body = json_deep_copy (pst_msg_body (answer));
        if (body)
            pst_msg_set_body (reply, &body);
        else
            rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    }
    pst_msg_destroy (&answer);
    return rc;
}

int
authn_relay_error (pst_msg_t *reply, const pst_msg_t *from)
{
    json_t *body = json_deep_copy (pst_msg_body (from));
    pst_msg_set_body (reply, &body);
    return pst_msg_fail (reply, pst_msg_error (from), "%s",
                         pst_msg_error_text (from)? pst_msg_error_text (from): "");
}

static void *
s_worker_init (void *args)
{
    const authn_config_t *config = (const authn_config_t *) args;
    authn_worker_t *self = (authn_worker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->db = authn_store_open (config->db_path);
    self->mfa = pst_client_new (config->mfa_endpoint);
    char *kid = NULL, *pem = NULL;
    if (self->db && self->mfa && authn_store_signing_key (self->db, &kid, &pem) == 0)
        self->signer = pst_jwt_signer_new (pem, kid);
    free (kid);
    if (pem) {
        sodium_memzero (pem, strlen (pem));
        free (pem);
    }
    if (!self->signer) {
        pst_db_close (&self->db);
        pst_client_destroy (&self->mfa);
        free (self);
        return NULL;
    }
    return self;
}

static void
s_worker_destroy (void *worker)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    pst_db_close (&self->db);
    pst_client_destroy (&self->mfa);
    pst_jwt_signer_destroy (&self->signer);
    free (self);
}

static json_t *
s_scope_array (const char *const *scopes)
{
    json_t *array = json_array ();
    for (; *scopes; scopes++)
        json_array_append_new (array, json_string (*scopes));
    return array;
}

//  The Management API and the MFA API are resource servers like any other, but
//  system ones: they cannot be changed or deleted through the API.
static int
s_ensure_system_api (sqlite3 *db, const char *identifier, const char *name, const char *const *scopes)
{
    json_t *list = json_array ();
    for (const char *const *scope = scopes; *scope; scope++)
        json_array_append_new (list, json_pack ("{s:s, s:s}", "value", *scope, "description", *scope));
    char *text = json_dumps (list, JSON_COMPACT);
    json_decref (list);
    char id [32];
    pst_random_hex (id, 25, 12);
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "INSERT OR IGNORE INTO resource_servers (id, identifier, name, scopes, token_lifetime,"
        " allow_offline_access, is_system, created_at) VALUES (?, ?, ?, ?, 86400, 0, 1, ?)");
    int rc = -1;
    if (stmt && text) {
        sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, identifier, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) time (NULL));
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    }
    sqlite3_finalize (stmt);
    free (text);
    return rc;
}

//  Writes the bootstrap credentials atomically, readable by the owner only.
static int
s_write_bootstrap (const authn_config_t *config, const char *audience,
                   const char *client_id, const char *client_secret)
{
    char token_endpoint [512];
    snprintf (token_endpoint, sizeof token_endpoint, "%soauth/token", config->issuer);
    json_t *doc = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "domain", config->domain,
        "token_endpoint", token_endpoint, "audience", audience,
        "client_id", client_id, "client_secret", client_secret);
    char *text = json_dumps (doc, JSON_INDENT (2));
    json_decref (doc);
    char *temporary = NULL;
    int rc = -1;
    if (text && asprintf (&temporary, "%s.tmp", config->bootstrap_path) >= 0) {
        //  A leftover or planted .tmp (a symlink to elsewhere, a file others can
        //  read) must never receive the secret: remove it, then create afresh
        unlink (temporary);
        int fd = open (temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            pst_log (PST_LOG_ERROR, "bootstrap_write_failed", "path", temporary,
                     "reason", strerror (errno), NULL);
        if (fd >= 0) {
            size_t size = strlen (text);
            rc = fchmod (fd, 0600) == 0
              && write (fd, text, size) == (ssize_t) size && write (fd, "\n", 1) == 1
              && fsync (fd) == 0? 0: -1;
            close (fd);
            if (rc == 0)
                rc = rename (temporary, config->bootstrap_path);
        }
    }
    if (text) {
        sodium_memzero (text, strlen (text));
        free (text);
    }
    free (temporary);
    return rc;
}

static char *
s_system_client (sqlite3 *db)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT client_id FROM clients WHERE is_system = 1 LIMIT 1");
    char *client_id = NULL;
    if (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        client_id = pst_db_column_strdup (stmt, 0);
    sqlite3_finalize (stmt);
    return client_id;
}

//  A fresh secret for an existing management application whose credentials file
//  is gone: the secret is only stored hashed, so it cannot be written out again.
static char *
s_rotate_secret (sqlite3 *db, const char *client_id)
{
    char secret [80];
    pst_random_token (secret, sizeof secret, 48);
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    sqlite3_stmt *stmt = pst_db_prepare (db, "UPDATE clients SET secret_hash = ? WHERE client_id = ?");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, client_id, -1, SQLITE_STATIC);
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
        sqlite3_finalize (stmt);
    }
    char *copy = rc == 0? strdup (secret): NULL;
    sodium_memzero (secret, sizeof secret);
    return copy;
}

static int
s_bootstrap (const authn_config_t *config, sqlite3 *db)
{
    char management [512], mfa_api [512];
    snprintf (management, sizeof management, "%sapi/v2/", config->issuer);
    snprintf (mfa_api, sizeof mfa_api, "%smfa/", config->issuer);
    static const char *mfa_scopes [] = {
        "enroll", "read:authenticators", "remove:authenticators", NULL
    };
    if (s_ensure_system_api (db, management, "Postern Management API", s_management_scopes)
    ||  s_ensure_system_api (db, mfa_api, "Postern MFA API", mfa_scopes))
        return -1;

    char *client_id = s_system_client (db);
    char *client_secret = NULL;
    if (!client_id) {
        json_t *grants = json_pack ("[s]", "client_credentials");
        int rc = authn_admin_insert_client (db, "Postern Management", "non_interactive",
                                            "client_secret_post", grants, 1, &client_id, &client_secret);
        json_decref (grants);
        if (rc != 0)
            return -1;
        char *scopes = NULL;
        json_t *list = s_scope_array (s_management_scopes);
        scopes = json_dumps (list, JSON_COMPACT);
        json_decref (list);
        sqlite3_stmt *stmt = pst_db_prepare (db,
            "INSERT INTO client_grants (id, client_id, audience, scope, created_at)"
            " VALUES ('cgr_management', ?, ?, ?, ?)");
        if (stmt) {
            sqlite3_bind_text (stmt, 1, client_id, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, 2, management, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, 3, scopes, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) time (NULL));
            rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
            sqlite3_finalize (stmt);
        }
        free (scopes);
        if (rc != 0) {
            free (client_id);
            free (client_secret);
            return -1;
        }
    }
    else
    if (access (config->bootstrap_path, F_OK) != 0) {
        client_secret = s_rotate_secret (db, client_id);
        pst_log (PST_LOG_WARN, "bootstrap_secret_rotated", "client_id", client_id,
                 "reason", "credentials file missing", NULL);
    }
    int rc = 0;
    if (client_secret) {
        rc = s_write_bootstrap (config, management, client_id, client_secret);
        pst_log (rc == 0? PST_LOG_INFO: PST_LOG_ERROR, "bootstrap_credentials_written",
                 "path", config->bootstrap_path, "client_id", client_id, NULL);
        sodium_memzero (client_secret, strlen (client_secret));
    }
    free (client_secret);
    free (client_id);
    return rc;
}

//  Migrations, signing key and bootstrap happen once, before workers start, so
//  workers never race to create them.
static int
s_prepare (const authn_config_t *config)
{
    sqlite3 *db = authn_store_open (config->db_path);
    if (!db)
        return -1;
    char *kid = NULL, *pem = NULL;
    int rc = authn_store_signing_key (db, &kid, &pem);
    if (rc == 0 && pst_db_begin (db) == 0) {
        rc = s_bootstrap (config, db);
        if (rc == 0)
            rc = pst_db_commit (db);
        else
            pst_db_rollback (db);
    }
    free (kid);
    if (pem) {
        sodium_memzero (pem, strlen (pem));
        free (pem);
    }
    pst_db_close (&db);
    return rc;
}

void
authn_server_actor (zsock_t *pipe, void *args)
{
    const authn_config_t *config = (const authn_config_t *) args;
    if (s_prepare (config) != 0) {
        pst_log (PST_LOG_ERROR, "authn_prepare_failed", "db", config->db_path, NULL);
        pst_actor_failed (pipe, "database could not be prepared");
        return;
    }
    pst_service_config_t service = {
        .name = "authn", .endpoint = config->endpoint, .ops = s_ops,
        .workers = config->workers, .worker_init = s_worker_init,
        .worker_destroy = s_worker_destroy, .args = (void *) config
    };
    pst_service_run_actor (pipe, &service);
}
