/*  postern-gateway - the HTTP front door. Configuration: gateway/README.md. */
#include "gw_config.h"
#include "gw_server.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include "pst_memory.h"
#include <curl/curl.h>

int
main (void)
{
    pst_log_init ("gateway");
    pst_memory_tune ();
    if (pst_crypto_init () != 0 || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pst_log (PST_LOG_ERROR, "gateway_init_failed", NULL);
        return 1;
    }
    gw_config_t *config = gw_config_from_env ();
    int https_port = -1, http_port = -1;
    zactor_t *gateway = config? pst_actor_new (gw_server_actor, config, "ii",
                                               &https_port, &http_port): NULL;
    int rc = 0;
    if (!gateway)
        rc = 1;
    else {
        //  CZMQ turns SIGINT/SIGTERM into an interrupted wait
        zpoller_t *poller = zpoller_new (gateway, NULL);
        zpoller_wait (poller, -1);
        zpoller_destroy (&poller);
        pst_log (PST_LOG_INFO, "gateway_stopping", NULL);
    }
    zactor_destroy (&gateway);
    gw_config_destroy (&config);
    curl_global_cleanup ();
    return rc;
}
