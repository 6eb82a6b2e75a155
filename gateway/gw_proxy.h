/*  gw_proxy - which address a request came from, when a reverse proxy is trusted.

    Sign-in throttling, rate limits and logs key on the client's address. Behind a
    load balancer every connection comes from the balancer, so the gateway may be
    told (POSTERN_TRUSTED_PROXIES) which peers are its own proxies. Only for those
    peers is X-Forwarded-For read, right to left: each hop that is itself a trusted
    proxy is skipped, and the first one that is not is the client. Any other peer's
    X-Forwarded-For is ignored, since a client can write whatever it likes there.

    The list is comma separated addresses or CIDR ranges, IPv4 or IPv6:
    "127.0.0.1, 10.1.0.0/16, ::1". An empty list trusts nobody.
*/
#ifndef GW_PROXY_H_INCLUDED
#define GW_PROXY_H_INCLUDED

#include <stddef.h>

struct MHD_Connection;

//  Longest list accepted, and most ranges in it.
#define GW_PROXY_LIST_MAX       4096
#define GW_PROXY_RANGES_MAX     64
//  Most X-Forwarded-For hops read, counting from the right.
#define GW_PROXY_HOPS_MAX       16

typedef struct _gw_proxy_t gw_proxy_t;

//  Parses a trusted-proxy list (NULL or "" = none). NULL with *error_p set
//  (caller frees) when an entry is not an address or range.
gw_proxy_t *
    gw_proxy_new (const char *list, char **error_p);

void
    gw_proxy_destroy (gw_proxy_t **self_p);

//  1 when address (numeric text) lies in a trusted range, else 0.
int
    gw_proxy_trusts (const gw_proxy_t *self, const char *address);

//  Writes the client address for a connection from peer carrying forwarded
//  (the X-Forwarded-For header, or NULL) into client (size bytes, at least
//  46). Returns 1 when it came from the header, 0 when it is the peer itself.
int
    gw_proxy_client (const gw_proxy_t *self, const char *peer, const char *forwarded,
                     char *client, size_t size);

//  gw_proxy_client for a libmicrohttpd connection: its TCP peer and, when
//  that peer is trusted, its last X-Forwarded-For header (proxies append to
//  the last line, so it holds the hops nearest to us; an earlier one may be
//  the client's own).
void
    gw_proxy_connection_client (const gw_proxy_t *self, struct MHD_Connection *connection,
                                char *client, size_t size);

#endif
