//  postern-mfa: the mfa service process. Configuration: mfa/README.md.

#include "mfa_server.h"
#include "pst_actor.h"
#include "pst_log.h"
#include "pst_memory.h"

int
main (void)
{
    pst_log_init ("mfa");
    pst_memory_tune ();
    mfa_config_t *config = mfa_config_from_env ();
    if (!config)
        return 1;
    char *endpoint = NULL, *jobs = NULL;
    zactor_t *server = pst_actor_new (mfa_server_actor, config, "ss", &endpoint, &jobs);
    int rc = server? 0: 1;
    //  CZMQ turns SIGINT and SIGTERM into zsys_interrupted
    while (rc == 0 && !zsys_interrupted)
        zclock_sleep (200);
    pst_log (PST_LOG_INFO, "mfa_stopping", NULL);
    zactor_destroy (&server);
    zstr_free (&endpoint);
    zstr_free (&jobs);
    mfa_config_destroy (&config);
    return rc;
}
