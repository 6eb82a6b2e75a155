//  postern-authn: users, applications, APIs, grants, signing keys, tokens.
#include "authn_server.h"
#include "pst_actor.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include "pst_memory.h"

int
main (void)
{
    pst_log_init ("authn");
    pst_memory_tune ();
    if (pst_crypto_init () != 0)
        return 1;
    zsys_init ();
    authn_config_t *config = authn_config_from_env ();
    if (!config)
        return 1;
    char *endpoint = NULL;
    zactor_t *server = pst_actor_new (authn_server_actor, config, "s", &endpoint);
    int failed = !server;
    zstr_free (&endpoint);
    if (!failed) {
        //  zsys's default handler sets zsys_interrupted on SIGINT/SIGTERM
        while (!zsys_interrupted)
            zclock_sleep (200);
    }
    zactor_destroy (&server);
    authn_config_destroy (&config);
    return failed? 1: 0;
}
