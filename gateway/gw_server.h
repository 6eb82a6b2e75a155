/*  gw_server - the gateway as a CZMQ actor: keys, bus thread, HTTP daemons.

    args is a gw_config_t * that must outlive the actor. After the usual
    zsock_signal handshake the actor reports the bound ports,
        zsock_send (pipe, "ii", https_port, http_port)
    with 0 for a listener that is off, or -1, -1 when it could not start. It then
    serves until $TERM:
        zactor_t *gateway = zactor_new (gw_server_actor, config);
        int https_port, http_port;
        zsock_recv (gateway, "ii", &https_port, &http_port);
*/
#ifndef GW_SERVER_H_INCLUDED
#define GW_SERVER_H_INCLUDED

#include <czmq.h>

void
    gw_server_actor (zsock_t *pipe, void *args);

#endif
