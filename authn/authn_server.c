#include "authn_server.h"
#include "authn_admin.h"
#include "authn_users.h"
#include "authn_bootstrap.h"
#include "authn_discovery.h"
#include "authn_keys.h"
#include "authn_oidc.h"
#include "authn_token.h"
#include "authn_worker.h"
#include "pst_actor.h"
#include "pst_service.h"
#include "pst_log.h"
#include <unistd.h>

//  authn's rows of the operation catalogue: their handlers, declared, then as
//  the dispatch table
#define PST_OP(service, name, handler, ...) PST_WHEN (AUTHN, service, pst_handler_fn handler;)
#include "pst_ops.def"
#define PST_OP(service, name, handler, ...) PST_WHEN (AUTHN, service, { name, handler },)
static const pst_handler_t s_handlers [] = {
#include "pst_ops.def"
    { NULL, NULL }
};

//  What every worker starts from
typedef struct {
    const authn_config_t *config;
    pst_curve_t *curve;
    authn_audit_t *audit;
    authn_attempts_t *attempts;
} s_shared_t;

static void *
s_worker_init (void *args)
{
    s_shared_t *shared = (s_shared_t *) args;
    return authn_worker_new (shared->config, shared->curve, shared->audit, shared->attempts);
}

static void
s_worker_destroy (void *worker)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    authn_worker_destroy (&self);
}

void
authn_server_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("authn-main");
    const authn_config_t *config = (const authn_config_t *) args;
    if (authn_bootstrap_run (config, pst_catalogue_scopes (PST_SYSTEM_API_MGMT),
                             pst_catalogue_scopes (PST_SYSTEM_API_MFA)) != 0) {
        //  Not the database's location: a URL may hold a password (the store
        //  logged why it failed)
        pst_log (PST_LOG_ERROR, "authn_prepare_failed", NULL);
        pst_actor_failed (pipe, "database could not be prepared");
        return;
    }
    size_t per_key = authn_attempts_per_key (sysconf (_SC_NPROCESSORS_ONLN),
                                             config->login_max_failures);
    s_shared_t shared = { config, pst_curve_new (config->keys_dir, config->key_name, true),
                          authn_audit_new (config),
                          authn_attempts_new ((size_t) config->workers, per_key) };
    if (!shared.curve || !shared.audit || !shared.attempts) {
        pst_actor_failed (pipe, !shared.curve? "no usable bus key":
                                !shared.audit? "audit log unavailable": "out of memory");
        pst_curve_destroy (&shared.curve);
        authn_audit_destroy (&shared.audit);
        authn_attempts_destroy (&shared.attempts);
        return;
    }
    pst_service_config_t service = {
        .name = "authn", .endpoint = config->endpoint, .curve = shared.curve,
        .service = PST_SERVICE_AUTHN, .handlers = s_handlers,
        .workers = config->workers, .worker_init = s_worker_init,
        .worker_destroy = s_worker_destroy, .args = &shared
    };
    pst_service_run_actor (pipe, &service);
    authn_attempts_destroy (&shared.attempts);
    authn_audit_destroy (&shared.audit);
    pst_curve_destroy (&shared.curve);
}
