#include "gw_proxy.h"
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Addresses are compared as 16 bytes; IPv4 lives in ::ffff:0:0/96 so one
//  comparison serves both families and a v4-mapped peer matches an IPv4 range.
typedef struct {
    uint8_t bytes [16];
    int prefix;                 //  leading bits that must match
} s_range_t;

struct _gw_proxy_t {
    s_range_t ranges [GW_PROXY_RANGES_MAX];
    size_t count;
};

#define ENTRY_MAX   64          //  longer than any address with a /prefix

//  Parses text[0..size) as a numeric address into bytes; returns 4 or 6 for
//  the family written, 0 when it is not an address. Brackets around IPv6 are
//  allowed, as some proxies write them.
static int
s_parse_address (const char *text, size_t size, uint8_t bytes [16])
{
    if (size >= 2 && text [0] == '[' && text [size - 1] == ']') {
        text++;
        size -= 2;
    }
    if (size == 0 || size >= ENTRY_MAX)
        return 0;
    char copy [ENTRY_MAX];
    memcpy (copy, text, size);
    copy [size] = '\0';
    struct in_addr v4;
    if (inet_pton (AF_INET, copy, &v4) == 1) {
        memset (bytes, 0, 10);
        bytes [10] = bytes [11] = 0xff;
        memcpy (bytes + 12, &v4, 4);
        return 4;
    }
    struct in6_addr v6;
    if (inet_pton (AF_INET6, copy, &v6) == 1) {
        memcpy (bytes, &v6, 16);
        return 6;
    }
    return 0;
}

static int
s_is_v4_mapped (const uint8_t bytes [16])
{
    static const uint8_t prefix [12] = { 0,0,0,0, 0,0,0,0, 0,0, 0xff,0xff };
    return memcmp (bytes, prefix, sizeof prefix) == 0;
}

//  One list entry: "address" or "address/prefix".
static int
s_parse_range (const char *text, size_t size, s_range_t *range)
{
    const char *slash = memchr (text, '/', size);
    size_t address_size = slash? (size_t) (slash - text): size;
    int family = s_parse_address (text, address_size, range->bytes);
    if (!family)
        return -1;
    int bits = family == 4? 32: 128;
    int prefix = bits;
    if (slash) {
        const char *digits = slash + 1;
        size_t count = size - address_size - 1;
        if (count == 0 || count > 3)
            return -1;
        prefix = 0;
        for (size_t index = 0; index < count; index++) {
            if (digits [index] < '0' || digits [index] > '9')
                return -1;
            prefix = prefix * 10 + (digits [index] - '0');
        }
        if (prefix > bits)
            return -1;
    }
    range->prefix = family == 4? prefix + 96: prefix;
    return 0;
}

