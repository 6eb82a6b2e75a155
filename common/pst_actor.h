/*  pst_actor - the life of every Postern actor: start, report, stop, clean up.

    A Postern actor is a CZMQ actor started with pst_actor_new (never zactor_new
    directly). pst_actor_new does the zactor handshake (zsock_signal) in the new
    thread before the body runs, so a body cannot forget it or send before it.
    The body then reports exactly once, with one of

        pst_actor_ready (pipe, "ss", endpoint, jobs_endpoint);
        pst_actor_failed (pipe, "outbox unusable");

    and, once ready, serves until "$TERM" arrives on its pipe
    (pst_actor_wait_term when the pipe is all it listens to). A body that failed
    simply returns.

    On the pipe the report is one message: "ok" followed by the values as
    zsock_send sends picture (no more frames for a NULL picture), or "failed"
    followed by the reason. pst_actor_new waits for it and fills the caller's
    variables as zsock_recv does (strings are the caller's to free), so no
    caller parses a handshake of its own:

        char *endpoint = NULL;
        zactor_t *actor = pst_actor_new (authn_server_actor, config, "s", &endpoint);
        if (!actor)
            ...             //  it failed and has ended; endpoint untouched

    When the body returns, pst_actor_thread_end runs in its thread before the
    actor signals its end, so when zactor_destroy returns the thread holds no
    library state any more.
*/
#ifndef PST_ACTOR_H_INCLUDED
#define PST_ACTOR_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

//  The body of an actor: args is what pst_actor_new was given.
typedef void (pst_actor_fn) (zsock_t *pipe, void *args);

//  Starts body in a thread of its own and waits for its report. picture (or
//  NULL) and the pointers after it say where the values go, as for zsock_recv;
//  they must match what the body reports. Returns the actor, or NULL when it
//  could not start: it failed, returned without a report, reported fewer values
//  than picture asks for, or the wait was interrupted. The actor has then
//  ended and the caller's variables are untouched. The reason of a failure is
//  logged at debug level: the body logs what went wrong where it knows it.
zactor_t *
    pst_actor_new (pst_actor_fn *body, void *args, const char *picture, ...);

//  Names the calling thread, as top -H, ps -L, perf and gdb show it: Linux
//  keeps the first 15 bytes (NULL: an empty name). A body calls it first
//  ("mfa-writer"), so that a service's CPU can be told apart by thread. A
//  thread made afterwards by a library (CZMQ, libcurl) inherits the name of
//  the thread that made it. Never fails the caller.
void
    pst_actor_name (const char *name);

//  The body's report that it runs, with the values of picture (NULL: none), as
//  for zsock_send. 0 or -1.
int
    pst_actor_ready (zsock_t *pipe, const char *picture, ...);

//  The body's report that it could not start; reason is a short text for the
//  creator's log. The body returns after it. 0 or -1.
int
    pst_actor_failed (zsock_t *pipe, const char *reason);

//  Reads one command from the pipe: true when it is "$TERM" or the read was
//  interrupted (a signal), false for any other command, which is dropped.
bool
    pst_actor_term_received (zsock_t *pipe);

//  Returns when "$TERM" arrives or the wait is interrupted; other commands are
//  dropped. For bodies whose work runs elsewhere (a service, an HTTP daemon).
void
    pst_actor_wait_term (zsock_t *pipe);

//  The wait of an actor that reads its sockets itself rather than through
//  zpoller. zmq_poll looks at every socket before and after it sleeps, and each
//  look costs system calls; this waits in poll() on the sockets' ZMQ_FDs. The
//  rule that makes that correct: ZeroMQ signals a socket's descriptor only
//  once a receive has found the socket empty, and any use of a socket (a send
//  too) may take the commands that would have signalled it. So before each
//  wait the body reads every socket of socks that it used or whose descriptor
//  fired until a receive finds it empty, and repeats the round while it moved
//  anything. Before its first wait the body calls pst_actor_term_pending:
//  the pipe, too, is only signalled once it has been found empty.
//
//  Waits on pipe, socks [0 .. count) and fd (when >= 0) for at most timeout_ms
//  (-1: no limit; a signal also ends the wait). Reads every command waiting on
//  the pipe. Returns PST_ACTOR_WOKE_TERM when "$TERM" came, PST_ACTOR_WOKE_FD
//  when fd is readable (the body reads it), PST_ACTOR_WOKE_SOCKET when a
//  socket's descriptor fired (it may hold nothing: read until empty again),
//  or'd together; 0 when the time ran out or a signal came; -1 when poll failed
//  or count is above PST_ACTOR_WAIT_MAX. fired (NULL: not wanted) gets, for
//  each socket, whether its descriptor fired; it is filled only when the
//  return is above 0. A body that keeps track may so read only the sockets
//  that fired or that it used since it last found them empty: the others are
//  still empty with their descriptors armed, and each look at a socket costs
//  a getpid and a poll.
#define PST_ACTOR_WOKE_TERM     1
#define PST_ACTOR_WOKE_FD       2
#define PST_ACTOR_WOKE_SOCKET   4
#define PST_ACTOR_WAIT_MAX      96
int
    pst_actor_wait (zsock_t *pipe, zsock_t *const *socks, size_t count, int fd,
                    int timeout_ms, bool *fired);

//  Reads every command waiting on the pipe: true when one was "$TERM" (or a
//  read was interrupted). Never waits.
bool
    pst_actor_term_pending (zsock_t *pipe);

//  Frees the calling thread's library state (OpenSSL's: curl, TLS, hashing and
//  its DRBG leave some in every thread that used them). pst_actor_new calls it
//  for every actor; other threads that used those libraries call it before
//  they end, because a thread still ending when OpenSSL's atexit cleanup runs
//  has its state freed twice (an ASan double free at exit).
void
    pst_actor_thread_end (void);

#endif
