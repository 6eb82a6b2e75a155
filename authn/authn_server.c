#include "authn_server.h"
#include "authn_admin.h"
#include "authn_bootstrap.h"
#include "authn_keys.h"
#include "authn_token.h"
#include "authn_worker.h"
#include "pst_log.h"
#include <openssl/crypto.h>

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

//  The MFA API's scopes, which a user token for it may carry.
static const char *s_mfa_api_scopes [] = {
    "enroll", "read:authenticators", "remove:authenticators", NULL
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

void
authn_server_actor (zsock_t *pipe, void *args)
{
    const authn_config_t *config = (const authn_config_t *) args;
    if (authn_bootstrap_run (config, s_management_scopes, s_mfa_api_scopes) != 0) {
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
