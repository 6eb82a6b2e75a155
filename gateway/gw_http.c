#include "gw_http.h"
#include "gw_body.h"
#include "gw_proxy.h"
#include "gw_response.h"
#include "gw_routes.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_scope.h"
#include <czmq.h>
#include <microhttpd.h>
#include <sodium.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CREDENTIAL_SIZE 8192
//  Past the limit a chunked body is read and dropped so the 413 can be sent;
//  beyond this much the connection is simply closed
#define MAX_DISCARD         (1024 * 1024)
#define TLS_PRIORITIES      "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct _gw_http_t {
    struct MHD_Daemon *daemon;
    gw_bus_t *bus;
    gw_keys_t *keys;
    gw_proxy_t *proxies;        //  peers whose X-Forwarded-For is believed
    char *issuer;               //  https://{domain}/
    char *mgmt_audience;        //  https://{domain}/api/v2/
    char *mfa_audience;         //  https://{domain}/mfa/
    size_t max_body;
    int timeout_ms;
    int port;
    atomic_int requests;        //  requests begun and not yet completed
    atomic_int stopping;        //  quiesced: answers close their connection
};

typedef enum {
    REQ_NEW,                    //  headers not seen yet
    REQ_READING,                //  body arriving
    REQ_WAIT_KEYS,              //  suspended: key set refresh for an unknown kid
    REQ_WAIT_REPLY,             //  suspended: the service is working
    REQ_DONE                    //  response queued
} req_state_t;

typedef struct {
    gw_http_t *http;
    struct MHD_Connection *connection;
    req_state_t state;
    enum MHD_Result result;     //  of the last MHD_queue_response
    gw_match_t match;
    char method [8];
    char client_ip [INET6_ADDRSTRLEN];
    char *query;                //  raw query string, NULL when none
    char *body;
    size_t body_size;
    size_t discarded;
    int too_large;
    int keys_refreshed;
    json_t *params;             //  Authentication API parameters
    json_t *data;               //  Management API body
    json_t *query_params;       //  Management API query
    char *caller;
    char *scopes;
    char *caller_client;        //  the token's azp, for the services' audit
    pst_msg_t *reply;           //  written by the bus thread before resuming
    int status;
    int64_t started_at;
} request_t;

//  ---------------------------------------------------------------------------
//  Authorization headers

