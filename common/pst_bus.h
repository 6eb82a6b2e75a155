/*  pst_bus - correlated request/reply over ZeroMQ.

    A service binds one ROUTER (its frontend). Callers connect a DEALER each
    (pst_client) and may have many requests in flight; every reply repeats its
    request's id, so a late reply to an abandoned request is recognised and dropped.
    Every bus socket caps message size (ZMQ_MAXMSGSIZE = PST_MSG_MAX_SIZE), runs
    ZMTP heartbeats so a dead peer is noticed, and does not linger on close
    (except a stopping service's frontend, for the replies of its drain).

    The service side, a ROUTER with its worker threads, is pst_service.
*/
#ifndef PST_BUS_H_INCLUDED
#define PST_BUS_H_INCLUDED

#include <czmq.h>
#include "pst_catalogue.h"
#include "pst_curve.h"
#include "pst_msg.h"

//  Applies the bus defaults (max message size, heartbeats, linger 0) to a socket.
void
    pst_bus_tune (zsock_t *sock);

//  Sends msg as one frame, preceded by the routing frame when route is not NULL.
//  Non-blocking: -1 when the message cannot be queued now.
int
    pst_bus_send (zsock_t *sock, zframe_t *route, const pst_msg_t *msg);

//  ---------------------------------------------------------------------------
//  Client side

typedef struct _pst_client_t pst_client_t;

//  Connects a DEALER to endpoint (or to each of a comma-separated list of
//  endpoints, a service's instances, taking turns) as curve's identity, talking only to the
//  holder of server's key (pst_curve_client). ZMQ_IMMEDIATE is on: nothing
//  queues for a peer that is not connected, so a restarted service never
//  receives requests whose callers gave up while it was down. curve may be NULL
//  only for inproc endpoints; elsewhere that is logged as insecure (the bus's
//  own unit tests). NULL when the server's key is unknown or on failure.
pst_client_t *
    pst_client_new (const char *endpoint, pst_curve_t *curve, const char *server);
void
    pst_client_destroy (pst_client_t **self_p);

//  Sends request and waits for its reply until the request's deadline. With no
//  connection to the service it waits PST_CLIENT_CONNECT_WAIT_MS at most (ZeroMQ
//  reconnects every 100 ms, so a service that is restarting is found again), not
//  the whole deadline: a worker calling a dead service must not be held, or one
//  service's outage would starve its callers' other work. Returns the
//  reply (caller owns), or NULL when the service is unreachable or silent (the
//  caller answers PST_ERR_UNAVAILABLE). Replies to other ids are discarded.
#define PST_CLIENT_CONNECT_WAIT_MS  250

pst_msg_t *
    pst_client_call (pst_client_t *self, const pst_msg_t *request);

//  The underlying socket, for callers that multiplex many requests in a poller.
zsock_t *
    pst_client_sock (pst_client_t *self);

//  The role (PST_CALLER_* bit) of the peer that sent payload, a frame read
//  from a CURVE server socket: the "service" its key was admitted as
//  (pst_auth). 0 when the frame carries no authenticated identity.
unsigned
    pst_bus_sender_role (zframe_t *payload);

//  Receives and decodes one message from a DEALER-like socket; NULL when the
//  message is malformed (it is logged and dropped).
pst_msg_t *
    pst_bus_recv_dealer (zsock_t *sock);

//  The same without waiting: 1 when a message was read (*msg_p is NULL when it
//  was malformed), 0 when none was waiting. A thread that reads a socket until
//  this says 0 may then wait on the socket's ZMQ_FD: ZeroMQ wakes it when
//  something new comes.
int
    pst_bus_recv_dealer_nowait (zsock_t *sock, pst_msg_t **msg_p);

//  Sends msg on sock behind the frames of route (a ROUTER's identities; NULL:
//  none). Never blocks. 0 or -1.
int
    pst_bus_send_routed (zsock_t *sock, zmsg_t *route, const pst_msg_t *msg);

//  The same for a message already encoded (data, size: not taken), so that a
//  thread sharing sock under a lock encodes before it takes the lock.
int
    pst_bus_send_encoded (zsock_t *sock, zmsg_t *route, const uint8_t *data, size_t size);

//  Decodes the last frame of zmsg (not taken); NULL (logged as bus_malformed
//  with where) when malformed.
pst_msg_t *
    pst_bus_decode_last (zmsg_t *zmsg, const char *where);

//  Logs bus_insecure when endpoint leaves the process without CURVE; side is
//  "client" or "server".
void
    pst_bus_insecure_said (const char *endpoint, pst_curve_t *curve, const char *side);

#endif
