#include "pst_bus.h"
#include "pst_curve.h"
#include "pst_log.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_IVL_MS        1000
#define HEARTBEAT_TIMEOUT_MS    3000

void
pst_bus_tune (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, PST_MSG_MAX_SIZE);
    zsock_set_linger (sock, 0);
    zsock_set_heartbeat_ivl (sock, HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout (sock, HEARTBEAT_TIMEOUT_MS);
    zsock_set_heartbeat_ttl (sock, HEARTBEAT_TIMEOUT_MS);
}

int
pst_bus_send_encoded (zsock_t *sock, zmsg_t *route, const uint8_t *data, size_t size)
{
    void *handle = zsock_resolve (sock);
    int rc = 0;
    for (zframe_t *frame = route? zmsg_first (route): NULL; frame && rc == 0;
         frame = zmsg_next (route))
        if (zmq_send (handle, zframe_data (frame), zframe_size (frame),
                      ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            rc = -1;
    if (rc == 0 && zmq_send (handle, data, size, ZMQ_DONTWAIT) < 0)
        rc = -1;
    return rc;
}

int
pst_bus_send_routed (zsock_t *sock, zmsg_t *route, const pst_msg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (pst_msg_encode (msg, &data, &size) != 0)
        return -1;
    int rc = pst_bus_send_encoded (sock, route, data, size);
    free (data);
    return rc;
}

int
pst_bus_send (zsock_t *sock, zframe_t *route, const pst_msg_t *msg)
{
    if (!route)
        return pst_bus_send_routed (sock, NULL, msg);
    zmsg_t *frames = zmsg_new ();
    zmsg_append (frames, &(zframe_t *) { zframe_dup (route) });
    int rc = pst_bus_send_routed (sock, frames, msg);
    zmsg_destroy (&frames);
    return rc;
}

pst_msg_t *
pst_bus_decode_last (zmsg_t *zmsg, const char *where)
{
    zframe_t *payload = zmsg_last (zmsg);
    pst_msg_t *msg = NULL;
    if (!payload
    ||  pst_msg_decode (zframe_data (payload), zframe_size (payload), &msg) != 0) {
        pst_log (PST_LOG_WARN, "bus_malformed", "where", where, NULL);
        return NULL;
    }
    return msg;
}

//  The envelope of a message a DEALER received; NULL (logged) when malformed.
//  Destroys the message.
static pst_msg_t *
s_decode_dealer (zmsg_t **zmsg_p)
{
    zmsg_t *zmsg = *zmsg_p;
    pst_msg_t *msg = NULL;
    if (zmsg_size (zmsg) == 1)
        msg = pst_bus_decode_last (zmsg, "dealer");
    else
        pst_log (PST_LOG_WARN, "bus_malformed", "where", "dealer", "reason", "frame count", NULL);
    zmsg_destroy (zmsg_p);
    return msg;
}

pst_msg_t *
pst_bus_recv_dealer (zsock_t *sock)
{
    zmsg_t *zmsg = zmsg_recv (sock);
    return zmsg? s_decode_dealer (&zmsg): NULL;
}

int
pst_bus_recv_dealer_nowait (zsock_t *sock, pst_msg_t **msg_p)
{
    int timeout = zsock_rcvtimeo (sock);
    zsock_set_rcvtimeo (sock, 0);
    zmsg_t *zmsg = zmsg_recv (sock);
    zsock_set_rcvtimeo (sock, timeout);
    //  A malformed message was read too: the socket may hold more behind it
    int read = zmsg != NULL;
    *msg_p = zmsg? s_decode_dealer (&zmsg): NULL;
    return read;
}

//  ---------------------------------------------------------------------------
//  Client

struct _pst_client_t {
    zsock_t *sock;
};

//  Only inproc, which never leaves the process, goes without CURVE quietly
void
pst_bus_insecure_said (const char *endpoint, pst_curve_t *curve, const char *side)
{
    if (!curve && strncmp (endpoint, "inproc://", 9) != 0)
        pst_log (PST_LOG_WARN, "bus_insecure", "endpoint", endpoint, "side", side,
                 "detail", "no CURVE: any local process may use this socket", NULL);
}

unsigned
pst_bus_sender_role (zframe_t *payload)
{
    const char *user = payload? zframe_meta (payload, "User-Id"): NULL;
    const char *service = payload? zframe_meta (payload, "service"): NULL;
    //  No User-Id: no handler authenticated the peer; never believed
    if (!user || !*user || !service)
        return 0;
    return pst_curve_role (service);
}

//  Connects sock to every endpoint of a comma-separated list: the instances of
//  one service. The DEALER sends each request to one connected instance in
//  turn (ZMQ_IMMEDIATE skips those not connected), so a dead instance costs
//  only the requests it held. Replicas of a service share its key pair, so
//  the server key pinned once holds for all.
static int
s_connect_all (zsock_t *sock, const char *endpoints)
{
    char *list = strdup (endpoints);
    if (!list)
        return -1;
    int connected = 0;
    int rc = 0;
    char *saved = NULL;
    for (char *endpoint = strtok_r (list, ", ", &saved); endpoint && rc == 0;
         endpoint = strtok_r (NULL, ", ", &saved)) {
        rc = zsock_connect (sock, "%s", endpoint);
        if (rc != 0)
            pst_log (PST_LOG_ERROR, "bus_connect_failed", "endpoint", endpoint, NULL);
        else
            connected++;
    }
    free (list);
    return rc == 0 && connected > 0? 0: -1;
}

pst_client_t *
pst_client_new (const char *endpoint, pst_curve_t *curve, const char *server)
{
    pst_client_t *self = (pst_client_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock) {
        free (self);
        return NULL;
    }
    pst_bus_tune (self->sock);
    zsock_set_immediate (self->sock, 1);
    pst_bus_insecure_said (endpoint, curve, "client");
    if (curve && pst_curve_client (curve, self->sock, server) != 0) {
        pst_client_destroy (&self);
        return NULL;
    }
    if (s_connect_all (self->sock, endpoint) != 0)
        pst_client_destroy (&self);
    return self;
}

void
pst_client_destroy (pst_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy (&(*self_p)->sock);
        free (*self_p);
        *self_p = NULL;
    }
}

zsock_t *
pst_client_sock (pst_client_t *self)
{
    return self->sock;
}

pst_msg_t *
pst_client_call (pst_client_t *self, const pst_msg_t *request)
{
    if (pst_msg_remaining_ms (request) <= 0)
        return NULL;
    //  ZMQ_IMMEDIATE: nothing is queued for a peer that is not connected, so a
    //  request never reaches a service after its caller gave up; wait a little
    //  for a connection instead (see the header).
    void *handle = zsock_resolve (self->sock);
    int64_t connect_until = zclock_mono () + PST_CLIENT_CONNECT_WAIT_MS;
    while (pst_bus_send_routed (self->sock, NULL, request) != 0) {
        int remaining = pst_msg_remaining_ms (request);
        int64_t connect_left = connect_until - zclock_mono ();
        if (connect_left < remaining)
            remaining = (int) (connect_left > 0? connect_left: 0);
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLOUT, 0 };
        if (remaining <= 0 || zmq_poll (&item, 1, remaining) <= 0)
            return NULL;
    }
    //  A receive that waits, not a poll and then a receive: libzmq's zmq_poll
    //  looks at every socket twice and each look costs system calls, which on
    //  a virtual machine are most of what a bus hop costs (docs/performance.md)
    pst_msg_t *reply = NULL;
    while (!reply) {
        int remaining = pst_msg_remaining_ms (request);
        if (remaining <= 0)
            break;
        zsock_set_rcvtimeo (self->sock, remaining);
        zmsg_t *zmsg = zmsg_recv (self->sock);
        if (!zmsg && errno != EAGAIN)
            break;              //  interrupted
        reply = zmsg? s_decode_dealer (&zmsg): NULL;
        if (reply && !streq (pst_msg_id (reply), pst_msg_id (request)))
            pst_msg_destroy (&reply);   //  a late reply to a request given up on
    }
    zsock_set_rcvtimeo (self->sock, -1);
    return reply;
}
