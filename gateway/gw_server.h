/*  gw_server - the gateway as a pst_actor: keys, the loop (gw_bus), HTTP daemons.

    args is a gw_config_t * that must outlive the actor. The actor reports the
    bound ports (picture "ii": https, http; 0 for a listener that is off), or
    fails, and then serves until $TERM:
        int https_port, http_port;
        zactor_t *gateway = pst_actor_new (gw_server_actor, config, "ii",
                                           &https_port, &http_port);
*/
#ifndef GW_SERVER_H_INCLUDED
#define GW_SERVER_H_INCLUDED

#include <czmq.h>

void
    gw_server_actor (zsock_t *pipe, void *args);

#endif