static int
s_in_range (const s_range_t *range, const uint8_t bytes [16])
{
    int whole = range->prefix / 8, rest = range->prefix % 8;
    if (memcmp (range->bytes, bytes, (size_t) whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t) (0xff << (8 - rest));
    return (range->bytes [whole] & mask) == (bytes [whole] & mask);
}

static int
s_trusted (const gw_proxy_t *self, const uint8_t bytes [16])
{
    for (size_t index = 0; index < self->count; index++)
        if (s_in_range (&self->ranges [index], bytes))
            return 1;
    return 0;
}

static void
s_trim (const char **start_p, const char **end_p)
{
    while (*start_p < *end_p && (**start_p == ' ' || **start_p == '\t'))
        (*start_p)++;
    while (*end_p > *start_p && ((*end_p) [-1] == ' ' || (*end_p) [-1] == '\t'))
        (*end_p)--;
}

gw_proxy_t *
gw_proxy_new (const char *list, char **error_p)
{
    *error_p = NULL;
    gw_proxy_t *self = (gw_proxy_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (!list)
        return self;
    size_t length = strnlen (list, GW_PROXY_LIST_MAX + 1);
    if (length > GW_PROXY_LIST_MAX) {
        *error_p = strdup ("POSTERN_TRUSTED_PROXIES is too long");
        gw_proxy_destroy (&self);
        return NULL;
    }
    const char *at = list, *end = list + length;
    while (at < end) {
        const char *comma = memchr (at, ',', (size_t) (end - at));
        const char *entry_end = comma? comma: end;
        const char *start = at;
        s_trim (&start, &entry_end);
        if (start < entry_end) {
            int full = self->count == GW_PROXY_RANGES_MAX;
            if (full || s_parse_range (start, (size_t) (entry_end - start),
                                       &self->ranges [self->count]) != 0) {
                char message [160];
                int shown = entry_end - start > 48? 48: (int) (entry_end - start);
                if (full)
                    snprintf (message, sizeof message,
                              "POSTERN_TRUSTED_PROXIES holds more than %d entries",
                              GW_PROXY_RANGES_MAX);
                else
                    snprintf (message, sizeof message,
                              "POSTERN_TRUSTED_PROXIES: '%.*s' is not an address or CIDR range",
                              shown, start);
                *error_p = strdup (message);
                gw_proxy_destroy (&self);
                return NULL;
            }
            self->count++;
        }
        at = comma? comma + 1: end;
    }
    return self;
}

void
gw_proxy_destroy (gw_proxy_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
gw_proxy_trusts (const gw_proxy_t *self, const char *address)
{
    uint8_t bytes [16];
    return self && address && s_parse_address (address, strnlen (address, ENTRY_MAX), bytes)
        && s_trusted (self, bytes);
}

//  Canonical text of bytes: dotted IPv4 for a v4-mapped address.
static void
s_format (const uint8_t bytes [16], char *out, size_t size)
{
    if (s_is_v4_mapped (bytes))
        inet_ntop (AF_INET, bytes + 12, out, (socklen_t) size);
    else
        inet_ntop (AF_INET6, bytes, out, (socklen_t) size);
}

int
gw_proxy_client (const gw_proxy_t *self, const char *peer, const char *forwarded,
                 char *client, size_t size)
{
    snprintf (client, size, "%s", peer? peer: "");
    if (!self || self->count == 0 || !forwarded || !gw_proxy_trusts (self, peer))
        return 0;
    //  Right to left: the nearest hop was written by our own proxy. A hop that
    //  cannot be read ends the walk: what lies left of it is not to be trusted.
    const char *end = forwarded + strnlen (forwarded, 8192);
    int from_header = 0;
    for (int hops = 0; hops < GW_PROXY_HOPS_MAX && end > forwarded; hops++) {
        const char *start = end;
        while (start > forwarded && start [-1] != ',')
            start--;
        const char *entry = start, *entry_end = end;
        s_trim (&entry, &entry_end);
        uint8_t bytes [16];
        if (!s_parse_address (entry, (size_t) (entry_end - entry), bytes))
            break;
        s_format (bytes, client, size);
        from_header = 1;
        if (!s_trusted (self, bytes))
            break;
        end = start > forwarded? start - 1: forwarded;
    }
    return from_header;
}

static enum MHD_Result
s_last_forwarded (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    if (key && value && strcasecmp (key, "X-Forwarded-For") == 0)
        *(const char **) cls = value;
    return MHD_YES;
}

void
gw_proxy_connection_client (const gw_proxy_t *self, struct MHD_Connection *connection,
                            char *client, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *address = info? info->client_addr: NULL;
    char peer [INET6_ADDRSTRLEN] = "";
    if (address && address->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) address)->sin_addr,
                   peer, sizeof peer);
    else
    if (address && address->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) address)->sin6_addr,
                   peer, sizeof peer);
    const char *forwarded = NULL;
    if (self && gw_proxy_trusts (self, peer))
        MHD_get_connection_values (connection, MHD_HEADER_KIND, s_last_forwarded,
                                   (void *) &forwarded);
    gw_proxy_client (self, peer, forwarded, client, size);
}
