//  postern-mailer: delivers mfa's mail jobs over SMTP. Settings: mailer/README.md.
#include "mailer_config.h"
#include "mailer_server.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include "pst_memory.h"

int
main (void)
{
    pst_log_init ("mailer");
    pst_memory_tune ();
    if (pst_crypto_init () != 0) {
        pst_log (PST_LOG_ERROR, "crypto_init_failed", NULL);
        return 1;
    }
    mailer_config_t *config = mailer_config_from_env ();
    if (!config) {
        pst_log (PST_LOG_ERROR, "config_failed", NULL);
        return 1;
    }
    char *endpoint = NULL;
    zactor_t *server = pst_actor_new (mailer_server_actor, config, "s", &endpoint);
    int ok = server != NULL;
    zstr_free (&endpoint);
    if (ok) {
        //  CZMQ turns SIGINT and SIGTERM into zsys_interrupted, which ends the wait
        zpoller_t *poller = zpoller_new (server, NULL);
        while (poller && !zsys_interrupted) {
            if (zpoller_wait (poller, -1) == server)
                break;      //  the actor only speaks when it has stopped on its own
            if (zpoller_terminated (poller))
                break;
        }
        zpoller_destroy (&poller);
    }
    zactor_destroy (&server);
    mailer_config_destroy (&config);
    pst_log (PST_LOG_INFO, "service_stopped", "service", "mailer", NULL);
    return ok? 0: 1;
}
