#include "mfa_server.h"
#include "mfa_admin.h"
#include "mfa_authenticators.h"
#include "mfa_flow.h"
#include "mfa_jobs.h"
#include "mfa_otp.h"
#include "mfa_store.h"
#include "mfa_provider.h"
#include "mfa_templates.h"
#include "mfa_verify.h"
#include "pst_service.h"
#include "mfa_worker.h"
#include "mfa_writer.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_keyfile.h"
#include "pst_log.h"
#include <sodium.h>

//  mfa's rows of the operation catalogue: their handlers, declared, then as the
//  dispatch table. mfa_worker_dispatch applies the rows' mfa_token and once flags
#define PST_OP(service, name, handler, ...) PST_WHEN (MFA, service, pst_handler_fn handler;)
#include "pst_ops.def"
#define PST_OP(service, name, handler, ...) PST_WHEN (MFA, service, { name, handler },)
static const pst_handler_t s_handlers [] = {
#include "pst_ops.def"
    { NULL, NULL }
};

//  What every worker starts from
typedef struct {
    const mfa_config_t *config;
    uint8_t code_key [MFA_CODE_KEY_SIZE];
    const char *jobs_inproc;
    mfa_writer_t *writer;
} s_shared_t;

static void *
s_worker_init (void *args)
{
    s_shared_t *shared = (s_shared_t *) args;
    return mfa_worker_new (shared->config, shared->code_key, shared->jobs_inproc,
                           shared->writer);
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
    pst_actor_name ("mfa-main");
    const mfa_config_t *config = (const mfa_config_t *) args;
    s_shared_t shared = { .config = config };
    mfa_jobs_t *jobs = NULL;
    pst_service_t *service = NULL;
    pst_curve_t *curve = pst_curve_new (config->keys_dir, config->key_name, true);
    if (curve && s_prepare (config, &shared) == 0)
        shared.writer = mfa_writer_new (config->db_path);
    if (shared.writer)
        jobs = mfa_jobs_new (config, curve, shared.writer, shared.code_key);
    if (jobs) {
        shared.jobs_inproc = mfa_jobs_inproc (jobs);
        pst_service_config_t service_config = {
            .name = "mfa",
            .endpoint = config->endpoint,
            .curve = curve,
            .service = PST_SERVICE_MFA,
            .handlers = s_handlers,
            .dispatch = mfa_worker_dispatch,
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
    mfa_writer_destroy (&shared.writer);
    pst_curve_destroy (&curve);
    sodium_memzero (shared.code_key, sizeof shared.code_key);
}
