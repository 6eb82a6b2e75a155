#include "authn_server.h"
#include "authn_admin.h"
#include "authn_keys.h"
#include "authn_store.h"
#include "authn_token.h"
#include "authn_worker.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_log.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
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

static void *
s_worker_init (void *args)
{
    return authn_worker_new ((const authn_config_t *) args);
}

static void
s_worker_destroy (void *worker)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    authn_worker_destroy (&self);
    //  Runs in the worker thread, which signed tokens: release its OpenSSL state
    OPENSSL_thread_stop ();
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
//  system ones: they cannot be changed or deleted through the API. One that is
//  there already is left as it is.
static int
s_ensure_system_api (authn_store_t *store, const char *identifier, const char *name,
                     const char *const *scopes)
{
    json_t *list = json_array ();
    for (const char *const *scope = scopes; *scope; scope++)
        json_array_append_new (list, json_pack ("{s:s, s:s}", "value", *scope, "description", *scope));
    char id [32];
    pst_random_hex (id, 25, 12);
    json_t *row = json_pack ("{s:s, s:s, s:s, s:o, s:i, s:b, s:b}", "id", id,
        "identifier", identifier, "name", name, "scopes", list,
        "token_lifetime", 86400, "allow_offline_access", 0, "is_system", 1);
    int rc = row? authn_store_insert (store, AUTHN_RESOURCE_SERVERS, row): -1;
    json_decref (row);
    return rc == 0 || rc == 1? 0: -1;
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

//  A fresh secret for an existing management application whose credentials file
//  is gone: the secret is only stored hashed, so it cannot be written out again.
static char *
s_rotate_secret (authn_store_t *store, const char *client_id)
{
    char secret [80];
    pst_random_token (secret, sizeof secret, 48);
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    int rc = authn_store_client_set_secret (store, client_id, hash);
    char *copy = rc == 0? strdup (secret): NULL;
    sodium_memzero (secret, sizeof secret);
    return copy;
}

static int
s_bootstrap (const authn_config_t *config, authn_store_t *store)
{
    char management [512], mfa_api [512];
    snprintf (management, sizeof management, "%sapi/v2/", config->issuer);
    snprintf (mfa_api, sizeof mfa_api, "%smfa/", config->issuer);
    static const char *mfa_scopes [] = {
        "enroll", "read:authenticators", "remove:authenticators", NULL
    };
    if (s_ensure_system_api (store, management, "Postern Management API", s_management_scopes)
    ||  s_ensure_system_api (store, mfa_api, "Postern MFA API", mfa_scopes))
        return -1;

    char *client_id = authn_store_system_client (store);
    char *client_secret = NULL;
    if (!client_id) {
        json_t *grants = json_pack ("[s]", "client_credentials");
        int rc = authn_admin_insert_client (store, "Postern Management", "non_interactive",
                                            "client_secret_post", grants, 1, &client_id, &client_secret);
        json_decref (grants);
        if (rc != 0)
            return -1;
        json_t *grant = json_pack ("{s:s, s:s, s:s, s:o}", "id", "cgr_management",
            "client_id", client_id, "audience", management,
            "scope", s_scope_array (s_management_scopes));
        rc = grant && authn_store_insert (store, AUTHN_CLIENT_GRANTS, grant) == 0? 0: -1;
        json_decref (grant);
        if (rc != 0) {
            free (client_id);
            free (client_secret);
            return -1;
        }
    }
    else
    if (access (config->bootstrap_path, F_OK) != 0) {
        client_secret = s_rotate_secret (store, client_id);
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
    authn_store_t *store = authn_store_new (config->db_path);
    if (!store)
        return -1;
    char *kid = NULL, *pem = NULL;
    int rc = authn_store_signing_key (store, &kid, &pem);
    if (rc == 0 && authn_store_begin (store) == 0) {
        rc = s_bootstrap (config, store);
        if (rc == 0)
            rc = authn_store_commit (store);
        else
            authn_store_rollback (store);
    }
    free (kid);
    if (pem) {
        sodium_memzero (pem, strlen (pem));
        free (pem);
    }
    authn_store_destroy (&store);
    return rc;
}

void
authn_server_actor (zsock_t *pipe, void *args)
{
    const authn_config_t *config = (const authn_config_t *) args;
    if (s_prepare (config) != 0) {
        pst_log (PST_LOG_ERROR, "authn_prepare_failed", "db", config->db_path, NULL);
        zsock_signal (pipe, 0);
        zstr_send (pipe, "");
        OPENSSL_thread_stop ();
        return;
    }
    pst_service_config_t service = {
        .name = "authn", .endpoint = config->endpoint, .ops = s_ops,
        .workers = config->workers, .worker_init = s_worker_init,
        .worker_destroy = s_worker_destroy, .args = (void *) config
    };
    pst_service_run_actor (pipe, &service);
    //  The key generation above gave this thread OpenSSL state (its DRBG); free it
    //  here, as the thread may still be ending when OpenSSL's atexit cleanup runs
    OPENSSL_thread_stop ();
}
