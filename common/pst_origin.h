/*  pst_origin - web origins (RFC 6454) as applications list them for CORS.

    authn checks an application's web_origins and allowed_origins with it when
    they are written; the gateway matches a request's Origin header against
    them. An origin is scheme "://" host [":" port], nothing more: no path
    (a lone trailing "/" is tolerated, as pasting a URL gives one), no query,
    no fragment, no user. The host is a DNS name, dotted IPv4 or a bracketed
    IPv6 address. As Auth0 allows, an http or https origin may hold one "*"
    in its leftmost DNS label, with at least two labels after it (hosts
    "*.example.com" or "app-*.example.com"); it stands for one or more
    characters of that one label, never for a dot.

    Two origins are compared normalized: scheme and host in lower case, the
    default port (80 for http, 443 for https) and a trailing "/" dropped.
*/
#ifndef PST_ORIGIN_H_INCLUDED
#define PST_ORIGIN_H_INCLUDED

#include <stddef.h>

//  Longest origin accepted, in bytes
#define PST_ORIGIN_MAX      256

//  0 when text is an origin as above (wildcards only when wildcard is set),
//  else -1.
int
    pst_origin_valid (const char *text, int wildcard);

//  Writes the normalized form of origin text into out (at least
//  PST_ORIGIN_MAX + 1 bytes). 0, or -1 when text is not an origin (wildcards
//  allowed).
int
    pst_origin_normalize (const char *text, char *out, size_t size);

//  1 when the normalized origin pattern holds a wildcard.
int
    pst_origin_is_pattern (const char *pattern);

//  1 when the normalized origin matches the normalized pattern (an origin
//  matches itself), else 0.
int
    pst_origin_match (const char *pattern, const char *origin);

#endif
