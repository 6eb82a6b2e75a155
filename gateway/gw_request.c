#include "gw_request.h"
#include "gw_body.h"
#include "gw_envelope.h"
#include "gw_response.h"
#include "gw_routes.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <czmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Past the limit a body is read and dropped, so that the client, which sends
//  it whole before it reads, gets the 413 rather than a reset: a socket closed
//  with unread data answers the client's next segment with RST, and the 413 is
//  lost with it. Beyond this much more the connection is simply closed.
#define MAX_DISCARD         (1024 * 1024)

typedef enum {
    REQ_NEW,                    //  headers not seen yet
    REQ_READING,                //  body arriving
    REQ_WAIT_KEYS,              //  suspended: key set refresh for an unknown kid
    REQ_WAIT_REVOCATIONS,       //  suspended: the first list of revoked tokens
    REQ_WAIT_REPLY,             //  suspended: the service is working
    REQ_WAIT_KEYS_RENEWED,      //  suspended: the keys changed, their copy renews
    REQ_DONE                    //  response queued
} req_state_t;

struct _gw_request_t {
    gw_request_shared_t *shared;
    struct MHD_Connection *connection;
    gw_deadline_conn_t *deadline;   //  the connection's record (gw_deadline), or NULL
    req_state_t state;
    enum MHD_Result result;     //  of the last MHD_queue_response
    gw_match_t match;
    char method [8];
    char client_ip [INET6_ADDRSTRLEN];
    char *query;                //  raw query string, NULL when none
    char *body;
    size_t body_size;
    size_t received;            //  body bytes, kept or not
    int too_large;
    int nul_in_path;            //  the decoded path would hold a NUL
    int mgmt;                   //  a Management API path: rate limited
    int charged;                //  counted against a bucket, as rate says
    gw_ratelimit_take_t rate;
    int keys_refreshed;
    int revocations_awaited;
    json_t *params;             //  Authentication API parameters (the envelope takes them)
    char *client_id;            //  the application they name, for CORS; or NULL
    json_t *data;               //  Management API body
    json_t *query_params;       //  Management API query
    gw_auth_verdict_t verdict;  //  the caller, its scopes and azp (for the audit)
    pst_msg_t *reply;           //  written by the bus outcome before resuming
    int status;
    int64_t started_at;
};

//  ---------------------------------------------------------------------------
//  Responses

static const char *
s_header (gw_request_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, name);
}

//  Counts the request against the bucket of kind:key, once; 1 when its
//  bucket is empty
static int
s_rate_take (gw_request_t *req, const char *kind, const char *key)
{
    char bucket [300];
    snprintf (bucket, sizeof bucket, "%s:%s", kind, key);
    gw_ratelimit_take (req->shared->ratelimit, bucket, zclock_mono (), zclock_time (),
                       &req->rate);
    req->charged = 1;
    return req->rate.refused;
}

static enum MHD_Result
s_respond (gw_request_t *req, gw_response_t *response)
{
    req->state = REQ_DONE;
    gw_deadline_stop (req->shared->deadlines, req->deadline);
    if (!response)
        response = gw_response_error (GW_FAMILY_AUTH, 500, PST_ERR_INTERNAL, "Internal error");
    //  A Management API answer the gateway gives before it knows the caller
    //  (404, 413, a malformed body) counts against the client's address
    if (req->mgmt && !req->charged && s_rate_take (req, "ip", req->client_ip)) {
        gw_response_destroy (&response);
        response = gw_response_rate_limited (req->rate.retry_after);
    }
    if (response && req->charged)
        gw_response_rate_limit (response, req->rate.limit, req->rate.remaining, req->rate.reset);
    //  The application a request names: its client_id (body or Basic), else its token's azp
    gw_cors_decorate (req->shared->cors, response, req->match.route, s_header (req, "Origin"),
                      req->client_id? req->client_id: req->verdict.caller_client);
    if (!response)
        return req->result = MHD_NO;
    req->status = gw_response_status (response);
    int cacheable = req->match.route && req->match.route->cacheable;
    int closing = atomic_load (&req->shared->stopping);
    req->result = gw_response_queue (&response, req->connection, cacheable, closing) == 0
                ? MHD_YES: MHD_NO;
    return req->result;
}

static gw_family_t
s_family (gw_request_t *req)
{
    return req->match.route? req->match.route->family: GW_FAMILY_AUTH;
}

static enum MHD_Result
s_fail (gw_request_t *req, int status, const char *code, const char *message)
{
    return s_respond (req, gw_response_error (s_family (req), status, code, message));
}

