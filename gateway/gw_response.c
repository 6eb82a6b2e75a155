#include "gw_response.h"
#include "pst_error.h"
#include "pst_log.h"
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct _gw_response_t {
    int status;
    char *body;
    size_t headers;
    char *names [GW_RESPONSE_MAX_HEADERS];
    char *values [GW_RESPONSE_MAX_HEADERS];
};

static gw_response_t *
s_new (int status, const json_t *document)
{
    gw_response_t *self = (gw_response_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->status = status;
    if (document) {
        self->body = json_dumps (document, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!self->body)
            gw_response_destroy (&self);
    }
    return self;
}

gw_response_t *
gw_response_json_text (int status, char **body_p)
{
    gw_response_t *self = body_p && *body_p? s_new (status, NULL): NULL;
    if (self)
        self->body = *body_p;
    else
    if (body_p)
        free (*body_p);
    if (body_p)
        *body_p = NULL;
    return self;
}

void
gw_response_destroy (gw_response_t **self_p)
{
    if (self_p && *self_p) {
        gw_response_t *self = *self_p;
        free (self->body);
        for (size_t i = 0; i < self->headers; i++) {
            free (self->names [i]);
            free (self->values [i]);
        }
        free (self);
        *self_p = NULL;
    }
}

static const char *
s_reason_phrase (int status)
{
    const char *phrase = MHD_get_reason_phrase_for ((unsigned int) status);
    return phrase && *phrase && strcmp (phrase, "Unknown") != 0? phrase: "Error";
}

static json_t *
s_error_document (gw_family_t family, int status, const char *code, const char *message)
{
    if (family == GW_FAMILY_MGMT)
        return json_pack ("{s:i, s:s, s:s, s:s}", "statusCode", status,
                          "error", s_reason_phrase (status), "message", message,
                          "errorCode", code);
    return json_pack ("{s:s, s:s}", "error", code, "error_description", message);
}

gw_response_t *
gw_response_error (gw_family_t family, int status, const char *code, const char *message)
{
    json_t *document = s_error_document (family, status, code, message? message: "");
    gw_response_t *self = document? s_new (status, document): NULL;
    json_decref (document);
    return self;
}

gw_response_t *
gw_response_rate_limited (int retry_after)
{
    gw_response_t *self = gw_response_error (GW_FAMILY_MGMT, MHD_HTTP_TOO_MANY_REQUESTS,
        PST_ERR_TOO_MANY_REQUESTS, "Too many requests: this client's Management API rate "
        "limit is spent for now; retry after the Retry-After header's seconds");
    char seconds [16];
    snprintf (seconds, sizeof seconds, "%d", retry_after);
    if (self)
        gw_response_add_header (self, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    return self;
}

//  Seconds as a header value; integers and numeric strings are accepted.
static int
s_retry_after (const json_t *value, char *out, size_t size)
{
    long long seconds = -1;
    if (json_is_integer (value))
        seconds = json_integer_value (value);
    else
    if (json_is_real (value))
        seconds = (long long) (json_real_value (value) + 0.999);
    if (seconds < 0 || seconds > 86400 * 366)
        return -1;
    snprintf (out, size, "%lld", seconds);
    return 0;
}

void
gw_response_rate_limit (gw_response_t *self, long long limit, long long remaining,
                        long long reset)
{
    const struct { const char *header; long long value; } fields [] = {
        { "X-RateLimit-Limit", limit },
        { "X-RateLimit-Remaining", remaining },
        { "X-RateLimit-Reset", reset },
    };
    for (size_t index = 0; index < sizeof fields / sizeof fields [0]; index++) {
        if (fields [index].value < 0 || fields [index].value > 100000000000LL)
            continue;
        char text [24];
        snprintf (text, sizeof text, "%lld", fields [index].value);
        gw_response_add_header (self, fields [index].header, text);
    }
}

//  The headers of a service's rate_limit object {limit, remaining, reset}; a
//  member that is no integer is left out
static void
s_rate_limit_headers (gw_response_t *self, const json_t *rate_limit)
{
    const char *members [] = { "limit", "remaining", "reset" };
    long long values [3];
    for (size_t index = 0; index < 3; index++) {
        json_t *value = json_object_get (rate_limit, members [index]);
        values [index] = json_is_integer (value)? (long long) json_integer_value (value): -1;
    }
    gw_response_rate_limit (self, values [0], values [1], values [2]);
}

static gw_response_t *
s_render_error (const gw_route_t *route, const pst_msg_t *reply)
{
    const char *code = pst_msg_error (reply);
    const char *message = pst_msg_error_text (reply);
    if (!pst_error_known (code)) {
        pst_log (PST_LOG_ERROR, "bus_unknown_error_code", "op", route->op, NULL);
        code = PST_ERR_INTERNAL;
        message = "Internal error";
    }
    int status = pst_error_http_status (code);
    json_t *document = s_error_document (route->family, status, code, message? message: "");
    json_t *body = pst_msg_body (reply);
    char retry_after [24] = "";
    json_t *rate_limit = NULL;
    const char *key;
    json_t *value;
    json_object_foreach (body, key, value) {
        if (strcmp (key, "retry_after") == 0)
            s_retry_after (value, retry_after, sizeof retry_after);
        else
        if (strcmp (key, "rate_limit") == 0)
            rate_limit = value;
        else
        if (document && route->family == GW_FAMILY_AUTH && !json_object_get (document, key))
            json_object_set (document, key, value);
    }
    gw_response_t *self = document? s_new (status, document): NULL;
    json_decref (document);
    if (self && *retry_after)
        gw_response_add_header (self, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (self && status == MHD_HTTP_TOO_MANY_REQUESTS)
        s_rate_limit_headers (self, rate_limit);
    return self;
}

gw_response_t *
gw_response_from_reply (const gw_route_t *route, const pst_msg_t *reply)
{
    if (pst_msg_is_error (reply))
        return s_render_error (route, reply);
    if (route->status == MHD_HTTP_NO_CONTENT || route->empty)
        return s_new (route->status, NULL);
    json_t *body = pst_msg_body (reply);
    json_t *result = json_object_get (body, "result");
    return s_new (route->status, result? result: body);
}

gw_response_t *
gw_response_empty (int status)
{
    return s_new (status, NULL);
}

int
gw_response_status (gw_response_t *self)
{
    return self->status;
}

const char *
gw_response_body (gw_response_t *self)
{
    return self->body;
}

int
gw_response_add_header (gw_response_t *self, const char *name, const char *value)
{
    if (self->headers == GW_RESPONSE_MAX_HEADERS)
        return -1;
    char *name_copy = strdup (name);
    char *value_copy = strdup (value);
    if (!name_copy || !value_copy) {
        free (name_copy);
        free (value_copy);
        return -1;
    }
    self->names [self->headers] = name_copy;
    self->values [self->headers] = value_copy;
    self->headers++;
    return 0;
}

const char *
gw_response_header (gw_response_t *self, const char *name)
{
    for (size_t i = 0; i < self->headers; i++)
        if (strcasecmp (self->names [i], name) == 0)
            return self->values [i];
    return NULL;
}

size_t
gw_response_header_count (gw_response_t *self)
{
    return self->headers;
}

const char *
gw_response_header_name (gw_response_t *self, size_t index)
{
    return index < self->headers? self->names [index]: NULL;
}

const char *
gw_response_header_value (gw_response_t *self, size_t index)
{
    return index < self->headers? self->values [index]: NULL;
}

void
gw_response_challenge (gw_response_t *self, const char *authorization)
{
    if (self->status != MHD_HTTP_UNAUTHORIZED || !authorization)
        return;
    if (strncasecmp (authorization, "Basic ", 6) == 0)
        gw_response_add_header (self, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                GW_RESPONSE_CHALLENGE_BASIC);
    else
    if (strncasecmp (authorization, "Bearer ", 7) == 0)
        gw_response_add_header (self, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                GW_RESPONSE_CHALLENGE_BEARER);
}

int
gw_response_queue (gw_response_t **self_p, struct MHD_Connection *connection,
                   int cacheable, int closing)
{
    gw_response_t *self = *self_p;
    const char *body = self->body;
    struct MHD_Response *mhd = MHD_create_response_from_buffer (
        body? strlen (body): 0, (void *) (body? body: ""), MHD_RESPMEM_MUST_COPY);
    enum MHD_Result result = MHD_NO;
    if (mhd) {
        if (body)
            MHD_add_response_header (mhd, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header (mhd, "X-Content-Type-Options", "nosniff");
        if (!cacheable) {
            MHD_add_response_header (mhd, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
            MHD_add_response_header (mhd, MHD_HTTP_HEADER_PRAGMA, "no-cache");
        }
        for (size_t i = 0; i < self->headers; i++)
            MHD_add_response_header (mhd, self->names [i], self->values [i]);
        //  A keep-alive client would otherwise go on sending to a gateway that
        //  is draining; closing sends it to a new connection, that is, another
        //  gateway
        if (closing)
            MHD_add_response_header (mhd, MHD_HTTP_HEADER_CONNECTION, "close");
        result = MHD_queue_response (connection, (unsigned int) self->status, mhd);
        MHD_destroy_response (mhd);
    }
    gw_response_destroy (self_p);
    return result == MHD_YES? 0: -1;
}
