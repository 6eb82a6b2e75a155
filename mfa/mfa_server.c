#include "mfa_server.h"
#include "mfa_admin.h"
#include "mfa_authenticators.h"
#include "mfa_flow.h"
#include "mfa_jobs.h"
#include "mfa_store.h"
#include "mfa_verify.h"
#include "mfa_worker.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include <sodium.h>

const pst_op_t mfa_server_ops [] = {
    { "mfa.begin",              mfa_flow_begin,             NULL },
    { "mfa.associate",          mfa_flow_associate,         NULL },
    { "challenge.create",       mfa_flow_challenge,         NULL },
    { "mfa.verify_oob",         mfa_verify_oob,             NULL },
    { "mfa.verify_recovery",    mfa_verify_recovery,        NULL },
    { "factors.list",           mfa_admin_factors_list,     "read:guardian_factors" },
    { "factors.update",         mfa_admin_factors_update,   "update:guardian_factors" },
    { "policies.get",           mfa_admin_policies_get,     "read:mfa_policies" },
    { "policies.set",           mfa_admin_policies_set,     "update:mfa_policies" },
    //  An mfa_token carries no scope: the list checks read:authenticators itself
    //  when the caller came with an access token
    { "authenticators.list",    mfa_authenticators_list,    NULL },
    { "authenticators.delete",  mfa_authenticators_delete,  "remove:authenticators" },
    { "authentication_methods.list",        mfa_authenticators_methods_list,
                                            "read:authentication_methods" },
    { "authentication_methods.delete",      mfa_authenticators_methods_delete,
                                            "delete:authentication_methods" },
    { "authentication_methods.delete_all",  mfa_authenticators_methods_delete_all,
                                            "delete:authentication_methods" },
    { "recovery_code.regenerate",           mfa_authenticators_recovery_regenerate,
                                            "update:users" },
    { NULL, NULL, NULL }
};

//  What every worker starts from
typedef struct {
    const mfa_config_t *config;
    uint8_t code_key [MFA_CODE_KEY_SIZE];
    const char *jobs_inproc;
} s_shared_t;

static void *
s_worker_init (void *args)
{
    s_shared_t *shared = (s_shared_t *) args;
    return mfa_worker_new (shared->config, shared->code_key, shared->jobs_inproc);
}

static void
s_worker_destroy (void *worker)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    mfa_worker_destroy (&self);
}

//  Migrates the database once, before workers open it concurrently, and loads
//  the code key from its file (created on first start). 0 or -1.
static int
s_prepare (const mfa_config_t *config, s_shared_t *shared)
{
    if (pst_crypto_init ())
        return -1;
    mfa_store_t *store = mfa_store_new (config->db_path);
    if (!store)
        return -1;
    mfa_store_destroy (&store);
    if (pst_key_file_load (config->code_key_file, shared->code_key, MFA_CODE_KEY_SIZE)) {
        pst_log (PST_LOG_ERROR, "code_key_unusable", "path", config->code_key_file, NULL);
        return -1;
    }
    return 0;
}

void
mfa_server_actor (zsock_t *pipe, void *args)
{
    const mfa_config_t *config = (const mfa_config_t *) args;
    s_shared_t shared = { .config = config };
    mfa_jobs_t *jobs = NULL;
    pst_service_t *service = NULL;
    if (s_prepare (config, &shared) == 0)
        jobs = mfa_jobs_new (config);
    if (jobs) {
        shared.jobs_inproc = mfa_jobs_inproc (jobs);
        pst_service_config_t service_config = {
            .name = "mfa",
            .endpoint = config->endpoint,
            .ops = mfa_server_ops,
            .workers = config->workers,
            .worker_init = s_worker_init,
            .worker_destroy = s_worker_destroy,
            .args = &shared
        };
        service = pst_service_new (&service_config);
    }
    zsock_signal (pipe, 0);
    if (service)
        pst_log (PST_LOG_INFO, "mfa_ready", "endpoint", pst_service_endpoint (service),
                 "jobs_endpoint", mfa_jobs_endpoint (jobs), NULL);
    else
        pst_log (PST_LOG_ERROR, "mfa_start_failed", "endpoint", config->endpoint,
                 "jobs_endpoint", config->jobs_endpoint, NULL);
    zsock_send (pipe, "ss", service? pst_service_endpoint (service): "",
                service? mfa_jobs_endpoint (jobs): "");
    while (true) {
        char *command = zstr_recv (pipe);
        int stop = !command || streq (command, "$TERM");
        zstr_free (&command);
        if (stop)
            break;
    }
    //  Workers hold clients of the dispatcher: they go first
    pst_service_destroy (&service);
    mfa_jobs_destroy (&jobs);
    sodium_memzero (shared.code_key, sizeof shared.code_key);
}