//  The refusal of a caller authentication
static enum MHD_Result
s_refuse (gw_request_t *req, const gw_auth_verdict_t *verdict)
{
    gw_response_t *response = gw_response_error (s_family (req), verdict->status,
                                                 verdict->code, verdict->message);
    if (response && verdict->challenge)
        gw_response_add_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, verdict->challenge);
    return s_respond (req, response);
}

//  ---------------------------------------------------------------------------
//  Bus outcomes, called from the gateway's loop (at once, when already known)

static void
s_on_reply (void *arg, pst_msg_t *reply)
{
    gw_request_t *req = (gw_request_t *) arg;
    req->reply = reply;
    MHD_resume_connection (req->connection);
}

//  A key set refresh, or the wait for the revocation list, is over
static void
s_on_wait_over (void *arg, pst_msg_t *reply)
{
    gw_request_t *req = (gw_request_t *) arg;
    pst_msg_destroy (&reply);
    MHD_resume_connection (req->connection);
}

//  ---------------------------------------------------------------------------
//  Envelope

static enum MHD_Result
s_send (gw_request_t *req)
{
    const gw_route_t *route = req->match.route;
    //  A document the gateway keeps a copy of: no round trip (authn is asked
    //  only while the gateway has none yet)
    char *document = route->mirrored? gw_keys_document (req->shared->keys): NULL;
    if (document)
        return s_respond (req, gw_response_json_text (route->status, &document));
    json_t *body = gw_envelope_body (&req->match, &req->params, req->data, req->query_params);
    if (!body)
        return s_fail (req, MHD_HTTP_NOT_FOUND, PST_ERR_NOT_FOUND, "Not Found");
    pst_msg_t *request = gw_envelope_request (route, req->shared->timeout_ms, &req->verdict,
                                              req->client_ip, &body);
    if (!request)
        return s_fail (req, 500, PST_ERR_INTERNAL, "Internal error");

    //  Suspend before handing over: the outcome may resume at once
    req->state = REQ_WAIT_REPLY;
    MHD_suspend_connection (req->connection);
    if (gw_bus_submit (req->shared->bus, route->service, &request, s_on_reply, req) != 0)
        MHD_resume_connection (req->connection);
    return MHD_YES;
}

//  Authenticates the caller, then forwards. A token with an unknown kid waits,
//  suspended, for one key set refresh, and a token that arrives before the
//  first revocation list for that list; each comes back here when it is over.
static enum MHD_Result
s_authorize_and_send (gw_request_t *req)
{
    const char *authorization = s_header (req, MHD_HTTP_HEADER_AUTHORIZATION);
    int may_wait = (req->keys_refreshed? 0: GW_AUTH_WAIT_KEYS)
                 | (req->revocations_awaited? 0: GW_AUTH_WAIT_REVOCATIONS);
    gw_verdict_t outcome = gw_auth_check (req->shared->auth, req->match.route, authorization,
                                          req->params, may_wait, req->client_ip, &req->verdict);
    if (outcome == GW_VERDICT_WAIT_KEYS || outcome == GW_VERDICT_WAIT_REVOCATIONS) {
        int keys = outcome == GW_VERDICT_WAIT_KEYS;
        req->state = keys? REQ_WAIT_KEYS: REQ_WAIT_REVOCATIONS;
        MHD_suspend_connection (req->connection);
        if ((keys? gw_bus_refresh_keys (req->shared->bus, s_on_wait_over, req)
                 : gw_bus_wait_revocations (req->shared->bus, s_on_wait_over, req)) != 0)
            MHD_resume_connection (req->connection);
        return MHD_YES;
    }
    const char *client_id = json_string_value (json_object_get (req->params, "client_id"));
    if (client_id && !req->client_id)
        req->client_id = strdup (client_id);
    //  Counted against the verified client, else its address, before any work
    const char *client = outcome == GW_VERDICT_OK? (req->verdict.caller_client
                       ? req->verdict.caller_client: req->verdict.caller): NULL;
    if (req->mgmt && s_rate_take (req, client? "client": "ip", client? client: req->client_ip))
        return s_respond (req, gw_response_rate_limited (req->rate.retry_after));
    if (outcome == GW_VERDICT_REFUSED)
        return s_refuse (req, &req->verdict);
    return s_send (req);
}

//  ---------------------------------------------------------------------------
//  Request phases

static enum MHD_Result
s_too_large (gw_request_t *req)
{
    char message [96];
    snprintf (message, sizeof message, "Request body exceeds %zu bytes", req->shared->max_body);
    return s_fail (req, MHD_HTTP_CONTENT_TOO_LARGE, PST_ERR_REQUEST_TOO_LARGE, message);
}

