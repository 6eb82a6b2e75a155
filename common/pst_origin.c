#include "pst_origin.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX    253
#define LABEL_MAX   63

//  An origin taken apart; pointers into the text, lengths beside them
typedef struct {
    const char *scheme;
    size_t scheme_len;
    const char *host;
    size_t host_len;
    long port;                  //  -1 when none is written
    int wildcard;               //  the host holds a '*'
} parts_t;

static int
s_label_char (int c)
{
    return isalnum (c) || c == '-' || c == '_';
}

static int
s_all_digits (const char *text, size_t len)
{
    for (size_t at = 0; at < len; at++)
        if (!isdigit ((unsigned char) text [at]))
            return 0;
    return len > 0;
}

static int
s_scheme_is (const parts_t *parts, const char *scheme)
{
    return parts->scheme_len == strlen (scheme)
        && strncasecmp (parts->scheme, scheme, parts->scheme_len) == 0;
}

//  A DNS name or dotted IPv4 address of len bytes; at most one '*', in the
//  first label, when wildcard. 0 or -1.
static int
s_check_name (const char *host, size_t len, int wildcard, parts_t *parts)
{
    if (len == 0 || len > HOST_MAX)
        return -1;
    size_t labels = 0, stars = 0, all_digits = 0;
    const char *label = host, *end = host + len;
    const char *last = host;
    while (label <= end) {
        const char *dot = memchr (label, '.', (size_t) (end - label));
        size_t label_len = (size_t) ((dot? dot: end) - label);
        if (label_len == 0 || label_len > LABEL_MAX)
            return -1;
        for (size_t at = 0; at < label_len; at++) {
            if (label [at] == '*' && wildcard && labels == 0 && stars == 0)
                stars++;
            else
            if (!s_label_char ((unsigned char) label [at]))
                return -1;
        }
        all_digits += s_all_digits (label, label_len);
        labels++;
        last = label;
        label += label_len + 1;
    }
    parts->wildcard = stars > 0;
    //  A wildcard stands in a subdomain of a name: "*.com" or "*.1.2.3" is not one
    if (stars && (labels < 3 || s_all_digits (last, (size_t) (end - last))))
        return -1;
    //  Numbers only is an IPv4 address, and must be a good one
    if (all_digits == labels) {
        char address [16];
        if (len >= sizeof address)
            return -1;
        memcpy (address, host, len);
        address [len] = 0;
        struct in_addr v4;
        return inet_pton (AF_INET, address, &v4) == 1? 0: -1;
    }
    return 0;
}

//  Takes text apart; 0, or -1 when it is not an origin
static int
s_parse (const char *text, int wildcard, parts_t *parts)
{
    memset (parts, 0, sizeof *parts);
    parts->port = -1;
    if (!text || strlen (text) > PST_ORIGIN_MAX || !isalpha ((unsigned char) *text))
        return -1;
    const char *at = text;
    while (isalnum ((unsigned char) *at) || *at == '+' || *at == '-' || *at == '.')
        at++;
    if (strncmp (at, "://", 3) != 0)
        return -1;
    parts->scheme = text;
    parts->scheme_len = (size_t) (at - text);
    at += 3;
    parts->host = at;
    if (*at == '[') {
        const char *close = strchr (at, ']');
        char address [INET6_ADDRSTRLEN];
        size_t len = close? (size_t) (close - at - 1): 0;
        struct in6_addr v6;
        if (!close || len == 0 || len >= sizeof address)
            return -1;
        memcpy (address, at + 1, len);
        address [len] = 0;
        if (inet_pton (AF_INET6, address, &v6) != 1)
            return -1;
        at = close + 1;
    }
    else {
        while (*at && *at != ':' && *at != '/')
            at++;
        if (s_check_name (parts->host, (size_t) (at - parts->host), wildcard, parts) != 0)
            return -1;
    }
    parts->host_len = (size_t) (at - parts->host);
    if (*at == ':') {
        at++;
        size_t digits = strspn (at, "0123456789");
        if (digits == 0 || digits > 5)
            return -1;
        parts->port = strtol (at, NULL, 10);
        if (parts->port < 1 || parts->port > 65535)
            return -1;
        at += digits;
    }
    //  A lone trailing "/": the URL of the origin's root, the same origin
    if (*at == '/')
        at++;
    if (*at)
        return -1;
    if (parts->wildcard && !s_scheme_is (parts, "http") && !s_scheme_is (parts, "https"))
        return -1;
    return 0;
}

int
pst_origin_valid (const char *text, int wildcard)
{
    parts_t parts;
    return s_parse (text, wildcard, &parts);
}

int
pst_origin_normalize (const char *text, char *out, size_t size)
{
    parts_t parts;
    if (s_parse (text, 1, &parts) != 0)
        return -1;
    int default_port = (s_scheme_is (&parts, "http") && parts.port == 80)
                    || (s_scheme_is (&parts, "https") && parts.port == 443);
    char port [24] = "";        //  any long fits: the compiler cannot see the parse keep it to 65535
    if (parts.port > 0 && !default_port)
        snprintf (port, sizeof port, ":%ld", parts.port);
    int length = snprintf (out, size, "%.*s://%.*s%s", (int) parts.scheme_len, parts.scheme,
                           (int) parts.host_len, parts.host, port);
    if (length < 0 || (size_t) length >= size)
        return -1;
    for (char *at = out; *at; at++)
        *at = (char) tolower ((unsigned char) *at);
    return 0;
}

int
pst_origin_is_pattern (const char *pattern)
{
    return pattern && strchr (pattern, '*') != NULL;
}

int
pst_origin_match (const char *pattern, const char *origin)
{
    if (!pattern || !origin)
        return 0;
    const char *star = strchr (pattern, '*');
    if (!star)
        return strcmp (pattern, origin) == 0;
    //  pattern is A*B: origin is A, then one or more characters of one DNS
    //  label, then B
    size_t before = (size_t) (star - pattern);
    size_t after = strlen (star + 1);
    size_t length = strlen (origin);
    if (length <= before + after || strncmp (origin, pattern, before) != 0
    ||  strcmp (origin + length - after, star + 1) != 0)
        return 0;
    for (size_t at = before; at < length - after; at++)
        if (!s_label_char ((unsigned char) origin [at]))
            return 0;
    return 1;
}
