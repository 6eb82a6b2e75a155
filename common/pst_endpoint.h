/*  pst_endpoint - a bus server's claim on its endpoint, so two instances never
    share one.

    ZeroMQ binds ipc:// endpoints by removing whatever socket file is there: a
    second instance would silently take a live endpoint from the first, which
    would run on unreachable. So an ipc endpoint is claimed first: its folder is
    made private (0700) or must be so already, the path must fit a Unix socket
    address (107 bytes), a lock file beside it is held for as long as the claim,
    and a socket that still answers there means another instance runs. A tcp://
    endpoint needs no claim: its bind fails when the port is taken.
*/
#ifndef PST_ENDPOINT_H_INCLUDED
#define PST_ENDPOINT_H_INCLUDED

typedef struct _pst_endpoint_t pst_endpoint_t;

//  Longest ipc path (after "ipc://")
#define PST_ENDPOINT_IPC_MAX    107

//  Claims endpoint for a server about to bind it. NULL (logged, with what to
//  do) when it is taken or cannot be used.
pst_endpoint_t *
    pst_endpoint_claim (const char *endpoint);

//  Gives the claim up, removing the socket file of an ipc endpoint (ZeroMQ
//  leaves it) once the server has closed it.
void
    pst_endpoint_release (pst_endpoint_t **self_p);

//  The folder of an ipc endpoint's path made private (0700), as a data
//  directory's bus folder must be before any service binds in it. 0 or -1.
int
    pst_endpoint_prepare_dir (const char *endpoint);

#endif
