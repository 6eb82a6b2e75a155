/*  gw_deadline - an absolute deadline for each request's headers and body.

    libmicrohttpd's connection timeout is an idle timeout: a client that sends a
    byte now and then (a slowloris) keeps its connection for as long as it likes,
    and enough of them fill the connection limit. Here every connection is
    tracked from the moment it is accepted; a request whose headers and body have
    not all arrived within the deadline has its socket shut down, which makes
    libmicrohttpd close the connection at its next read. The clock runs while a
    request arrives (from the accept, or from the end of the previous answer on a
    kept-alive connection) and stops while the gateway works on a complete one.

    A watcher thread checks the tracked connections a few times a second. Every
    other call comes from the daemon's thread; untracking must happen before the
    daemon closes the socket (libmicrohttpd's "connection closed" notification
    does), so the watcher never shuts down a descriptor that was reused.
*/
#ifndef GW_DEADLINE_H_INCLUDED
#define GW_DEADLINE_H_INCLUDED

typedef struct _gw_deadline_t gw_deadline_t;
typedef struct _gw_deadline_conn_t gw_deadline_conn_t;

//  Starts the watcher; requests get seconds to arrive. NULL on failure.
gw_deadline_t *
    gw_deadline_new (unsigned seconds);

//  Stops the watcher. Connections still tracked are forgotten, not shut down.
void
    gw_deadline_destroy (gw_deadline_t **self_p);

//  A connection was accepted on socket fd: its clock starts now. NULL when out
//  of memory (that connection then has only the idle timeout).
gw_deadline_conn_t *
    gw_deadline_track (gw_deadline_t *self, int fd);

//  The connection closes: forget it before its socket is closed. Nulls *conn_p;
//  does nothing when it is NULL.
void
    gw_deadline_untrack (gw_deadline_t *self, gw_deadline_conn_t **conn_p);

//  A request is in (or answered early): no deadline while the gateway works.
void
    gw_deadline_stop (gw_deadline_t *self, gw_deadline_conn_t *conn);

//  The answer is out: the next request on the connection has from now.
void
    gw_deadline_restart (gw_deadline_t *self, gw_deadline_conn_t *conn);

#endif
