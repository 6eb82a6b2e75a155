#include "gw_routes.h"
#include "pst_catalogue.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The routes are the catalogue's rows that have one (common/pst_ops.def), in its
//  order, copied once into the gateway's own shape.
#define MAX_ROUTES  128
static gw_route_t s_routes [MAX_ROUTES + 1];
static pthread_once_t s_routes_once = PTHREAD_ONCE_INIT;

static void
s_routes_build (void)
{
    size_t count = 0;
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++) {
        //  Only authn and mfa serve HTTP; a row that says otherwise has no route
        if (!op->path || !op->method || count == MAX_ROUTES
        ||  (op->service != PST_SERVICE_AUTHN && op->service != PST_SERVICE_MFA))
            continue;
        gw_route_t *route = &s_routes [count++];
        route->method = op->method;
        route->path = op->path;
        route->service = op->service == PST_SERVICE_AUTHN? GW_SERVICE_AUTHN: GW_SERVICE_MFA;
        route->op = op->name;
        route->scope = op->scope;
        route->auth = (gw_auth_t) op->auth;
        route->status = op->status;
        route->family = op->api == PST_API_MGMT? GW_FAMILY_MGMT: GW_FAMILY_AUTH;
        route->cacheable = (op->flags & PST_OP_CACHEABLE) != 0;
        route->mirrored = (op->flags & PST_OP_MIRRORED) != 0;
        route->keys_changed = (op->flags & PST_OP_KEYS_CHANGED) != 0;
        route->empty = (op->flags & PST_OP_EMPTY) != 0;
    }
}

static const char *s_service_names [GW_SERVICE_COUNT] = { "authn", "mfa" };

const gw_route_t *
gw_routes_table (void)
{
    pthread_once (&s_routes_once, s_routes_build);
    return s_routes;
}

const char *
gw_service_name (gw_service_t service)
{
    return service >= 0 && service < GW_SERVICE_COUNT? s_service_names [service]: "unknown";
}

//  Length of the segment starting at text (up to '/' or the end).
static size_t
s_segment_len (const char *text)
{
    const char *slash = strchr (text, '/');
    return slash? (size_t) (slash - text): strlen (text);
}

static int
s_is_capture (const char *segment, size_t len, const char *name)
{
    size_t name_len = strlen (name);
    return len == name_len + 2 && segment [0] == '{' && segment [len - 1] == '}'
        && memcmp (segment + 1, name, name_len) == 0;
}

//  Matches path against pattern, filling captures when match is not NULL.
static int
s_path_matches (const char *pattern, const char *path, gw_match_t *match)
{
    if (*pattern != '/' || *path != '/')
        return 0;
    while (*pattern && *path) {
        pattern++;                          //  past the '/'
        path++;
        size_t plen = s_segment_len (pattern);
        size_t len = s_segment_len (path);
        char *capture = NULL;
        if (s_is_capture (pattern, plen, "id"))
            capture = match? match->id: NULL;
        else
        if (s_is_capture (pattern, plen, "sub_id"))
            capture = match? match->sub_id: NULL;
        else
        if (plen != len || memcmp (pattern, path, len) != 0)
            return 0;
        if (pattern [0] == '{' && (len == 0 || len > GW_ROUTE_CAPTURE_MAX))
            return 0;
        if (capture) {
            memcpy (capture, path, len);
            capture [len] = 0;
        }
        pattern += plen;
        path += len;
    }
    return *pattern == 0 && *path == 0;
}

int
gw_routes_match (const char *method, const char *path, gw_match_t *match)
{
    memset (match, 0, sizeof *match);
    int path_known = 0;
    for (const gw_route_t *route = gw_routes_table (); route->method; route++) {
        if (!s_path_matches (route->path, path, NULL))
            continue;
        path_known = 1;
        if (strcmp (route->method, method) == 0) {
            s_path_matches (route->path, path, match);
            match->route = route;
            return 200;
        }
    }
    return path_known? 405: 404;
}

char *
gw_routes_allow (const char *path)
{
    const char *methods [16];
    size_t count = 0;
    char allow [128] = "";
    for (const gw_route_t *route = gw_routes_table (); route->method; route++) {
        if (!s_path_matches (route->path, path, NULL))
            continue;
        size_t seen = 0;
        while (seen < count && strcmp (methods [seen], route->method) != 0)
            seen++;
        if (seen < count || count == sizeof methods / sizeof methods [0])
            continue;
        methods [count++] = route->method;
        size_t used = strlen (allow);
        snprintf (allow + used, sizeof allow - used, "%s%s", used? ", ": "", route->method);
    }
    return strdup (allow);
}

gw_family_t
gw_routes_family (const char *path)
{
    return path && strncmp (path, "/api/v2/", 8) == 0? GW_FAMILY_MGMT: GW_FAMILY_AUTH;
}
