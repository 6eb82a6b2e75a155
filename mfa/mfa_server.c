#include "mfa_server.h"
#include "mfa_admin.h"
#include "mfa_authenticators.h"
#include "mfa_flow.h"
#include "mfa_jobs.h"
#include "mfa_store.h"
#include "mfa_verify.h"
#include "mfa_worker.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_keyfile.h"
#include "pst_log.h"
#include <sodium.h>

//  The token column names the ops that mean nothing without a live mfa_token:
//  they check it before writing anything (see mfa_op_t). once: replies kept by
//  request id, because the op mails, spends an attempt or makes a code (S26).
const mfa_op_t mfa_server_ops [] = {
    //  op                      handler                     scope
    //                          mfa_token           once
    { "mfa.begin",              mfa_flow_begin,             NULL,
                                MFA_TOKEN_NONE,     false },
    { "mfa.associate",          mfa_flow_associate,         NULL,
                                MFA_TOKEN_BEARER,   true },
    { "challenge.create",       mfa_flow_challenge,         NULL,
                                MFA_TOKEN_GRANT,    true },
    { "mfa.verify_oob",         mfa_verify_oob,             NULL,
                                MFA_TOKEN_GRANT,    true },
    { "mfa.verify_recovery",    mfa_verify_recovery,        NULL,
                                MFA_TOKEN_GRANT,    true },
    { "factors.list",           mfa_admin_factors_list,     "read:guardian_factors",
                                MFA_TOKEN_NONE,     false },
    { "factors.update",         mfa_admin_factors_update,   "update:guardian_factors",
                                MFA_TOKEN_NONE,     false },
    { "policies.get",           mfa_admin_policies_get,     "read:mfa_policies",
                                MFA_TOKEN_NONE,     false },
    { "policies.set",           mfa_admin_policies_set,     "update:mfa_policies",
                                MFA_TOKEN_NONE,     false },
    //  An mfa_token or an access token: the list checks whichever came, and
    //  read:authenticators itself when it was an access token (an mfa_token
    //  carries no scope). It writes nothing
    { "authenticators.list",    mfa_authenticators_list,    NULL,
                                MFA_TOKEN_NONE,     false },
    //  The caller is the verified access token's subject (the bus envelope)
    { "authenticators.delete",  mfa_authenticators_delete,  "remove:authenticators",
                                MFA_TOKEN_NONE,     true },
    { "authentication_methods.list",        mfa_authenticators_methods_list,
                                            "read:authentication_methods",
                                MFA_TOKEN_NONE,     false },
    { "authentication_methods.delete",      mfa_authenticators_methods_delete,
                                            "delete:authentication_methods",
                                MFA_TOKEN_NONE,     true },
    { "authentication_methods.delete_all",  mfa_authenticators_methods_delete_all,
                                            "delete:authentication_methods",
                                MFA_TOKEN_NONE,     true },
    //  Once: a retry gets the same code, not a second one that silently
    //  replaced the first
    { "recovery_code.regenerate",           mfa_authenticators_recovery_regenerate,
                                            "update:users",
                                MFA_TOKEN_NONE,     true },
    { NULL, NULL, NULL, MFA_TOKEN_NONE, false }
};

//  Every op reaches the bus through here: the bus has checked the name and
//  scope, mfa_worker_dispatch does the rest of the op's row.
static int
s_dispatch (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    const char *name = pst_msg_op (request);
    for (const mfa_op_t *op = mfa_server_ops; op->op; op++)
        if (streq (op->op, name))
            return mfa_worker_dispatch ((mfa_worker_t *) worker, op, request, reply);
    //  Not reached: the bus only calls for the ops s_bus_ops gave it
    return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Unknown operation %s", name);
}

//  The bus's table: each op of mfa_server_ops with its scope, all handled by
//  s_dispatch. Caller frees; NULL when out of memory.
static pst_op_t *
s_bus_ops (void)
{
    size_t count = 0;
    while (mfa_server_ops [count].op)
        count++;
    pst_op_t *ops = (pst_op_t *) calloc (count + 1, sizeof *ops);
    for (size_t index = 0; ops && index < count; index++) {
        ops [index].op = mfa_server_ops [index].op;
        ops [index].handler = s_dispatch;
        ops [index].scope = mfa_server_ops [index].scope;
    }
    return ops;
}

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
    pst_op_t *bus_ops = s_bus_ops ();
    if (bus_ops && s_prepare (config, &shared) == 0)
        jobs = mfa_jobs_new (config);
    if (jobs) {
        shared.jobs_inproc = mfa_jobs_inproc (jobs);
        pst_service_config_t service_config = {
            .name = "mfa",
            .endpoint = config->endpoint,
            .ops = bus_ops,
            .workers = config->workers,
            .worker_init = s_worker_init,
            .worker_destroy = s_worker_destroy,
            .args = &shared
        };
        service = pst_service_new (&service_config);
    }
    if (service) {
        pst_log (PST_LOG_INFO, "mfa_ready", "endpoint", pst_service_endpoint (service),
                 "jobs_endpoint", mfa_jobs_endpoint (jobs), NULL);
        pst_actor_ready (pipe, "ss", pst_service_endpoint (service), mfa_jobs_endpoint (jobs));
        pst_actor_wait_term (pipe);
    }
    else {
        pst_log (PST_LOG_ERROR, "mfa_start_failed", "endpoint", config->endpoint,
                 "jobs_endpoint", config->jobs_endpoint, NULL);
        pst_actor_failed (pipe, "mfa could not start");
    }
    //  Workers hold clients of the dispatcher: they go first
    pst_service_destroy (&service);
    mfa_jobs_destroy (&jobs);
    free (bus_ops);
    sodium_memzero (shared.code_key, sizeof shared.code_key);
}