//  First call: the headers are in. Anything decidable now is answered now,
//  before the client spends time sending a body.
static enum MHD_Result
s_on_headers (gw_request_t *req, struct MHD_Connection *connection, const char *url,
              const char *method)
{
    req->connection = connection;
    req->state = REQ_READING;
    snprintf (req->method, sizeof req->method, "%s", method);
    gw_proxy_connection_client (req->shared->proxies, connection, req->client_ip,
                                sizeof req->client_ip);
    req->mgmt = gw_routes_family (url) == GW_FAMILY_MGMT;
    //  libmicrohttpd decodes the path, and a %00 would cut it short: "/clients/x%00y"
    //  must not become the client "x"
    if (req->nul_in_path) {
        gw_family_t family = gw_routes_family (url);
        return s_respond (req, gw_response_error (family, MHD_HTTP_BAD_REQUEST,
            family == GW_FAMILY_MGMT? PST_ERR_INVALID_URI: PST_ERR_INVALID_REQUEST,
            "The path holds a NUL byte (%00)"));
    }
    int found = gw_routes_match (method, url, &req->match);
    if (found == 404)
        return s_respond (req, gw_response_error (gw_routes_family (url), MHD_HTTP_NOT_FOUND,
                                                  PST_ERR_NOT_FOUND, "Not Found"));
    if (found == 405 && strcmp (method, MHD_HTTP_METHOD_OPTIONS) == 0
    &&  gw_routes_family (url) == GW_FAMILY_AUTH)
        return s_respond (req, gw_cors_preflight (req->shared->cors, url, s_header (req, "Origin"),
            s_header (req, MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD)));
    if (found == 405) {
        gw_response_t *response = gw_response_error (gw_routes_family (url),
            MHD_HTTP_METHOD_NOT_ALLOWED, PST_ERR_METHOD_NOT_ALLOWED, "Method Not Allowed");
        char *allow = gw_routes_allow (url);
        if (response && allow)
            gw_response_add_header (response, MHD_HTTP_HEADER_ALLOW, allow);
        free (allow);
        return s_respond (req, response);
    }
    //  A body declared too large is refused before it is sent when the client
    //  waits for that (Expect: 100-continue), or when it is too large to drain;
    //  otherwise it is read and dropped, and refused once in
    const char *length = s_header (req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = length? strtoull (length, NULL, 10): 0;
    const char *expect = s_header (req, MHD_HTTP_HEADER_EXPECT);
    if (declared > req->shared->max_body
    && ((expect && strcasecmp (expect, "100-continue") == 0)
    ||  declared > req->shared->max_body + MAX_DISCARD))
        return s_too_large (req);
    req->too_large = declared > req->shared->max_body;
    return MHD_YES;
}

static enum MHD_Result
s_on_data (gw_request_t *req, const char *data, size_t size)
{
    req->received += size;
    if (req->received > req->shared->max_body + MAX_DISCARD)
        return MHD_NO;
    if (req->received > req->shared->max_body && !req->too_large) {
        req->too_large = 1;
        free (req->body);
        req->body = NULL;
    }
    if (req->state != REQ_READING || req->too_large)
        return MHD_YES;
    if (!req->body && !(req->body = (char *) malloc (req->shared->max_body + 1)))
        return MHD_NO;
    memcpy (req->body + req->body_size, data, size);
    req->body_size += size;
    return MHD_YES;
}

//  Only methods that carry a resource have their body read
static int
s_has_body (const char *method)
{
    return strcmp (method, "GET") != 0 && strcmp (method, "DELETE") != 0;
}

//  The whole request is in: parse, then authenticate and forward.
static enum MHD_Result
s_on_complete (gw_request_t *req)
{
    gw_deadline_stop (req->shared->deadlines, req->deadline);
    if (req->too_large)
        return s_too_large (req);
    const gw_route_t *route = req->match.route;
    const char *body = req->body? req->body: "";
    char *error = NULL;
    if (route->family == GW_FAMILY_AUTH) {
        req->params = s_has_body (route->method)
                    ? gw_body_parse (body, req->body_size, &error): json_object ();
        if (!req->params) {
            enum MHD_Result rc = s_fail (req, MHD_HTTP_BAD_REQUEST, PST_ERR_INVALID_REQUEST,
                                         error? error: "Malformed request body");
            free (error);
            return rc;
        }
    }
    else {
        const char *code = PST_ERR_INVALID_BODY;
        if (s_has_body (route->method))
            req->data = gw_body_parse_json (body, req->body_size, &error);
        if (!error && req->query) {
            code = PST_ERR_INVALID_QUERY_STRING;
            req->query_params = gw_body_parse_form (req->query, strlen (req->query), &error);
        }
        if (error) {
            enum MHD_Result rc = s_fail (req, MHD_HTTP_BAD_REQUEST, code, error);
            free (error);
            return rc;
        }
    }
    free (req->body);
    req->body = NULL;
    return s_authorize_and_send (req);
}

static enum MHD_Result
s_on_resumed (gw_request_t *req)
{
    if (req->state == REQ_WAIT_KEYS || req->state == REQ_WAIT_REVOCATIONS) {
        req->keys_refreshed |= req->state == REQ_WAIT_KEYS;
        req->revocations_awaited |= req->state == REQ_WAIT_REVOCATIONS;
        req->state = REQ_READING;
        return s_authorize_and_send (req);
    }
    //  The keys changed (a rotation): the copy is renewed before the answer, so
    //  the caller's next JWKS from this gateway shows them; other gateways
    //  see the change at their next poll (gw_bus)
    if (req->state == REQ_WAIT_REPLY && req->reply && req->match.route->keys_changed
    &&  !pst_msg_is_error (req->reply)) {
        req->state = REQ_WAIT_KEYS_RENEWED;
        MHD_suspend_connection (req->connection);
        if (gw_bus_renew_keys (req->shared->bus, s_on_wait_over, req) != 0)
            MHD_resume_connection (req->connection);
        return MHD_YES;
    }
    if (!req->reply) {
        char message [80];
        snprintf (message, sizeof message, "Service %s is not available",
                  gw_service_name (req->match.route->service));
        return s_fail (req, MHD_HTTP_SERVICE_UNAVAILABLE, PST_ERR_UNAVAILABLE, message);
    }
    gw_response_t *response = gw_response_from_reply (req->match.route, req->reply);
    if (response)
        gw_response_challenge (response, s_header (req, MHD_HTTP_HEADER_AUTHORIZATION));
    return s_respond (req, response);
}

//  ---------------------------------------------------------------------------
//  The request's life, as the daemon sees it

gw_request_t *
gw_request_new (gw_request_shared_t *shared, const char *uri, gw_deadline_conn_t *deadline)
{
    uri = uri? uri: "";
    gw_request_t *self = (gw_request_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->shared = shared;
    self->deadline = deadline;
    self->started_at = zclock_mono ();
    self->result = MHD_YES;
    size_t path_size = strcspn (uri, "?#");
    const char *nul = strstr (uri, "%00");
    self->nul_in_path = nul && (size_t) (nul - uri) < path_size;
    if (uri [path_size] == '?')
        self->query = strndup (uri + path_size + 1, strcspn (uri + path_size + 1, "#"));
    return self;
}

enum MHD_Result
gw_request_access (gw_request_t *self, struct MHD_Connection *connection, const char *url,
                   const char *method, const char *upload_data, size_t *upload_data_size)
{
    if (self->state == REQ_NEW)
        return s_on_headers (self, connection, url, method);
    if (*upload_data_size > 0) {
        enum MHD_Result rc = s_on_data (self, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rc;
    }
    switch (self->state) {
        case REQ_READING:
            return s_on_complete (self);
        case REQ_WAIT_KEYS:
        case REQ_WAIT_REVOCATIONS:
        case REQ_WAIT_REPLY:
        case REQ_WAIT_KEYS_RENEWED:
            return s_on_resumed (self);
        default:
            return MHD_YES;
    }
}

void
gw_request_log (gw_request_t *self, bool completed)
{
    char status [8], elapsed [24];
    snprintf (status, sizeof status, "%d", self->status);
    snprintf (elapsed, sizeof elapsed, "%lld", (long long) (zclock_mono () - self->started_at));
    pst_log (PST_LOG_INFO, "http_request", "method", self->method,
             "op", self->match.route? self->match.route->op: "-",
             "status", status, "ms", elapsed, "ip", self->client_ip,
             "outcome", completed? "ok": "aborted", NULL);
}

void
gw_request_destroy (gw_request_t **self_p)
{
    if (self_p && *self_p) {
        gw_request_t *self = *self_p;
        free (self->query);
        free (self->body);
        json_decref (self->params);
        free (self->client_id);
        json_decref (self->data);
        json_decref (self->query_params);
        gw_auth_verdict_clear (&self->verdict);
        pst_msg_destroy (&self->reply);
        free (self);
        *self_p = NULL;
    }
}
