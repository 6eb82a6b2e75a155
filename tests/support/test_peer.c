//  test_peer - see test_peer.h

#include "test_peer.h"
#include "pst_bus.h"

int
test_peer_serve (zsock_t *router, test_peer_fn *answer, int timeout_ms, pst_msg_t **seen_p)
{
    zsock_set_rcvtimeo (router, timeout_ms);
    zmsg_t *zmsg = zmsg_recv (router);
    if (!zmsg)
        return -1;
    zframe_t *route = zmsg_pop (zmsg);
    zframe_t *payload = zmsg_pop (zmsg);
    pst_msg_t *seen = NULL;
    int rc = route && payload
          && pst_msg_decode (zframe_data (payload), zframe_size (payload), &seen) == 0? 0: -2;
    if (rc == 0 && answer) {
        pst_msg_t *reply = pst_msg_new_reply (seen);
        answer (seen, reply);
        if (pst_bus_send (router, route, reply) != 0)
            rc = -2;
        pst_msg_destroy (&reply);
    }
    if (seen_p && rc == 0)
        *seen_p = seen;
    else
        pst_msg_destroy (&seen);
    zframe_destroy (&route);
    zframe_destroy (&payload);
    zmsg_destroy (&zmsg);
    return rc;
}