int
gw_http_basic_credentials (const char *header, char **client_id_p, char **client_secret_p)
{
    *client_id_p = NULL;
    *client_secret_p = NULL;
    if (!header || strncasecmp (header, "Basic ", 6) != 0)
        return -1;
    const char *encoded = header + 6;
    while (*encoded == ' ')
        encoded++;
    size_t size = strlen (encoded);
    while (size > 0 && encoded [size - 1] == ' ')
        size--;
    if (size == 0 || size > MAX_CREDENTIAL_SIZE)
        return -1;
    unsigned char *decoded = (unsigned char *) malloc (size);
    size_t decoded_size = 0;
    int rc = decoded? 0: -1;
    if (rc == 0
    &&  sodium_base642bin (decoded, size, encoded, size, NULL, &decoded_size, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0
    &&  sodium_base642bin (decoded, size, encoded, size, NULL, &decoded_size, NULL,
                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        rc = -1;
    const unsigned char *colon = rc == 0? memchr (decoded, ':', decoded_size): NULL;
    if (colon) {
        size_t id_size = (size_t) (colon - decoded);
        *client_id_p = gw_body_form_decode ((const char *) decoded, id_size, NULL);
        *client_secret_p = gw_body_form_decode ((const char *) colon + 1,
                                                decoded_size - id_size - 1, NULL);
    }
    if (!*client_id_p || !**client_id_p || !*client_secret_p) {
        free (*client_id_p);
        if (*client_secret_p)
            sodium_memzero (*client_secret_p, strlen (*client_secret_p));
        free (*client_secret_p);
        *client_id_p = NULL;
        *client_secret_p = NULL;
        rc = -1;
    }
    if (decoded)
        sodium_memzero (decoded, size);
    free (decoded);
    return rc;
}

char *
gw_http_bearer_token (const char *header)
{
    if (!header || strncasecmp (header, "Bearer ", 7) != 0)
        return NULL;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t size = strlen (token);
    while (size > 0 && token [size - 1] == ' ')
        size--;
    //  Wider than RFC 6750's b64token on purpose: Auth0's own mfa_tokens
    //  ("Fe26.2**...") hold '*'. Visible ASCII cannot hurt the JSON it goes into.
    for (size_t i = 0; i < size; i++)
        if (token [i] < 0x21 || token [i] > 0x7e)
            return NULL;
    if (size == 0 || size > MAX_CREDENTIAL_SIZE)
        return NULL;
    return strndup (token, size);
}

//  ---------------------------------------------------------------------------
//  Responses

static const char *
s_header (request_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, name);
}

static enum MHD_Result
s_respond (request_t *req, gw_response_t *response)
{
    req->state = REQ_DONE;
    if (!response)
        response = gw_response_error (GW_FAMILY_AUTH, 500, PST_ERR_INTERNAL, "Internal error");
    if (!response)
        return req->result = MHD_NO;
    const char *body = gw_response_body (response);
    struct MHD_Response *mhd = MHD_create_response_from_buffer (
        body? strlen (body): 0, (void *) (body? body: ""), MHD_RESPMEM_MUST_COPY);
    if (!mhd) {
        gw_response_destroy (&response);
        return req->result = MHD_NO;
    }
    if (body)
        MHD_add_response_header (mhd, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header (mhd, "X-Content-Type-Options", "nosniff");
    //  Tokens, codes and secrets travel in these answers: no cache may keep them
    if (!req->match.route || !req->match.route->cacheable) {
        MHD_add_response_header (mhd, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header (mhd, MHD_HTTP_HEADER_PRAGMA, "no-cache");
    }
    for (size_t i = 0; i < gw_response_header_count (response); i++)
        MHD_add_response_header (mhd, gw_response_header_name (response, i),
                                 gw_response_header_value (response, i));
    //  A keep-alive client would otherwise go on sending to a gateway that is
    //  draining; closing sends it to a new connection, that is, another gateway
    if (atomic_load (&req->http->stopping))
        MHD_add_response_header (mhd, MHD_HTTP_HEADER_CONNECTION, "close");
    req->status = gw_response_status (response);
    req->result = MHD_queue_response (req->connection, (unsigned int) req->status, mhd);
    MHD_destroy_response (mhd);
    gw_response_destroy (&response);
    return req->result;
}

static gw_family_t
s_family (request_t *req)
{
    return req->match.route? req->match.route->family: GW_FAMILY_AUTH;
}

static enum MHD_Result
s_fail (request_t *req, int status, const char *code, const char *message)
{
    return s_respond (req, gw_response_error (s_family (req), status, code, message));
}

//  401 with the RFC 6750 challenge, so clients know a bearer token is wanted.
static enum MHD_Result
s_fail_bearer (request_t *req, const char *message)
{
    gw_response_t *response = gw_response_error (s_family (req), MHD_HTTP_UNAUTHORIZED,
                                                 PST_ERR_INVALID_TOKEN, message);
    if (response)
        gw_response_add_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer error=\"invalid_token\"");
    return s_respond (req, response);
}

static enum MHD_Result
s_fail_scope (request_t *req)
{
    char message [160];
    snprintf (message, sizeof message, "Insufficient scope, expected any of: %s",
              req->match.route->scope);
    return s_fail (req, MHD_HTTP_FORBIDDEN, PST_ERR_INSUFFICIENT_SCOPE, message);
}

//  ---------------------------------------------------------------------------
//  Bus outcomes, called from the bus thread

static void
s_on_reply (void *arg, pst_msg_t *reply)
{
    request_t *req = (request_t *) arg;
    req->reply = reply;
    MHD_resume_connection (req->connection);
}

static void
s_on_keys (void *arg, pst_msg_t *reply)
{
    request_t *req = (request_t *) arg;
    pst_msg_destroy (&reply);
    MHD_resume_connection (req->connection);
}

//  ---------------------------------------------------------------------------
//  Caller authentication

typedef enum { AUTH_OK, AUTH_WAIT, AUTH_FAILED } auth_result_t;

//  Verifies token for audience; on an unknown kid asks once for fresh keys
//  and comes back here when they arrived.
static auth_result_t
s_verify (request_t *req, const char *token, const char *audience, json_t **claims_p)
{
    const char *reason = NULL;
    int unknown_kid = 0;
    *claims_p = gw_keys_verify (req->http->keys, token, req->http->issuer, audience,
                                &reason, &unknown_kid);
    if (*claims_p)
        return AUTH_OK;
    if (unknown_kid && !req->keys_refreshed) {
        req->state = REQ_WAIT_KEYS;
        MHD_suspend_connection (req->connection);
        if (gw_bus_refresh_keys (req->http->bus, s_on_keys, req) != 0)
            MHD_resume_connection (req->connection);
        return AUTH_WAIT;
    }
    pst_log (PST_LOG_INFO, "bearer_rejected", "reason", reason, "ip", req->client_ip, NULL);
    return AUTH_FAILED;
}

#define MAX_CALLER_SIZE     256     //  the envelope's limits (docs/protocol.md)
#define MAX_SCOPES_SIZE     4096

//  Takes sub, scope and azp from verified claims; scope may be a string or an
//  array. azp is only told on (the audit's client_id): without one, or with one
//  the envelope cannot carry, the request goes on without it.
static int
s_set_caller (request_t *req, json_t *claims)
{
    const char *sub = json_string_value (json_object_get (claims, "sub"));
    json_t *scope = json_object_get (claims, "scope");
    if (!sub || !*sub || strlen (sub) > MAX_CALLER_SIZE)
        return -1;
    char scopes [MAX_SCOPES_SIZE + 1] = "";
    size_t used = 0;
    if (json_is_string (scope))
        used = (size_t) snprintf (scopes, sizeof scopes, "%s", json_string_value (scope));
    else {
        size_t index;
        json_t *item;
        json_array_foreach (scope, index, item) {
            if (json_is_string (item) && used < sizeof scopes)
                used += (size_t) snprintf (scopes + used, sizeof scopes - used, "%s%s",
                                           used? " ": "", json_string_value (item));
        }
    }
    if (used > MAX_SCOPES_SIZE)
        return -1;
    free (req->caller);
    free (req->scopes);
    free (req->caller_client);
    req->caller = strdup (sub);
    req->scopes = strdup (scopes);
    const char *azp = json_string_value (json_object_get (claims, "azp"));
    req->caller_client = azp && *azp && strlen (azp) <= MAX_CALLER_SIZE? strdup (azp): NULL;
    return req->caller && req->scopes? 0: -1;
}

//  HTTP Basic client credentials join the body (RFC 6749 §2.3.1); a client
//  must use one method only, so conflicting credentials are refused.
static auth_result_t
s_auth_client (request_t *req)
{
    const char *header = s_header (req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header || strncasecmp (header, "Basic ", 6) != 0)
        return AUTH_OK;
    char *client_id = NULL, *client_secret = NULL;
    if (gw_http_basic_credentials (header, &client_id, &client_secret) != 0) {
        s_fail (req, MHD_HTTP_UNAUTHORIZED, PST_ERR_INVALID_CLIENT,
                "Malformed Basic authorization header");
        return AUTH_FAILED;
    }
    const char *body_id = pst_json_str (req->params, "client_id");
    auth_result_t result = AUTH_OK;
    if (body_id && strcmp (body_id, client_id) != 0) {
        s_fail (req, MHD_HTTP_BAD_REQUEST, PST_ERR_INVALID_REQUEST,
                "client_id does not match the Authorization header");
        result = AUTH_FAILED;
    }
    else
    if (pst_json_str (req->params, "client_secret")) {
        s_fail (req, MHD_HTTP_BAD_REQUEST, PST_ERR_INVALID_REQUEST,
                "Client credentials sent twice: use HTTP Basic or the body, not both");
        result = AUTH_FAILED;
    }
    else {
        json_object_set_new (req->params, "client_id", json_string (client_id));
        if (*client_secret)
            json_object_set_new (req->params, "client_secret", json_string (client_secret));
    }
    free (client_id);
    sodium_memzero (client_secret, strlen (client_secret));
    free (client_secret);
    return result;
}

static auth_result_t
s_auth_mgmt (request_t *req)
{
    char *token = gw_http_bearer_token (s_header (req, MHD_HTTP_HEADER_AUTHORIZATION));
    if (!token) {
        s_fail_bearer (req, "Missing authentication");
        return AUTH_FAILED;
    }
    json_t *claims = NULL;
    auth_result_t result = s_verify (req, token, req->http->mgmt_audience, &claims);
    free (token);
    if (result == AUTH_WAIT)
        return result;
    //  Only machine tokens administer the tenant, whatever their audience says
    const char *grant = json_string_value (json_object_get (claims, "gty"));
    if (result == AUTH_FAILED || !grant || strcmp (grant, "client-credentials") != 0
    ||  s_set_caller (req, claims) != 0) {
        json_decref (claims);
        s_fail_bearer (req, "Invalid token");
        return AUTH_FAILED;
    }
    json_decref (claims);
    if (req->match.route->scope && !pst_scope_has (req->scopes, req->match.route->scope)) {
        s_fail_scope (req);
        return AUTH_FAILED;
    }
    return AUTH_OK;
}

typedef enum {
    MFA_BEARER_EITHER,          //  an mfa_token or an /mfa/ access token
    MFA_BEARER_ACCESS,          //  an /mfa/ access token only
    MFA_BEARER_MFA_TOKEN        //  an mfa_token only
} mfa_bearer_t;

//  An mfa_token (opaque) travels to mfa in the body when the route takes one;
//  an access token for the /mfa/ audience is verified here and becomes the caller.
static auth_result_t
s_auth_mfa_bearer (request_t *req, mfa_bearer_t accepted)
{
    char *token = gw_http_bearer_token (s_header (req, MHD_HTTP_HEADER_AUTHORIZATION));
    if (!token) {
        s_fail_bearer (req, "Missing Authorization: Bearer token");
        return AUTH_FAILED;
    }
    int takes_mfa_token = accepted != MFA_BEARER_ACCESS;
    if (accepted == MFA_BEARER_MFA_TOKEN && gw_keys_is_jwt (token)) {
        //  Said plainly, so nobody mistakes a valid access token for a bad one
        free (token);
        s_fail (req, MHD_HTTP_FORBIDDEN, PST_ERR_ACCESS_DENIED,
                "Enrolling with an access token is not supported yet: use the mfa_token "
                "from the mfa_required error");
        return AUTH_FAILED;
    }
    if (!gw_keys_is_jwt (token)) {
        if (takes_mfa_token)
            json_object_set_new (req->params, "mfa_token", json_string (token));
        else
            s_fail_bearer (req, "An access token for the MFA API is required");
        free (token);
        return takes_mfa_token? AUTH_OK: AUTH_FAILED;
    }
    json_t *claims = NULL;
    auth_result_t result = s_verify (req, token, req->http->mfa_audience, &claims);
    free (token);
    if (result == AUTH_WAIT)
        return result;
    //  The MFA API acts for a user; a machine token has none to act for
    const char *grant = json_string_value (json_object_get (claims, "gty"));
    if (result == AUTH_FAILED || (grant && strcmp (grant, "client-credentials") == 0)
    ||  s_set_caller (req, claims) != 0) {
        json_decref (claims);
        s_fail_bearer (req, "Invalid or expired access token");
        return AUTH_FAILED;
    }
    json_decref (claims);
    if (req->match.route->scope && !pst_scope_has (req->scopes, req->match.route->scope)) {
        s_fail_scope (req);
        return AUTH_FAILED;
    }
    //  One credential per request: the verified token, not a body mfa_token
    json_object_del (req->params, "mfa_token");
    return AUTH_OK;
}

static auth_result_t
s_auth_mfa (request_t *req)
{
    return s_auth_mfa_bearer (req, MFA_BEARER_EITHER);
}

//  Routes that change a user's authenticators want proof of a finished sign-in
//  (contract §5): an mfa_token only shows a password was right
static auth_result_t
s_auth_mfa_access (request_t *req)
{
    return s_auth_mfa_bearer (req, MFA_BEARER_ACCESS);
}

static auth_result_t
s_auth_mfa_token (request_t *req)
{
    return s_auth_mfa_bearer (req, MFA_BEARER_MFA_TOKEN);
}

//  ---------------------------------------------------------------------------
//  Envelope

static json_t *
s_mgmt_body (request_t *req)
{
    json_t *body = json_object ();
    int ok = body != NULL;
    if (ok && *req->match.id)
        ok = json_object_set_new (body, "id", json_string (req->match.id)) == 0;
    if (ok && *req->match.sub_id)
        ok = json_object_set_new (body, "sub_id", json_string (req->match.sub_id)) == 0;
    if (ok && req->data)
        ok = json_object_set (body, "data", req->data) == 0;
    if (ok && req->query_params && json_object_size (req->query_params) > 0)
        ok = json_object_set (body, "query", req->query_params) == 0;
    if (!ok) {
        json_decref (body);
        body = NULL;
    }
    return body;
}

static enum MHD_Result
s_send (request_t *req)
{
    const gw_route_t *route = req->match.route;
    json_t *body = NULL;
    if (route->family == GW_FAMILY_AUTH) {
        body = req->params;
        req->params = NULL;
        //  The path's {id} wins over a body member of that name; json_string
        //  refuses one that is not UTF-8: no such resource
        if (*req->match.id && json_object_set_new (body, "id", json_string (req->match.id))) {
            json_decref (body);
            return s_fail (req, MHD_HTTP_NOT_FOUND, PST_ERR_NOT_FOUND, "Not Found");
        }
    }
    else
    if (!(body = s_mgmt_body (req)))
        //  json_string refuses a path id that is not UTF-8: no such resource
        return s_fail (req, MHD_HTTP_NOT_FOUND, PST_ERR_NOT_FOUND, "Not Found");

    pst_msg_t *request = pst_msg_new_request (route->op, req->http->timeout_ms);
    if (!request) {
        json_decref (body);
        return s_fail (req, 500, PST_ERR_INTERNAL, "Internal error");
    }
    if (req->caller)
        pst_msg_set_caller (request, req->caller, req->scopes);
    pst_msg_set_caller_client (request, req->caller_client);
    if (*req->client_ip)
        pst_msg_set_client_ip (request, req->client_ip);
    pst_msg_set_body (request, &body);
    json_decref (body);     //  only when set_body refused it

    //  Suspend before handing over: the bus thread may resume at once
    req->state = REQ_WAIT_REPLY;
    MHD_suspend_connection (req->connection);
    if (gw_bus_submit (req->http->bus, route->service, &request, s_on_reply, req) != 0)
        MHD_resume_connection (req->connection);
    return MHD_YES;
}

static enum MHD_Result
s_authorize_and_send (request_t *req)
{
    static auth_result_t (*const s_authenticators []) (request_t *) = {
        [GW_AUTH_NONE] = NULL,
        [GW_AUTH_CLIENT] = s_auth_client,
        [GW_AUTH_MGMT] = s_auth_mgmt,
        [GW_AUTH_MFA] = s_auth_mfa,
        [GW_AUTH_MFA_ACCESS] = s_auth_mfa_access,
        [GW_AUTH_MFA_TOKEN] = s_auth_mfa_token
    };
    auth_result_t (*authenticate) (request_t *) = s_authenticators [req->match.route->auth];
    auth_result_t result = authenticate? authenticate (req): AUTH_OK;
    if (result == AUTH_WAIT)
        return MHD_YES;
    if (result == AUTH_FAILED)
        return req->result;
    return s_send (req);
}

//  ---------------------------------------------------------------------------
//  Request phases

//  Proxies append their peer to the last X-Forwarded-For line, so that line
//  holds the hops nearest to us; an earlier line may be the client's own.
static enum MHD_Result
s_last_forwarded (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    if (key && value && strcasecmp (key, "X-Forwarded-For") == 0)
        *(const char **) cls = value;
    return MHD_YES;
}

static void
s_client_address (request_t *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
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
    if (req->http->proxies && gw_proxy_trusts (req->http->proxies, peer))
        MHD_get_connection_values (req->connection, MHD_HEADER_KIND, s_last_forwarded,
                                   (void *) &forwarded);
    gw_proxy_client (req->http->proxies, peer, forwarded, req->client_ip,
                     sizeof req->client_ip);
}

static enum MHD_Result
s_too_large (request_t *req)
{
    char message [96];
    snprintf (message, sizeof message, "Request body exceeds %zu bytes", req->http->max_body);
    return s_fail (req, MHD_HTTP_CONTENT_TOO_LARGE, "request_entity_too_large", message);
}

//  First call: the headers are in. Anything decidable now is answered now,
//  before the client spends time sending a body.
static enum MHD_Result
s_on_headers (request_t *req, struct MHD_Connection *connection, const char *url,
              const char *method)
{
    req->connection = connection;
    req->state = REQ_READING;
    snprintf (req->method, sizeof req->method, "%s", method);
    s_client_address (req);
    int found = gw_routes_match (method, url, &req->match);
    if (found == 404)
        return s_respond (req, gw_response_error (gw_routes_family (url), MHD_HTTP_NOT_FOUND,
                                                  PST_ERR_NOT_FOUND, "Not Found"));
    if (found == 405) {
        gw_response_t *response = gw_response_error (gw_routes_family (url),
            MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "Method Not Allowed");
        char *allow = gw_routes_allow (url);
        if (response && allow)
            gw_response_add_header (response, MHD_HTTP_HEADER_ALLOW, allow);
        free (allow);
        return s_respond (req, response);
    }
    const char *length = s_header (req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull (length, NULL, 10) > req->http->max_body)
        return s_too_large (req);
    return MHD_YES;
}

static enum MHD_Result
s_on_data (request_t *req, const char *data, size_t size)
{
    if (req->state == REQ_READING && !req->too_large && req->body_size + size > req->http->max_body) {
        req->too_large = 1;
        free (req->body);
        req->body = NULL;
    }
    if (req->state != REQ_READING || req->too_large) {
        req->discarded += size;
        return req->discarded > MAX_DISCARD? MHD_NO: MHD_YES;
    }
    if (!req->body && !(req->body = (char *) malloc (req->http->max_body + 1)))
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
s_on_complete (request_t *req)
{
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
        const char *code = "invalid_body";
        if (s_has_body (route->method))
            req->data = gw_body_parse_json (body, req->body_size, &error);
        if (!error && req->query) {
            code = "invalid_query_string";
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
s_on_resumed (request_t *req)
{
    if (req->state == REQ_WAIT_KEYS) {
        req->keys_refreshed = 1;
        req->state = REQ_READING;
        return s_authorize_and_send (req);
    }
    if (!req->reply) {
        char message [80];
        snprintf (message, sizeof message, "Service %s is not available",
                  gw_service_name (req->match.route->service));
        return s_fail (req, MHD_HTTP_SERVICE_UNAVAILABLE, PST_ERR_UNAVAILABLE, message);
    }
    gw_response_t *response = gw_response_from_reply (req->match.route, req->reply);
    //  A 401 names the scheme to retry with: Basic for a client that failed it
    //  (RFC 6749 §5.2), Bearer when a service refused the token (an mfa_token
    //  unknown or expired: RFC 6750 §3)
    const char *authorization = s_header (req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (response && gw_response_status (response) == MHD_HTTP_UNAUTHORIZED && authorization) {
        if (strncasecmp (authorization, "Basic ", 6) == 0)
            gw_response_add_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Basic realm=\"postern\", charset=\"UTF-8\"");
        else
        if (strncasecmp (authorization, "Bearer ", 7) == 0)
            gw_response_add_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Bearer error=\"invalid_token\"");
    }
    return s_respond (req, response);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **con_cls)
{
    (void) cls;
    (void) version;
    request_t *req = (request_t *) *con_cls;
    if (!req)
        return MHD_NO;          //  the URI callback ran out of memory
    if (req->state == REQ_NEW)
        return s_on_headers (req, connection, url, method);
    if (*upload_data_size > 0) {
        enum MHD_Result rc = s_on_data (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rc;
    }
    switch (req->state) {
        case REQ_READING:
            return s_on_complete (req);
        case REQ_WAIT_KEYS:
        case REQ_WAIT_REPLY:
            return s_on_resumed (req);
        default:
            return MHD_YES;
    }
}

//  Runs before the headers are parsed, with the raw request target: the query
//  string is kept undecoded so the form rules (bad escapes, repeats) apply.
static void *
s_on_uri (void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void) connection;
    gw_http_t *self = (gw_http_t *) cls;
    request_t *req = (request_t *) calloc (1, sizeof *req);
    if (!req)
        return NULL;
    req->http = self;
    atomic_fetch_add (&self->requests, 1);
    req->started_at = zclock_mono ();
    req->result = MHD_YES;
    const char *query = uri? strchr (uri, '?'): NULL;
    if (query)
        req->query = strndup (query + 1, strcspn (query + 1, "#"));
    return req;
}

static void
s_on_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
                enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) connection;
    request_t *req = (request_t *) *con_cls;
    if (!req)
        return;
    atomic_fetch_sub (&req->http->requests, 1);
    char status [8], elapsed [24];
    snprintf (status, sizeof status, "%d", req->status);
    snprintf (elapsed, sizeof elapsed, "%lld", (long long) (zclock_mono () - req->started_at));
    pst_log (PST_LOG_INFO, "http_request", "method", req->method,
             "op", req->match.route? req->match.route->op: "-",
             "status", status, "ms", elapsed, "ip", req->client_ip,
             "outcome", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK? "ok": "aborted", NULL);
    free (req->query);
    free (req->body);
    json_decref (req->params);
    json_decref (req->data);
    json_decref (req->query_params);
    free (req->caller);
    free (req->scopes);
    free (req->caller_client);
    pst_msg_destroy (&req->reply);
    free (req);
    *con_cls = NULL;
}

static void
s_on_mhd_error (void *cls, const char *format, va_list args)
{
    (void) cls;
    char text [256];
    vsnprintf (text, sizeof text, format, args);
    text [strcspn (text, "\r\n")] = 0;
    pst_log (PST_LOG_WARN, "http_daemon", "detail", text, NULL);
}

//  ---------------------------------------------------------------------------
//  Daemon

static int
s_address (const char *text, int port, struct sockaddr_storage *address, unsigned int *flags)
{
    memset (address, 0, sizeof *address);
    struct sockaddr_in *v4 = (struct sockaddr_in *) address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) address;
    if (inet_pton (AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t) port);
        return 0;
    }
    if (inet_pton (AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t) port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -1;
}

static char *
s_url (const char *domain, const char *path)
{
    char *url = NULL;
    if (asprintf (&url, "https://%s/%s", domain, path) < 0)
        return NULL;
    return url;
}

gw_http_t *
gw_http_new (const gw_config_t *config, int port, gw_tls_t *tls, gw_bus_t *bus, gw_keys_t *keys)
{
    gw_http_t *self = (gw_http_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->bus = bus;
    self->keys = keys;
    self->max_body = config->max_body;
    self->timeout_ms = config->bus_timeout_ms;
    self->issuer = s_url (config->domain, "");
    self->mgmt_audience = s_url (config->domain, "api/v2/");
    self->mfa_audience = s_url (config->domain, "mfa/");
    char *error = NULL;
    self->proxies = gw_proxy_new (config->trusted_proxies, &error);
    if (!self->proxies) {
        pst_log (PST_LOG_ERROR, "http_bad_trusted_proxies", "reason", error, NULL);
        free (error);
        gw_http_destroy (&self);
        return NULL;
    }

    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                       | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (tls)
        flags |= MHD_USE_TLS;
    struct sockaddr_storage address;
    if (s_address (config->bind_address, port, &address, &flags) != 0) {
        pst_log (PST_LOG_ERROR, "http_bad_bind_address", "address", config->bind_address, NULL);
        gw_http_destroy (&self);
        return NULL;
    }
    struct MHD_OptionItem tls_options [] = {
        { tls? MHD_OPTION_HTTPS_MEM_KEY: MHD_OPTION_END, 0, tls? (void *) gw_tls_key_pem (tls): NULL },
        { tls? MHD_OPTION_HTTPS_MEM_CERT: MHD_OPTION_END, 0, tls? (void *) gw_tls_cert_pem (tls): NULL },
        //  TLS 1.2 and 1.3 only (GnuTLS priority string)
        { tls? MHD_OPTION_HTTPS_PRIORITIES: MHD_OPTION_END, 0, (void *) TLS_PRIORITIES },
        { MHD_OPTION_END, 0, NULL }
    };
    if (self->issuer && self->mgmt_audience && self->mfa_audience)
        self->daemon = MHD_start_daemon (flags, (uint16_t) port, NULL, NULL, s_access, self,
            MHD_OPTION_EXTERNAL_LOGGER, s_on_mhd_error, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) config->connection_timeout_s,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config->max_connections,
            MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self,
            MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, self,
            MHD_OPTION_ARRAY, tls_options,
            MHD_OPTION_END);
    const union MHD_DaemonInfo *info = self->daemon
        ? MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT): NULL;
    if (!info || info->port == 0) {
        pst_log (PST_LOG_ERROR, "http_start_failed", "address", config->bind_address,
                 "tls", tls? "yes": "no", NULL);
        gw_http_destroy (&self);
        return NULL;
    }
    self->port = info->port;
    return self;
}

void
gw_http_quiesce (gw_http_t *self)
{
    atomic_store (&self->stopping, 1);
    MHD_socket listener = self->daemon? MHD_quiesce_daemon (self->daemon): MHD_INVALID_SOCKET;
    if (listener != MHD_INVALID_SOCKET)
        close (listener);
}

int
gw_http_requests (gw_http_t *self)
{
    return atomic_load (&self->requests);
}

void
gw_http_destroy (gw_http_t **self_p)
{
    if (self_p && *self_p) {
        gw_http_t *self = *self_p;
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        gw_proxy_destroy (&self->proxies);
        free (self->issuer);
        free (self->mgmt_audience);
        free (self->mfa_audience);
        free (self);
        *self_p = NULL;
    }
}

int
gw_http_port (gw_http_t *self)
{
    return self->port;
}
