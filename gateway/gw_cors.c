#include "gw_cors.h"
#include "pst_error.h"
#include "pst_log.h"
#include "pst_origin.h"
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What a browser app may read of an answer beyond the safelisted headers
#define EXPOSED     "WWW-Authenticate, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, " \
                    "X-RateLimit-Reset"
//  The request headers a route reads: the body's type and Auth0's SDK
//  telemetry always, Authorization where the route takes a credential there
#define HEADERS             "Content-Type, Auth0-Client"
#define HEADERS_AUTHORIZED  "Authorization, Content-Type, Auth0-Client"

struct _gw_cors_t {
    pthread_rwlock_t lock;
    json_t *clients;            //  client_id -> [normalized origin...]; NULL until loaded
    json_t *exact;              //  normalized origin -> true, of every client
    json_t *patterns;           //  wildcard pattern -> true, of every client
};

gw_cors_t *
gw_cors_new (void)
{
    gw_cors_t *self = (gw_cors_t *) calloc (1, sizeof *self);
    if (self && pthread_rwlock_init (&self->lock, NULL) != 0) {
        free (self);
        self = NULL;
    }
    return self;
}

void
gw_cors_destroy (gw_cors_t **self_p)
{
    if (self_p && *self_p) {
        gw_cors_t *self = *self_p;
        pthread_rwlock_destroy (&self->lock);
        json_decref (self->clients);
        json_decref (self->exact);
        json_decref (self->patterns);
        free (self);
        *self_p = NULL;
    }
}

//  Adds one client's origins to the tables being built; 0, or -1 when the
//  entry is malformed
static int
s_add_client (json_t *clients, json_t *exact, json_t *patterns, const json_t *entry)
{
    const char *client_id = json_string_value (json_object_get (entry, "client_id"));
    json_t *origins = json_object_get (entry, "origins");
    if (!client_id || !*client_id || !json_is_array (origins))
        return -1;
    //  set_new takes the array, also when it fails
    json_t *normalized = json_array ();
    if (!normalized || json_object_set_new (clients, client_id, normalized) != 0)
        return -1;
    size_t index;
    json_t *origin;
    json_array_foreach (origins, index, origin) {
        char text [PST_ORIGIN_MAX + 1];
        if (pst_origin_normalize (json_string_value (origin), text, sizeof text) != 0) {
            //  authn checks them as they are written: this is a row from elsewhere
            pst_log (PST_LOG_WARN, "cors_origin_skipped", "client_id", client_id, NULL);
            continue;
        }
        json_t *table = pst_origin_is_pattern (text)? patterns: exact;
        if (json_array_append_new (normalized, json_string (text)) != 0
        ||  json_object_set_new (table, text, json_true ()) != 0)
            return -1;
    }
    return 0;
}

int
gw_cors_update (gw_cors_t *self, const json_t *list)
{
    json_t *clients = json_object ();
    json_t *exact = json_object ();
    json_t *patterns = json_object ();
    int rc = json_is_array (list) && clients && exact && patterns? 0: -1;
    size_t index;
    json_t *entry;
    json_array_foreach (list, index, entry) {
        if (rc == 0)
            rc = s_add_client (clients, exact, patterns, entry);
    }
    if (rc == 0) {
        pthread_rwlock_wrlock (&self->lock);
        json_t *old [3] = { self->clients, self->exact, self->patterns };
        self->clients = clients;
        self->exact = exact;
        self->patterns = patterns;
        pthread_rwlock_unlock (&self->lock);
        clients = old [0];
        exact = old [1];
        patterns = old [2];
    }
    json_decref (clients);
    json_decref (exact);
    json_decref (patterns);
    return rc;
}

int
gw_cors_loaded (gw_cors_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    int loaded = self->clients != NULL;
    pthread_rwlock_unlock (&self->lock);
    return loaded;
}

size_t
gw_cors_size (gw_cors_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    size_t size = json_object_size (self->exact) + json_object_size (self->patterns);
    pthread_rwlock_unlock (&self->lock);
    return size;
}

int
gw_cors_allows (gw_cors_t *self, const char *client_id, const char *origin)
{
    char text [PST_ORIGIN_MAX + 1];
    //  A request's Origin is one origin, never a pattern
    if (!origin || pst_origin_normalize (origin, text, sizeof text) != 0
    ||  pst_origin_is_pattern (text))
        return 0;
    int allowed = 0;
    pthread_rwlock_rdlock (&self->lock);
    if (self->clients && client_id) {
        size_t index;
        json_t *pattern;
        json_array_foreach (json_object_get (self->clients, client_id), index, pattern) {
            if (pst_origin_match (json_string_value (pattern), text)) {
                allowed = 1;
                break;
            }
        }
    }
    else
    if (self->clients) {
        allowed = json_object_get (self->exact, text) != NULL;
        const char *pattern;
        json_t *value;
        json_object_foreach (self->patterns, pattern, value) {
            if (allowed)
                break;
            allowed = pst_origin_match (pattern, text);
        }
    }
    pthread_rwlock_unlock (&self->lock);
    return allowed;
}

static void
s_allow_origin (gw_response_t *response, const char *origin)
{
    gw_response_add_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if (strcmp (origin, "*") != 0)
        gw_response_add_header (response, MHD_HTTP_HEADER_VARY, "Origin");
}

gw_response_t *
gw_cors_preflight (gw_cors_t *self, const char *path, const char *origin, const char *method)
{
    char *allow = gw_routes_allow (path);
    gw_match_t match;
    int found = method? gw_routes_match (method, path, &match): 0;
    gw_response_t *response = NULL;
    if (!allow)
        return NULL;
    if (method && found != 200)
        response = gw_response_error (GW_FAMILY_AUTH, MHD_HTTP_METHOD_NOT_ALLOWED,
            PST_ERR_METHOD_NOT_ALLOWED, "Method Not Allowed");
    else
    if (!origin || !method)
        response = gw_response_empty (MHD_HTTP_NO_CONTENT);
    else
    if (match.route->cacheable || gw_cors_allows (self, NULL, origin)) {
        response = gw_response_empty (MHD_HTTP_NO_CONTENT);
        if (response) {
            char max_age [16];
            snprintf (max_age, sizeof max_age, "%d", GW_CORS_MAX_AGE_S);
            s_allow_origin (response, match.route->cacheable? "*": origin);
            gw_response_add_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, allow);
            gw_response_add_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS,
                match.route->auth == GW_AUTH_NONE? HEADERS: HEADERS_AUTHORIZED);
            gw_response_add_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, max_age);
        }
    }
    else {
        response = gw_response_error (GW_FAMILY_AUTH, MHD_HTTP_FORBIDDEN, PST_ERR_ACCESS_DENIED,
            "Origin not allowed: no application lists it in web_origins or allowed_origins");
        if (response)
            gw_response_add_header (response, MHD_HTTP_HEADER_VARY, "Origin");
    }
    if (response)
        gw_response_add_header (response, MHD_HTTP_HEADER_ALLOW, allow);
    free (allow);
    return response;
}

void
gw_cors_decorate (gw_cors_t *self, gw_response_t *response, const gw_route_t *route,
                  const char *origin, const char *client_id)
{
    if (!response || !route || route->family != GW_FAMILY_AUTH)
        return;
    if (route->cacheable) {
        s_allow_origin (response, "*");
        return;
    }
    //  The answer depends on Origin, whatever it was
    if (!origin || !gw_cors_allows (self, client_id, origin)) {
        gw_response_add_header (response, MHD_HTTP_HEADER_VARY, "Origin");
        return;
    }
    s_allow_origin (response, origin);
    gw_response_add_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
}
