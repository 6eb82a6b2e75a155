/*  The real gateway actor over HTTPS (libcurl, trusting the generated CA),
    with stand-in ROUTERs for authn and mfa bound by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "test_keys.h"
#include "gw_config.h"
#include "gw_server.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_jwt.h"
#include "pst_log.h"

#define DOMAIN          "localhost:8443"
#define ISSUER          "https://" DOMAIN "/"
#define MGMT_AUDIENCE   "https://" DOMAIN "/api/v2/"
#define BUS_TIMEOUT_MS  500
//  Scheduling slack allowed past the bus deadline on a loaded test machine
#define MARGIN_MS       1500

//  ---------------------------------------------------------------------------
//  Stand-in services: what they saw last, and whether they answer

typedef struct {
    pthread_mutex_t mutex;
    int silent;                 //  drop everything but keys.jwks and revocations.list
    int delay_ms;               //  wait this long before answering (not key fetches)
    int requests;               //  requests seen, keys.jwks excepted
    int keys_requests;          //  keys.jwks requests seen
    int revocation_requests;    //  revocations.list requests seen
    char service [8];
    char op [PST_MSG_OP_MAX + 1];
    char caller [257];
    char scopes [4097];
    char caller_client [257];
    char ip [65];
    json_t *body;
    json_t *jwks;
    json_t *revocations;        //  what revocations.list answers
    int revocations_silent;     //  revocations.list goes unanswered
    int keys_silent;            //  keys.jwks goes unanswered
    int64_t keys_generation;    //  what revocations.list says of the keys, -1 nothing
    json_t *rotation_key;       //  the JWK a rotation publishes
    char rotation_kid [64];
} stub_t;

typedef struct {
    stub_t stub;
    zactor_t *actor;
    char *authn_endpoint;
    char *mfa_endpoint;
} stubs_t;

static void
s_copy (char *to, size_t size, const char *from)
{
    snprintf (to, size, "%s", from? from: "");
}

static void
s_record (stub_t *stub, const char *service, const pst_msg_t *request)
{
    pthread_mutex_lock (&stub->mutex);
    stub->requests++;
    s_copy (stub->service, sizeof stub->service, service);
    s_copy (stub->op, sizeof stub->op, pst_msg_op (request));
    s_copy (stub->caller, sizeof stub->caller, pst_msg_caller (request));
    s_copy (stub->scopes, sizeof stub->scopes, pst_msg_scopes (request));
    s_copy (stub->caller_client, sizeof stub->caller_client, pst_msg_caller_client (request));
    s_copy (stub->ip, sizeof stub->ip, pst_msg_client_ip (request));
    json_decref (stub->body);
    stub->body = json_deep_copy (pst_msg_body (request));
    pthread_mutex_unlock (&stub->mutex);
}

static const char *
s_str_or_empty (const pst_msg_t *request, const char *key)
{
    const char *value = pst_msg_get_str (request, key);
    return value? value: "";
}

//  The answers of the stand-in authn and mfa, by op and username.
static void
s_answer (stub_t *stub, const pst_msg_t *request, pst_msg_t *reply)
{
    const char *op = pst_msg_op (request);
    const char *username = pst_msg_get_str (request, "username");
    json_t *body = NULL;
    if (streq (op, "keys.jwks")) {
        pthread_mutex_lock (&stub->mutex);
        body = json_deep_copy (stub->jwks);
        pthread_mutex_unlock (&stub->mutex);
    }
    else
    if (streq (op, "revocations.list")) {
        pthread_mutex_lock (&stub->mutex);
        body = json_pack ("{s:O, s:i, s:b}", "revocations", stub->revocations,
                          "next", (int) json_array_size (stub->revocations), "more", 0);
        if (body && stub->keys_generation >= 0)
            json_object_set_new (body, "keys_generation", json_integer (stub->keys_generation));
        pthread_mutex_unlock (&stub->mutex);
    }
    else
    if (streq (op, "signing_keys.rotate")) {
        //  A rotation publishes a key the gateway has not seen: the one tests
        //  sign with as "rotated"
        pthread_mutex_lock (&stub->mutex);
        json_array_append (json_object_get (stub->jwks, "keys"), stub->rotation_key);
        body = json_pack ("{s:s, s:s}", "kid", stub->rotation_kid, "cert", "certificate");
        pthread_mutex_unlock (&stub->mutex);
    }
    else
    if (streq (op, "token.grant") && pst_msg_get_str (request, "client_id")
    &&  streq (pst_msg_get_str (request, "client_id"), "bad-client"))
        pst_msg_fail (reply, PST_ERR_INVALID_CLIENT, "Unknown client.");
    else
    if (streq (op, "token.grant") && username && streq (username, "mfa@example.com")) {
        body = json_pack ("{s:s}", "mfa_token", "mfa-token-1");
        pst_msg_fail (reply, PST_ERR_MFA_REQUIRED, "Multifactor authentication required");
    }
    else
    if (streq (op, "token.grant") && username && streq (username, "locked@example.com")) {
        body = json_pack ("{s:i}", "retry_after", 30);
        pst_msg_fail (reply, PST_ERR_TOO_MANY_ATTEMPTS, "Too many failed codes.");
    }
    else
    if (streq (op, "token.grant"))
        body = json_pack ("{s:s, s:s, s:i, s:s}", "access_token", "at-1", "token_type", "Bearer",
                          "expires_in", 86400, "scope", "openid");
    else
    if (streq (op, "authenticators.delete") && streq (s_str_or_empty (request, "id"),
                                                       "email|dev_gone"))
        pst_msg_fail (reply, PST_ERR_NOT_FOUND, "Authenticator not found");
    else
    if (streq (op, "authentication_methods.delete") && streq (s_str_or_empty (request, "sub_id"),
                                                              "email|dev_gone"))
        pst_msg_fail (reply, PST_ERR_NOT_FOUND, "Authenticator not found");
    else
    if (streq (op, "mfa.associate") && streq (s_str_or_empty (request, "mfa_token"), "expired"))
        pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "mfa_token is expired");
    else
    if (streq (op, "recovery_code.regenerate"))
        body = json_pack ("{s:s}", "recovery_code", "ABCDEFGHIJKLMNOPQRSTUVWX");
    else
    if (strncmp (op, "userinfo.", 9) == 0 && streq (s_str_or_empty (request, "gone"), "yes"))
        pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "The user of the access token does not exist");
    else
    if (strncmp (op, "userinfo.", 9) == 0)
        body = json_pack ("{s:s}", "sub", pst_msg_caller (request));
    else
        body = json_pack ("{s:[{s:s}]}", "result", "op", op);
    if (body)
        pst_msg_set_body (reply, &body);
}

static void
s_serve_one (stub_t *stub, zsock_t *router, const char *service)
{
    zmsg_t *frames = zmsg_recv (router);
    if (!frames)
        return;
    zframe_t *identity = zmsg_first (frames);
    zframe_t *payload = zmsg_last (frames);
    pst_msg_t *request = NULL;
    if (zmsg_size (frames) == 2
    &&  pst_msg_decode (zframe_data (payload), zframe_size (payload), &request) == 0) {
        //  What the gateway's bus thread fetches on its own: answered always,
        //  never recorded as a request (the CORS origins: answered as the stub
        //  answers what it does not know, never counted)
        int revocations = streq (pst_msg_op (request), "revocations.list");
        int origins = streq (pst_msg_op (request), "origins.list");
        int keys = streq (pst_msg_op (request), "keys.jwks") || revocations || origins;
        pthread_mutex_lock (&stub->mutex);
        int silent = stub->silent || (revocations && stub->revocations_silent)
                  || (keys && !revocations && stub->keys_silent);
        int delay_ms = stub->delay_ms;
        stub->keys_requests += keys && !revocations && !origins;
        stub->revocation_requests += revocations;
        pthread_mutex_unlock (&stub->mutex);
        if (!keys)
            s_record (stub, service, request);
        if (!keys && !silent && delay_ms > 0)
            zclock_sleep (delay_ms);
        if ((keys && !(revocations && silent) && !(!revocations && stub->keys_silent)) || !silent) {
            pst_msg_t *reply = pst_msg_new_reply (request);
            s_answer (stub, request, reply);
            pst_bus_send (router, identity, reply);
            pst_msg_destroy (&reply);
        }
    }
    pst_msg_destroy (&request);
    zmsg_destroy (&frames);
}

static void
s_stub_actor (zsock_t *pipe, void *args)
{
    stub_t *stub = (stub_t *) args;
    zsock_t *authn = test_keys_server (ZMQ_ROUTER, "authn", "tcp://127.0.0.1:*");
    zsock_t *mfa = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    char *authn_endpoint = zsock_last_endpoint (authn);
    char *mfa_endpoint = zsock_last_endpoint (mfa);
    pst_actor_ready (pipe, "ss", authn_endpoint, mfa_endpoint);
    zstr_free (&authn_endpoint);
    zstr_free (&mfa_endpoint);
    zpoller_t *poller = zpoller_new (pipe, authn, mfa, NULL);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (!which || which == pipe)
            break;
        s_serve_one (stub, which, which == authn? "authn": "mfa");
    }
    zpoller_destroy (&poller);
    test_keys_close (&authn);
    test_keys_close (&mfa);
}

static void
s_set_silent (stub_t *stub, int silent)
{
    pthread_mutex_lock (&stub->mutex);
    stub->silent = silent;
    pthread_mutex_unlock (&stub->mutex);
}

static int
s_requests (stub_t *stub)
{
    pthread_mutex_lock (&stub->mutex);
    int requests = stub->requests;
    pthread_mutex_unlock (&stub->mutex);
    return requests;
}

static int
s_keys_requests (stub_t *stub)
{
    pthread_mutex_lock (&stub->mutex);
    int requests = stub->keys_requests;
    pthread_mutex_unlock (&stub->mutex);
    return requests;
}

//  ---------------------------------------------------------------------------
//  Fixture: data dir, signing key, stand-ins, gateway

typedef struct {
    char dir [64];
    char *ca_path;
    char *key_pem;              //  in the key set from the start
    char *kid;
    char *rotated_pem;          //  joins the key set later
    char *rotated_kid;
    stubs_t stubs;
    gw_config_t *config;
    zactor_t *gateway;
    int https_port;
} fixture_t;

static fixture_t s_fx;

static int
s_setup (void **state)
{
    (void) state;
    pst_log_init ("gateway-test");
    if (pst_crypto_init () != 0 || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    snprintf (s_fx.dir, sizeof s_fx.dir, "/tmp/gw_service_test.XXXXXX");
    if (!mkdtemp (s_fx.dir))
        return -1;
    setenv ("POSTERN_DATA_DIR", s_fx.dir, 1);
    if (asprintf (&s_fx.ca_path, "%s/tls/ca.pem", s_fx.dir) < 0)
        return -1;

    s_fx.key_pem = pst_jwt_generate_key_pem (2048);
    s_fx.kid = s_fx.key_pem? pst_jwt_key_id (s_fx.key_pem): NULL;
    s_fx.rotated_pem = pst_jwt_generate_key_pem (2048);
    s_fx.rotated_kid = s_fx.rotated_pem? pst_jwt_key_id (s_fx.rotated_pem): NULL;
    if (s_fx.rotated_kid) {
        s_fx.stubs.stub.rotation_key = pst_jwt_public_jwk (s_fx.rotated_pem, s_fx.rotated_kid);
        s_copy (s_fx.stubs.stub.rotation_kid, sizeof s_fx.stubs.stub.rotation_kid, s_fx.rotated_kid);
    }
    if (!s_fx.kid || !s_fx.rotated_kid)
        return -1;
    stub_t *stub = &s_fx.stubs.stub;
    pthread_mutex_init (&stub->mutex, NULL);
    stub->jwks = json_pack ("{s:[o]}", "keys", pst_jwt_public_jwk (s_fx.key_pem, s_fx.kid));
    stub->revocations = json_array ();
    stub->keys_generation = -1;
    s_fx.stubs.actor = pst_actor_new (s_stub_actor, stub, "ss", &s_fx.stubs.authn_endpoint,
                                      &s_fx.stubs.mfa_endpoint);
    if (!s_fx.stubs.actor || !s_fx.stubs.authn_endpoint || !s_fx.stubs.mfa_endpoint)
        return -1;

    s_fx.config = gw_config_new ();
    gw_config_set_str (&s_fx.config->keys_dir, test_keys_dir ());
    s_fx.config->https_port = GW_PORT_EPHEMERAL;
    s_fx.config->http_port = GW_PORT_OFF;
    s_fx.config->bus_timeout_ms = BUS_TIMEOUT_MS;
    s_fx.config->keys_min_interval_ms = 0;      //  every unknown kid refetches
    gw_config_set_str (&s_fx.config->domain, DOMAIN);
    gw_config_set_str (&s_fx.config->authn_endpoint, s_fx.stubs.authn_endpoint);
    gw_config_set_str (&s_fx.config->mfa_endpoint, s_fx.stubs.mfa_endpoint);
    //  The tests connect from loopback: that is "our proxy" here
    gw_config_set_str (&s_fx.config->trusted_proxies, "127.0.0.1, ::1");
    int http_port = -1;
    s_fx.gateway = pst_actor_new (gw_server_actor, s_fx.config, "ii", &s_fx.https_port,
                                  &http_port);
    if (!s_fx.gateway || s_fx.https_port <= 0 || http_port != 0)
        return -1;
    //  Ready once its first key fetch arrives: the bus is connected to authn,
    //  and requests sent earlier would be refused at once (ZMQ_IMMEDIATE)
    int64_t until = zclock_mono () + 5000;
    while (s_keys_requests (stub) == 0 && zclock_mono () < until)
        zclock_sleep (5);
    return s_keys_requests (stub) > 0? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    zactor_destroy (&s_fx.gateway);
    gw_config_destroy (&s_fx.config);
    zactor_destroy (&s_fx.stubs.actor);
    zstr_free (&s_fx.stubs.authn_endpoint);
    zstr_free (&s_fx.stubs.mfa_endpoint);
    json_decref (s_fx.stubs.stub.body);
    json_decref (s_fx.stubs.stub.jwks);
    json_decref (s_fx.stubs.stub.revocations);
    free (s_fx.key_pem);
    free (s_fx.kid);
    free (s_fx.rotated_pem);
    json_decref (s_fx.stubs.stub.rotation_key);
    free (s_fx.rotated_kid);
    free (s_fx.ca_path);
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_fx.dir);
    curl_global_cleanup ();
    return system (command) == 0? 0: -1;
}

//  ---------------------------------------------------------------------------
//  HTTP client

typedef struct {
    long status;
    char body [8192];
    size_t body_size;
    char headers [8192];
    size_t headers_size;
    json_t *json;
    int64_t elapsed_ms;
} http_t;

static size_t
s_on_body (char *data, size_t size, size_t count, void *arg)
{
    http_t *http = (http_t *) arg;
    size_t bytes = size * count;
    size_t room = sizeof http->body - 1 - http->body_size;
    size_t take = bytes < room? bytes: room;
    memcpy (http->body + http->body_size, data, take);
    http->body_size += take;
    http->body [http->body_size] = 0;
    return bytes;
}

static size_t
s_on_header (char *data, size_t size, size_t count, void *arg)
{
    http_t *http = (http_t *) arg;
    size_t bytes = size * count;
    size_t room = sizeof http->headers - 1 - http->headers_size;
    size_t take = bytes < room? bytes: room;
    memcpy (http->headers + http->headers_size, data, take);
    http->headers_size += take;
    http->headers [http->headers_size] = 0;
    return bytes;
}

//  Value of a response header, or NULL; copies into a static buffer.
static const char *
s_header (http_t *http, const char *name)
{
    static char value [512];
    size_t len = strlen (name);
    for (const char *line = http->headers; line && *line; ) {
        if (strncasecmp (line, name, len) == 0 && line [len] == ':') {
            const char *start = line + len + 1;
            start += strspn (start, " ");
            size_t size = strcspn (start, "\r\n");
            snprintf (value, sizeof value, "%.*s", (int) size, start);
            return value;
        }
        line = strchr (line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

typedef struct {
    const char *method;
    const char *path;
    const char *body;           //  NULL: no body
    size_t body_size;           //  0: strlen (body)
    const char *authorization;  //  full header value, or NULL
    const char *content_type;   //  NULL: curl's default for a POST body
    int chunked;
    int plain_port;             //  plain HTTP on this port instead of HTTPS
    const char *extra_header;   //  one more header line, or NULL
} request_t;

static http_t *
s_http (const request_t *request)
{
    http_t *http = (http_t *) calloc (1, sizeof *http);
    assert_non_null (http);
    CURL *curl = curl_easy_init ();
    assert_non_null (curl);
    char url [512];
    if (request->plain_port)
        snprintf (url, sizeof url, "http://127.0.0.1:%d%s", request->plain_port, request->path);
    else
        snprintf (url, sizeof url, "https://127.0.0.1:%d%s", s_fx.https_port, request->path);
    struct curl_slist *headers = NULL;
    char line [8192];
    if (request->authorization) {
        snprintf (line, sizeof line, "Authorization: %s", request->authorization);
        headers = curl_slist_append (headers, line);
    }
    if (request->extra_header)
        headers = curl_slist_append (headers, request->extra_header);
    if (request->content_type) {
        snprintf (line, sizeof line, "Content-Type: %s", request->content_type);
        headers = curl_slist_append (headers, line);
    }
    if (request->chunked)
        headers = curl_slist_append (headers, "Transfer-Encoding: chunked");
    //  Answer at once instead of waiting for 100 Continue
    headers = curl_slist_append (headers, "Expect:");
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CAINFO, s_fx.ca_path);
    curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, request->method);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, http);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, http);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    if (request->body) {
        size_t size = request->body_size? request->body_size: strlen (request->body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
    }
    int64_t started = zclock_mono ();
    CURLcode rc = curl_easy_perform (curl);
    http->elapsed_ms = zclock_mono () - started;
    if (rc != CURLE_OK)
        fail_msg ("%s %s: %s", request->method, request->path, curl_easy_strerror (rc));
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &http->status);
    http->json = json_loadb (http->body, http->body_size, JSON_DECODE_ANY, NULL);
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    return http;
}

static void
s_http_destroy (http_t **http_p)
{
    json_decref ((*http_p)->json);
    free (*http_p);
    *http_p = NULL;
}

static const char *
s_member (http_t *http, const char *key)
{
    return json_string_value (json_object_get (http->json, key));
}

static void
s_assert_no_store (http_t *http)
{
    assert_non_null (s_header (http, "Cache-Control"));
    assert_string_equal (s_header (http, "Cache-Control"), "no-store");
    assert_non_null (s_header (http, "Pragma"));
    assert_string_equal (s_header (http, "Pragma"), "no-cache");
}

static void
s_assert_json (http_t *http)
{
    assert_non_null (s_header (http, "Content-Type"));
    assert_string_equal (s_header (http, "Content-Type"), "application/json");
    assert_non_null (http->json);
}

static const char *
s_body_str (const char *key)
{
    stub_t *stub = &s_fx.stubs.stub;
    return json_string_value (json_object_get (stub->body, key));
}

static char *
s_token_by (const char *pem, const char *kid, const char *scope, const char *audience,
            const char *grant)
{
    long long now = (long long) time (NULL);
    json_t *claims = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", ISSUER,
                                "aud", audience, "sub", "m2m-client@clients", "iat", now,
                                "exp", now + 600, "scope", scope, "azp", "m2m-client");
    if (grant)
        json_object_set_new (claims, "gty", json_string (grant));
    char *token = pst_jwt_sign (pem, kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    char *header = NULL;
    assert_true (asprintf (&header, "Bearer %s", token) > 0);
    free (token);
    return header;
}

static char *
s_mgmt_token (const char *scope, const char *audience)
{
    return s_token_by (s_fx.key_pem, s_fx.kid, scope, audience, "client-credentials");
}

//  A token issued to a user (password or MFA grants): no gty claim
static char *
s_user_token (const char *scope, const char *audience)
{
    return s_token_by (s_fx.key_pem, s_fx.kid, scope, audience, NULL);
}

//  ---------------------------------------------------------------------------
//  Authentication API

static void
test_token_success_passes_through (void **state)
{
    (void) state;
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=password&username=user%40example.com&password=pwd",
        .content_type = "application/x-www-form-urlencoded" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_assert_json (http);
    s_assert_no_store (http);
    assert_string_equal (s_member (http, "access_token"), "at-1");
    assert_string_equal (s_member (http, "token_type"), "Bearer");
    //  What authn received
    stub_t *stub = &s_fx.stubs.stub;
    assert_string_equal (stub->service, "authn");
    assert_string_equal (stub->op, "token.grant");
    assert_string_equal (stub->ip, "127.0.0.1");
    assert_string_equal (stub->caller, "");
    assert_string_equal (s_body_str ("username"), "user@example.com");
    assert_string_equal (s_body_str ("password"), "pwd");
    s_http_destroy (&http);
}

//  Behind a trusted proxy the client is the nearest untrusted X-Forwarded-For hop
static void
test_forwarded_client_address (void **state)
{
    (void) state;
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=password&username=user%40example.com&password=pwd",
        .extra_header = "X-Forwarded-For: 198.51.100.7, 203.0.113.9, 127.0.0.1" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_string_equal (s_fx.stubs.stub.ip, "203.0.113.9");
    s_http_destroy (&http);

    //  A hop that is not an address ends the walk at the last trusted one
    request.extra_header = "X-Forwarded-For: 203.0.113.9, junk";
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_string_equal (s_fx.stubs.stub.ip, "127.0.0.1");
    s_http_destroy (&http);
}

static void
test_mfa_required_rendering (void **state)
{
    (void) state;
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=password&username=mfa%40example.com&password=pwd" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 403);
    s_assert_json (http);
    s_assert_no_store (http);
    assert_string_equal (s_member (http, "error"), "mfa_required");
    assert_string_equal (s_member (http, "error_description"), "Multifactor authentication required");
    assert_string_equal (s_member (http, "mfa_token"), "mfa-token-1");
    s_http_destroy (&http);
}

static void
test_retry_after_header (void **state)
{
    (void) state;
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=password&username=locked%40example.com&password=pwd" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 429);
    assert_string_equal (s_member (http, "error"), "too_many_attempts");
    assert_non_null (s_header (http, "Retry-After"));
    assert_string_equal (s_header (http, "Retry-After"), "30");
    assert_null (json_object_get (http->json, "retry_after"));
    s_http_destroy (&http);
}

static void
test_json_body_with_form_content_type (void **state)
{
    (void) state;
    //  No content type given: curl sends application/x-www-form-urlencoded
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "{\"grant_type\":\"password\",\"username\":\"json@example.com\",\"count\":3}" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    stub_t *stub = &s_fx.stubs.stub;
    assert_string_equal (s_body_str ("username"), "json@example.com");
    assert_true (json_is_integer (json_object_get (stub->body, "count")));
    assert_int_equal (json_integer_value (json_object_get (stub->body, "count")), 3);
    s_http_destroy (&http);
}

static void
test_basic_client_credentials (void **state)
{
    (void) state;
    //  "my%20client:s3cr%2Bt" -> client_id "my client", client_secret "s3cr+t"
    request_t request = { .method = "POST", .path = "/mfa/challenge",
        .body = "mfa_token=mt&challenge_type=oob",
        .authorization = "Basic bXklMjBjbGllbnQ6czNjciUyQnQ=" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    stub_t *stub = &s_fx.stubs.stub;
    assert_string_equal (stub->op, "challenge.create");
    assert_string_equal (s_body_str ("client_id"), "my client");
    assert_string_equal (s_body_str ("client_secret"), "s3cr+t");
    assert_string_equal (s_body_str ("mfa_token"), "mt");
    s_http_destroy (&http);
}

//  A failed client authentication names the scheme to retry with, when it was Basic
static void
test_basic_failure_challenge (void **state)
{
    (void) state;
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=client_credentials&audience=x",
        .authorization = "Basic YmFkLWNsaWVudDpub3Bl" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_client");
    assert_non_null (s_header (http, "WWW-Authenticate"));
    assert_true (strncmp (s_header (http, "WWW-Authenticate"), "Basic ", 6) == 0);
    s_http_destroy (&http);

    request_t form = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=client_credentials&audience=x&client_id=bad-client&client_secret=nope" };
    http = s_http (&form);
    assert_int_equal (http->status, 401);
    assert_null (s_header (http, "WWW-Authenticate"));
    s_http_destroy (&http);
}

static void
test_mfa_associate_with_mfa_token (void **state)
{
    (void) state;
    //  The seed's example, verbatim apart from the host
    request_t request = { .method = "POST", .path = "/mfa/associate",
        .authorization = "Bearer MFA_TOKEN",
        .body = "{ \"authenticator_types\": [\"oob\"], \"oob_channels\": [\"email\"]}" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    stub_t *stub = &s_fx.stubs.stub;
    assert_string_equal (stub->service, "mfa");
    assert_string_equal (stub->op, "mfa.associate");
    assert_string_equal (s_body_str ("mfa_token"), "MFA_TOKEN");
    assert_string_equal (stub->caller, "");
    assert_string_equal (stub->caller_client, "");
    assert_true (json_is_array (json_object_get (stub->body, "authenticator_types")));
    s_http_destroy (&http);

    //  A service that refuses the mfa_token answers 401 with the Bearer challenge
    request_t expired = { .method = "POST", .path = "/mfa/associate",
        .authorization = "Bearer expired", .body = "{\"authenticator_types\":[\"oob\"]}" };
    http = s_http (&expired);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    assert_non_null (s_header (http, "WWW-Authenticate"));
    assert_string_equal (s_header (http, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
    s_http_destroy (&http);

    //  An access token for the MFA API enrols a further authenticator when it
    //  holds enroll: sent on as the caller; without enroll, refused here
    int before = s_requests (stub);
    char *authorization = s_user_token ("read:authenticators", "https://" DOMAIN "/mfa/");
    request_t jwt = { .method = "POST", .path = "/mfa/associate", .authorization = authorization,
        .body = "{\"authenticator_types\":[\"oob\"]}" };
    http = s_http (&jwt);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "error"), "insufficient_scope");
    assert_int_equal (s_requests (stub), before);
    s_http_destroy (&http);
    free (authorization);
    authorization = s_user_token ("enroll", "https://" DOMAIN "/mfa/");
    jwt.authorization = authorization;
    http = s_http (&jwt);
    assert_true (s_requests (stub) > before);
    assert_string_equal (stub->op, "mfa.associate");
    assert_null (json_object_get (stub->body, "mfa_token"));
    s_http_destroy (&http);
    free (authorization);

    //  Without a bearer: 401, nothing sent
    before = s_requests (stub);
    request.authorization = NULL;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    assert_int_equal (s_requests (stub), before);
    s_http_destroy (&http);
}

#define MFA_AUDIENCE    "https://" DOMAIN "/mfa/"

static void
test_mfa_authenticators_list (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    //  With the mfa_token of a password grant (contract §5)
    request_t request = { .method = "GET", .path = "/mfa/authenticators",
                          .authorization = "Bearer MFA_TOKEN" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_assert_json (http);
    s_assert_no_store (http);
    assert_true (json_is_array (http->json));
    assert_string_equal (stub->service, "mfa");
    assert_string_equal (stub->op, "authenticators.list");
    assert_string_equal (s_body_str ("mfa_token"), "MFA_TOKEN");
    assert_string_equal (stub->caller, "");
    s_http_destroy (&http);

    //  With an /mfa/ access token: its sub and scope travel as the caller
    char *authorization = s_user_token ("openid read:authenticators", MFA_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_string_equal (stub->op, "authenticators.list");
    assert_string_equal (stub->caller, "m2m-client@clients");
    assert_string_equal (stub->scopes, "openid read:authenticators");
    assert_null (json_object_get (stub->body, "mfa_token"));
    s_http_destroy (&http);
    free (authorization);

    //  Refusals never reach mfa: a token without the scope, one for another
    //  audience, none at all
    int before = s_requests (stub);
    authorization = s_user_token ("remove:authenticators", MFA_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "error"), "insufficient_scope");
    s_http_destroy (&http);
    free (authorization);
    authorization = s_user_token ("read:authenticators", "https://api.example.com/");
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    s_http_destroy (&http);
    free (authorization);
    //  A machine token acts for no user, whatever scopes it holds
    authorization = s_mgmt_token ("read:authenticators", MFA_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    s_http_destroy (&http);
    free (authorization);
    request.authorization = NULL;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    s_http_destroy (&http);
    assert_int_equal (s_requests (stub), before);
}

static void
test_mfa_authenticators_delete (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    char *authorization = s_user_token ("remove:authenticators", MFA_AUDIENCE);
    //  The path id is what mfa gets; a body cannot name another one
    request_t request = { .method = "DELETE", .path = "/mfa/authenticators/email%7Cdev_abc",
                          .authorization = authorization, .body = "{\"id\":\"email|dev_other\"}" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 204);
    assert_int_equal (http->body_size, 0);
    s_assert_no_store (http);
    assert_string_equal (stub->service, "mfa");
    assert_string_equal (stub->op, "authenticators.delete");
    assert_string_equal (s_body_str ("id"), "email|dev_abc");
    assert_string_equal (stub->caller, "m2m-client@clients");
    assert_string_equal (stub->scopes, "remove:authenticators");
    //  The token's client goes along, for mfa's audit
    assert_string_equal (stub->caller_client, "m2m-client");
    s_http_destroy (&http);

    //  mfa's not_found in the Authentication API's shape
    request.path = "/mfa/authenticators/email|dev_gone";
    http = s_http (&request);
    assert_int_equal (http->status, 404);
    s_assert_json (http);
    assert_string_equal (s_member (http, "error"), "not_found");
    assert_string_equal (s_member (http, "error_description"), "Authenticator not found");
    s_http_destroy (&http);
    free (authorization);

    //  An mfa_token proves only a password: 401, nothing sent
    int before = s_requests (stub);
    request.path = "/mfa/authenticators/email%7Cdev_abc";
    request.authorization = "Bearer MFA_TOKEN";
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    assert_non_null (s_header (http, "WWW-Authenticate"));
    s_http_destroy (&http);
    //  ... as is a token without remove:authenticators
    authorization = s_user_token ("read:authenticators enroll", MFA_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "error"), "insufficient_scope");
    s_http_destroy (&http);
    free (authorization);
    request.authorization = NULL;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    s_http_destroy (&http);
    assert_int_equal (s_requests (stub), before);
}

//  A user's access token with claims aud (taken); "Bearer ..."; caller frees
static char *
s_user_token_for (json_t *aud, const char *scope)
{
    long long now = (long long) time (NULL);
    json_t *claims = json_pack ("{s:s, s:o, s:s, s:I, s:I, s:s, s:s, s:s}", "iss", ISSUER,
                                "aud", aud, "sub", "auth0|u1", "iat", now, "exp", now + 600,
                                "scope", scope, "azp", "app-1", "gty", "password");
    char *token = pst_jwt_sign (s_fx.key_pem, s_fx.kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    char *header = NULL;
    assert_true (asprintf (&header, "Bearer %s", token) > 0);
    free (token);
    return header;
}

//  GET and POST /userinfo take a user's access token that names /userinfo
//  (Auth0's aud array when openid was asked) and holds openid
static void
test_userinfo (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    const char *userinfo = "https://" DOMAIN "/userinfo";
    char *authorization = s_user_token_for (json_pack ("[s, s]", "https://api.example.com/",
                                                       userinfo), "openid email read:things");
    request_t request = { .method = "GET", .path = "/userinfo", .authorization = authorization };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_assert_json (http);
    s_assert_no_store (http);
    assert_string_equal (s_member (http, "sub"), "auth0|u1");
    assert_string_equal (stub->service, "authn");
    assert_string_equal (stub->op, "userinfo.get");
    assert_string_equal (stub->caller, "auth0|u1");
    assert_string_equal (stub->scopes, "openid email read:things");
    s_http_destroy (&http);
    //  POST, as OpenID Connect allows, with a form body the service ignores
    request.method = "POST";
    request.body = "something=else";
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_string_equal (stub->op, "userinfo.post");
    assert_string_equal (stub->caller, "auth0|u1");
    s_http_destroy (&http);
    request.body = NULL;
    request.method = "GET";
    free (authorization);
    //  Its only audience, as a string
    authorization = s_user_token_for (json_string (userinfo), "openid");
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_http_destroy (&http);
    free (authorization);
    //  A user the service no longer knows: its 401 with the Bearer challenge
    authorization = s_user_token_for (json_string (userinfo), "openid");
    request.authorization = authorization;
    request.method = "POST";
    request.body = "gone=yes";
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    assert_string_equal (s_header (http, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
    s_http_destroy (&http);
    request.method = "GET";
    request.body = NULL;
    free (authorization);

    //  Refusals never reach authn
    int before = s_requests (stub);
    //  without openid: 403 with the insufficient_scope challenge (OIDC Core §5.3.3)
    authorization = s_user_token_for (json_pack ("[s, s]", "https://api.example.com/", userinfo),
                                      "read:things");
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "error"), "insufficient_scope");
    assert_string_equal (s_header (http, "WWW-Authenticate"),
                         "Bearer error=\"insufficient_scope\", scope=\"openid\"");
    s_http_destroy (&http);
    free (authorization);
    //  a token that does not name /userinfo, a machine token, an mfa_token, none
    authorization = s_user_token_for (json_string ("https://api.example.com/"), "openid");
    const char *refused [] = { authorization, NULL, "Bearer MFA_TOKEN", NULL };
    char *machine = s_mgmt_token ("openid", userinfo);
    refused [1] = machine;
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        request.authorization = refused [i];
        http = s_http (&request);
        assert_int_equal (http->status, 401);
        assert_string_equal (s_member (http, "error"), "invalid_token");
        assert_string_equal (s_header (http, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
        s_http_destroy (&http);
    }
    free (machine);
    free (authorization);
    assert_int_equal (s_requests (stub), before);
}

//  ---------------------------------------------------------------------------
//  Limits and routing

static void
test_body_too_large (void **state)
{
    (void) state;
    size_t size = 20000;
    char *big = (char *) malloc (size + 1);
    memset (big, 'a', size);
    big [size] = 0;
    int before = s_requests (&s_fx.stubs.stub);
    for (int chunked = 0; chunked < 2; chunked++) {
        request_t request = { .method = "POST", .path = "/oauth/token", .body = big,
                              .chunked = chunked };
        http_t *http = s_http (&request);
        assert_int_equal (http->status, 413);
        s_assert_json (http);
        assert_string_equal (s_member (http, "error"), "request_entity_too_large");
        s_http_destroy (&http);
    }
    assert_int_equal (s_requests (&s_fx.stubs.stub), before);
    free (big);
}

static void
test_not_found_and_method_not_allowed (void **state)
{
    (void) state;
    request_t request = { .method = "GET", .path = "/nope" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 404);
    s_assert_json (http);
    assert_string_equal (s_member (http, "error"), "not_found");
    s_http_destroy (&http);

    request.path = "/oauth/token";
    http = s_http (&request);
    assert_int_equal (http->status, 405);
    s_assert_json (http);
    s_assert_no_store (http);
    assert_non_null (s_header (http, "Allow"));
    assert_string_equal (s_header (http, "Allow"), "POST");
    s_http_destroy (&http);

    //  A POST with a body to an unknown path is answered too
    request_t post = { .method = "POST", .path = "/api/v2/nope", .body = "{}" };
    http = s_http (&post);
    assert_int_equal (http->status, 404);
    assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 404);
    s_http_destroy (&http);
}

static void
test_duplicate_form_parameter (void **state)
{
    (void) state;
    int before = s_requests (&s_fx.stubs.stub);
    request_t request = { .method = "POST", .path = "/oauth/token",
        .body = "grant_type=password&username=a&grant_type=password" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 400);
    s_assert_no_store (http);
    assert_string_equal (s_member (http, "error"), "invalid_request");
    assert_string_equal (s_member (http, "error_description"), "Duplicate parameter: grant_type");
    assert_int_equal (s_requests (&s_fx.stubs.stub), before);
    s_http_destroy (&http);
}

//  ---------------------------------------------------------------------------
//  Management API

static void
test_management_without_token (void **state)
{
    (void) state;
    request_t request = { .method = "GET", .path = "/api/v2/clients" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 401);
    s_assert_json (http);
    assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 401);
    assert_string_equal (s_member (http, "error"), "Unauthorized");
    assert_non_null (s_member (http, "message"));
    s_http_destroy (&http);

    //  A token for another audience is no better
    char *authorization = s_mgmt_token ("read:clients", "https://" DOMAIN "/mfa/");
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    s_http_destroy (&http);
    free (authorization);

    //  A user's token never administers the tenant, whatever scopes it claims
    int before = s_requests (&s_fx.stubs.stub);
    authorization = s_user_token ("read:clients", MGMT_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_int_equal (s_requests (&s_fx.stubs.stub), before);
    s_http_destroy (&http);
    free (authorization);
}

static void
test_management_insufficient_scope (void **state)
{
    (void) state;
    int before = s_requests (&s_fx.stubs.stub);
    char *authorization = s_mgmt_token ("read:users create:clients", MGMT_AUDIENCE);
    request_t request = { .method = "GET", .path = "/api/v2/clients",
                          .authorization = authorization };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 403);
    s_assert_json (http);
    assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 403);
    assert_string_equal (s_member (http, "error"), "Forbidden");
    assert_string_equal (s_member (http, "errorCode"), "insufficient_scope");
    assert_int_equal (s_requests (&s_fx.stubs.stub), before);
    s_http_destroy (&http);
    free (authorization);
}

//  ---------------------------------------------------------------------------
//  Revoked tokens

static zactor_t *
s_own_gateway (gw_config_t *config, int bus_timeout_ms, int *http_port_p);

//  A token of client issued iat_offset_s from now
static char *
s_token_of (const char *client, long long iat_offset_s, const char *audience, const char *grant)
{
    long long iat = (long long) time (NULL) + iat_offset_s;
    char subject [128];
    snprintf (subject, sizeof subject, grant? "%s@clients": "auth0|user-of-%s", client);
    json_t *claims = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", ISSUER,
        "aud", audience, "sub", subject, "iat", iat, "exp", iat + 600,
        "scope", "read:clients read:authenticators", "azp", client);
    if (grant)
        json_object_set_new (claims, "gty", json_string (grant));
    char *token = pst_jwt_sign (s_fx.key_pem, s_fx.kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (token);
    char *header = NULL;
    assert_true (asprintf (&header, "Bearer %s", token) > 0);
    free (token);
    return header;
}

//  What revocations.list answers from now on: a JSON array, taken
static void
s_set_revocations (json_t *list)
{
    stub_t *stub = &s_fx.stubs.stub;
    pthread_mutex_lock (&stub->mutex);
    json_decref (stub->revocations);
    stub->revocations = list;
    pthread_mutex_unlock (&stub->mutex);
}

static int
s_revocation_requests (void)
{
    stub_t *stub = &s_fx.stubs.stub;
    pthread_mutex_lock (&stub->mutex);
    int requests = stub->revocation_requests;
    pthread_mutex_unlock (&stub->mutex);
    return requests;
}

//  The status of method path with authorization, on the fixture's gateway or
//  over plain HTTP on plain_port
static long
s_status (const char *method, const char *path, const char *authorization, int plain_port)
{
    request_t request = { .method = method, .path = path, .authorization = authorization,
                          .plain_port = plain_port };
    http_t *http = s_http (&request);
    long status = http->status;
    s_http_destroy (&http);
    return status;
}

//  Polls until method path answers want, for up to 5 s (the gateway reads the
//  list about once a second); 1 when it did
static int
s_status_becomes (long want, const char *method, const char *path, const char *authorization,
                  int plain_port)
{
    int64_t until = zclock_mono () + 5000;
    while (s_status (method, path, authorization, plain_port) != want)
        if (zclock_mono () > until)
            return 0;
        else
            zclock_sleep (100);
    return 1;
}

//  authn slower to start than the gateway's first key fetch: the gateway holds
//  no keys, and the first token asks for them at once instead of being refused
//  until the next scheduled fetch (10 s later)
static void
test_keys_after_a_slow_start (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    pthread_mutex_lock (&stub->mutex);
    stub->keys_silent = 1;
    pthread_mutex_unlock (&stub->mutex);
    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    gw_config_set_str (&config->domain, DOMAIN);
    int port = -1;
    zactor_t *gateway = s_own_gateway (config, 300, &port);
    zclock_sleep (600);         //  the first fetch is over, unanswered
    pthread_mutex_lock (&stub->mutex);
    stub->keys_silent = 0;
    pthread_mutex_unlock (&stub->mutex);
    char *token = s_mgmt_token ("read:clients", MGMT_AUDIENCE);
    assert_int_equal (s_status ("GET", "/api/v2/clients", token, port), 200);
    free (token);
    zactor_destroy (&gateway);
    gw_config_destroy (&config);
}

//  A token whose client, or whose client's grant for its audience, was deleted
//  after it was issued is refused at the gateway like an invalid one; other
//  clients' tokens, and the same client's issued after, are not
static void
test_revoked_tokens (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    long long now_ms = (long long) time (NULL) * 1000;
    char *old_token = s_token_of ("revoked-client", -20, MGMT_AUDIENCE, "client-credentials");
    char *new_token = s_token_of ("revoked-client", 0, MGMT_AUDIENCE, "client-credentials");
    char *other_token = s_token_of ("other-client", -20, MGMT_AUDIENCE, "client-credentials");
    char *user_token = s_token_of ("gone-client", -20, "https://" DOMAIN "/mfa/", NULL);
    char *other_user_token = s_token_of ("other-client", -20, "https://" DOMAIN "/mfa/", NULL);
    assert_int_equal (s_status ("GET", "/api/v2/clients", old_token, 0), 200);
    assert_int_equal (s_status ("GET", "/mfa/authenticators", user_token, 0), 200);

    //  The grant of revoked-client for the Management API went 10 s ago; the
    //  whole of gone-client too, and another audience of other-client
    s_set_revocations (json_pack ("[{s:s, s:s, s:I}, {s:s, s:n, s:I}, {s:s, s:s, s:I}]",
        "client_id", "revoked-client", "audience", MGMT_AUDIENCE, "revoked_at", now_ms - 10000,
        "client_id", "gone-client", "audience", "revoked_at", now_ms - 10000,
        "client_id", "other-client", "audience", "https://api.example/", "revoked_at", now_ms));
    assert_true (s_status_becomes (401, "GET", "/api/v2/clients", old_token, 0));
    int before = s_requests (stub);
    request_t request = { .method = "GET", .path = "/api/v2/clients", .authorization = old_token };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "errorCode"), "invalid_token");
    assert_string_equal (s_member (http, "message"), "The access token was revoked");
    assert_non_null (s_header (http, "WWW-Authenticate"));
    assert_string_equal (s_header (http, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
    s_http_destroy (&http);
    request_t mfa = { .method = "GET", .path = "/mfa/authenticators", .authorization = user_token };
    http = s_http (&mfa);
    assert_int_equal (http->status, 401);
    assert_string_equal (s_member (http, "error"), "invalid_token");
    assert_string_equal (s_member (http, "error_description"), "The access token was revoked");
    s_http_destroy (&http);
    assert_int_equal (s_requests (stub), before);

    //  Issued after the revocation; another client; a revocation of another audience
    assert_int_equal (s_status ("GET", "/api/v2/clients", new_token, 0), 200);
    assert_int_equal (s_status ("GET", "/api/v2/clients", other_token, 0), 200);
    assert_int_equal (s_status ("GET", "/mfa/authenticators", other_user_token, 0), 200);

    //  The list is replaced whole: gone from it, a token is good again
    s_set_revocations (json_array ());
    assert_true (s_status_becomes (200, "GET", "/api/v2/clients", old_token, 0));
    assert_int_equal (s_status ("GET", "/mfa/authenticators", user_token, 0), 200);
    free (old_token);
    free (new_token);
    free (other_token);
    free (user_token);
    free (other_user_token);
}

//  Until its first list arrives a gateway cannot tell a revoked token: a token
//  waits for the list, and gets 503 when it does not come. Once it has a list it
//  keeps it while authn is silent, and the next list counts once authn answers.
static void
test_revocations_before_first_list (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    pthread_mutex_lock (&stub->mutex);
    stub->revocations_silent = 1;
    pthread_mutex_unlock (&stub->mutex);
    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    gw_config_set_str (&config->domain, DOMAIN);
    int port = -1;
    zactor_t *gateway = s_own_gateway (config, 500, &port);
    char *token = s_token_of ("revoked-client", -20, MGMT_AUDIENCE, "client-credentials");

    int before = s_requests (stub);
    request_t request = { .method = "GET", .path = "/api/v2/clients", .authorization = token,
                          .plain_port = port };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 503);
    assert_string_equal (s_member (http, "errorCode"), "temporarily_unavailable");
    assert_true (http->elapsed_ms < 500 + MARGIN_MS);
    s_http_destroy (&http);
    assert_int_equal (s_requests (stub), before);
    //  Requests without a token do not wait for it
    request_t token_request = { .method = "POST", .path = "/oauth/token", .plain_port = port,
        .body = "grant_type=password&username=user%40example.com&password=pwd" };
    http = s_http (&token_request);
    assert_int_equal (http->status, 200);
    s_http_destroy (&http);

    pthread_mutex_lock (&stub->mutex);
    stub->revocations_silent = 0;
    pthread_mutex_unlock (&stub->mutex);
    assert_true (s_status_becomes (200, "GET", "/api/v2/clients", token, port));

    //  authn silent again: the last list stays, and a revocation made meanwhile
    //  counts once authn answers
    pthread_mutex_lock (&stub->mutex);
    stub->revocations_silent = 1;
    pthread_mutex_unlock (&stub->mutex);
    long long now_ms = (long long) time (NULL) * 1000;
    s_set_revocations (json_pack ("[{s:s, s:n, s:I}]", "client_id", "revoked-client",
                                  "audience", "revoked_at", now_ms));
    int asked = s_revocation_requests ();
    int64_t until = zclock_mono () + 5000;
    while (s_revocation_requests () < asked + 2 && zclock_mono () < until)
        zclock_sleep (50);
    assert_true (s_revocation_requests () >= asked + 2);
    assert_int_equal (s_status ("GET", "/api/v2/clients", token, port), 200);
    pthread_mutex_lock (&stub->mutex);
    stub->revocations_silent = 0;
    pthread_mutex_unlock (&stub->mutex);
    assert_true (s_status_becomes (401, "GET", "/api/v2/clients", token, port));

    zactor_destroy (&gateway);
    gw_config_destroy (&config);
    s_set_revocations (json_array ());
    free (token);
}

static void
test_management_good_token (void **state)
{
    (void) state;
    char *authorization = s_mgmt_token ("read:clients update:guardian_factors", MGMT_AUDIENCE);
    request_t request = { .method = "GET", .path = "/api/v2/clients/abc?fields=name%2Cid",
                          .authorization = authorization };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_assert_json (http);
    assert_true (json_is_array (http->json));
    stub_t *stub = &s_fx.stubs.stub;
    assert_string_equal (stub->service, "authn");
    assert_string_equal (stub->op, "clients.get");
    assert_string_equal (stub->caller, "m2m-client@clients");
    assert_string_equal (stub->scopes, "read:clients update:guardian_factors");
    assert_string_equal (s_body_str ("id"), "abc");
    json_t *query = json_object_get (stub->body, "query");
    assert_string_equal (json_string_value (json_object_get (query, "fields")), "name,id");
    s_http_destroy (&http);

    //  The seed's factor switch goes to mfa with its JSON body as data
    request_t put = { .method = "PUT", .path = "/api/v2/guardian/factors/email",
                      .authorization = authorization, .content_type = "application/json",
                      .body = "{\"enabled\": true }" };
    http = s_http (&put);
    assert_int_equal (http->status, 200);
    assert_string_equal (stub->service, "mfa");
    assert_string_equal (stub->op, "factors.update");
    assert_string_equal (s_body_str ("id"), "email");
    assert_true (json_is_true (json_object_get (json_object_get (stub->body, "data"), "enabled")));
    s_http_destroy (&http);

    //  Management bodies are JSON only
    put.body = "enabled=true";
    http = s_http (&put);
    assert_int_equal (http->status, 400);
    assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 400);
    s_http_destroy (&http);
    free (authorization);
}

static void
test_management_authentication_methods (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    char *authorization = s_mgmt_token ("read:authentication_methods delete:authentication_methods"
                                        " update:users", MGMT_AUDIENCE);
    request_t request = { .method = "GET",
                          .path = "/api/v2/users/auth0%7Cu1/authentication-methods",
                          .authorization = authorization };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_true (json_is_array (http->json));
    //  authn answers for the user's existence before mfa is asked
    assert_string_equal (stub->service, "authn");
    assert_string_equal (stub->op, "authentication_methods.list");
    assert_string_equal (s_body_str ("id"), "auth0|u1");
    s_http_destroy (&http);

    request.method = "DELETE";
    http = s_http (&request);
    assert_int_equal (http->status, 204);
    assert_string_equal (stub->op, "authentication_methods.delete_all");
    assert_string_equal (s_body_str ("id"), "auth0|u1");
    s_http_destroy (&http);

    request.path = "/api/v2/users/auth0%7Cu1/authentication-methods/email%7Cdev_abc";
    http = s_http (&request);
    assert_int_equal (http->status, 204);
    assert_string_equal (stub->op, "authentication_methods.delete");
    assert_string_equal (s_body_str ("id"), "auth0|u1");
    assert_string_equal (s_body_str ("sub_id"), "email|dev_abc");
    s_http_destroy (&http);

    //  A service's not_found in the Management API's shape
    request.path = "/api/v2/users/auth0%7Cu1/authentication-methods/email%7Cdev_gone";
    http = s_http (&request);
    assert_int_equal (http->status, 404);
    assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 404);
    assert_string_equal (s_member (http, "error"), "Not Found");
    assert_string_equal (s_member (http, "errorCode"), "not_found");
    assert_string_equal (s_member (http, "message"), "Authenticator not found");
    s_http_destroy (&http);

    request_t regenerate = { .method = "POST",
                             .path = "/api/v2/users/auth0%7Cu1/recovery-code-regeneration",
                             .authorization = authorization };
    http = s_http (&regenerate);
    assert_int_equal (http->status, 200);
    s_assert_no_store (http);
    assert_string_equal (s_member (http, "recovery_code"), "ABCDEFGHIJKLMNOPQRSTUVWX");
    assert_string_equal (stub->op, "recovery_code.regenerate");
    assert_string_equal (s_body_str ("id"), "auth0|u1");
    s_http_destroy (&http);
    free (authorization);

    //  Each route wants its own scope
    int before = s_requests (stub);
    authorization = s_mgmt_token ("read:authentication_methods read:users", MGMT_AUDIENCE);
    request.authorization = authorization;
    regenerate.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "errorCode"), "insufficient_scope");
    s_http_destroy (&http);
    http = s_http (&regenerate);
    assert_int_equal (http->status, 403);
    assert_string_equal (s_member (http, "errorCode"), "insufficient_scope");
    s_http_destroy (&http);
    free (authorization);
    //  A user's token is no administrator, whatever scope it claims
    authorization = s_user_token ("delete:authentication_methods", MGMT_AUDIENCE);
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 401);
    s_http_destroy (&http);
    free (authorization);
    assert_int_equal (s_requests (stub), before);
}

static void
test_key_rotation_refetches_keys (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    char *authorization = s_token_by (s_fx.rotated_pem, s_fx.rotated_kid, "read:clients",
                                      MGMT_AUDIENCE, "client-credentials");
    request_t request = { .method = "GET", .path = "/api/v2/clients",
                          .authorization = authorization };
    //  authn has not published the new key yet: refetched, still unknown, 401
    int fetches = s_keys_requests (stub);
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 401);
    assert_int_equal (s_keys_requests (stub), fetches + 1);
    s_http_destroy (&http);

    //  Now it has: the unknown kid makes the gateway fetch again, and it passes
    pthread_mutex_lock (&stub->mutex);
    json_array_append_new (json_object_get (stub->jwks, "keys"),
                           pst_jwt_public_jwk (s_fx.rotated_pem, s_fx.rotated_kid));
    pthread_mutex_unlock (&stub->mutex);
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_int_equal (s_keys_requests (stub), fetches + 2);
    assert_string_equal (stub->op, "clients.list");
    s_http_destroy (&http);

    //  Known from now on: no further fetch
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_int_equal (s_keys_requests (stub), fetches + 2);
    s_http_destroy (&http);
    free (authorization);
}

//  The JWKS document: the gateway answers it from the key set it keeps

static int
s_jwks_has (http_t *http, const char *kid)
{
    size_t index;
    json_t *key;
    json_array_foreach (json_object_get (http->json, "keys"), index, key)
        if (streq (json_string_value (json_object_get (key, "kid")), kid))
            return 1;
    return 0;
}

static void
test_jwks_served_from_the_gateways_copy (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    int fetches = s_keys_requests (stub);
    request_t request = { .method = "GET", .path = "/.well-known/jwks.json" };
    for (int attempt = 0; attempt < 3; attempt++) {
        http_t *http = s_http (&request);
        assert_int_equal (http->status, 200);
        s_assert_json (http);
        assert_true (s_jwks_has (http, s_fx.kid));
        s_http_destroy (&http);
    }
    //  authn was not asked: no bus round trip per request
    assert_int_equal (s_keys_requests (stub), fetches);
}

static void
test_rotation_renews_the_copy_before_answering (void **state)
{
    (void) state;
    request_t jwks = { .method = "GET", .path = "/.well-known/jwks.json" };
    http_t *http = s_http (&jwks);
    assert_false (s_jwks_has (http, s_fx.rotated_kid));
    s_http_destroy (&http);
    char *authorization = s_mgmt_token ("create:signing_keys", MGMT_AUDIENCE);
    request_t rotate = { .method = "POST", .path = "/api/v2/keys/signing/rotate", .body = "{}",
                         .content_type = "application/json", .authorization = authorization };
    http = s_http (&rotate);
    assert_int_equal (http->status, 201);
    assert_string_equal (s_member (http, "kid"), s_fx.rotated_kid);
    s_http_destroy (&http);
    //  The very next JWKS from this gateway shows the key the rotation made
    http = s_http (&jwks);
    assert_int_equal (http->status, 200);
    assert_true (s_jwks_has (http, s_fx.rotated_kid));
    s_http_destroy (&http);
    free (authorization);
}

static void
test_keys_generation_renews_the_copy (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    //  authn's keys change without this gateway hearing of it (a rotation
    //  through another gateway): only the generation in the revocation list says so
    pthread_mutex_lock (&stub->mutex);
    json_decref (stub->jwks);
    stub->jwks = json_pack ("{s:[o]}", "keys", pst_jwt_public_jwk (s_fx.key_pem, s_fx.kid));
    stub->keys_generation = 41;
    pthread_mutex_unlock (&stub->mutex);
    request_t request = { .method = "GET", .path = "/.well-known/jwks.json" };
    int renewed = 0;
    //  The list is read about once a second: a bounded wait, not a sleep
    for (int attempt = 0; attempt < 100 && !renewed; attempt++) {
        http_t *http = s_http (&request);
        assert_int_equal (http->status, 200);
        renewed = !s_jwks_has (http, s_fx.rotated_kid) && s_jwks_has (http, s_fx.kid);
        s_http_destroy (&http);
        if (!renewed)
            zclock_sleep (100);
    }
    assert_true (renewed);
    //  The same generation again renews nothing
    int fetches = s_keys_requests (stub);
    zclock_sleep (2500);
    assert_int_equal (s_keys_requests (stub), fetches);
    pthread_mutex_lock (&stub->mutex);
    stub->keys_generation = -1;
    pthread_mutex_unlock (&stub->mutex);
}

//  ---------------------------------------------------------------------------
//  Faults

static void
test_silent_service_then_recovery (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    s_set_silent (stub, 1);
    int before = s_requests (stub);
    request_t request = { .method = "POST", .path = "/oauth/token",
                          .body = "grant_type=password&username=u&password=p" };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 503);
    s_assert_json (http);
    assert_string_equal (s_member (http, "error"), "temporarily_unavailable");
    assert_string_equal (s_member (http, "error_description"), "Service authn did not answer in time");
    //  The request did reach the service, and the answer came at the deadline
    assert_int_equal (s_requests (stub), before + 1);
    assert_true (http->elapsed_ms >= BUS_TIMEOUT_MS * 9 / 10);
    assert_true (http->elapsed_ms <= BUS_TIMEOUT_MS + MARGIN_MS);
    s_http_destroy (&http);

    s_set_silent (stub, 0);
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_string_equal (s_member (http, "access_token"), "at-1");
    s_http_destroy (&http);
}

static void
test_service_not_connected (void **state)
{
    (void) state;
    //  A port where nothing listens: bind, note it, unbind
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    assert_int_not_equal (zsock_bind (probe, "tcp://127.0.0.1:*"), -1);
    char *dead = zsock_last_endpoint (probe);
    zsock_destroy (&probe);

    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    config->https_port = GW_PORT_OFF;
    config->http_port = GW_PORT_EPHEMERAL;
    config->bus_timeout_ms = 5000;
    gw_config_set_str (&config->authn_endpoint, dead);
    gw_config_set_str (&config->mfa_endpoint, dead);
    int https_port = -1, http_port = -1;
    zactor_t *gateway = pst_actor_new (gw_server_actor, config, "ii", &https_port, &http_port);
    assert_non_null (gateway);
    assert_int_equal (https_port, 0);
    assert_true (http_port > 0);

    request_t request = { .method = "POST", .path = "/oauth/token",
                          .body = "grant_type=password&username=u&password=p",
                          .plain_port = http_port };
    http_t *http = s_http (&request);
    assert_int_equal (http->status, 503);
    assert_string_equal (s_member (http, "error"), "temporarily_unavailable");
    assert_string_equal (s_member (http, "error_description"), "Service authn is not available");
    //  ZMQ_IMMEDIATE: refused at once, not at the 5 s deadline
    assert_true (http->elapsed_ms < 5000);
    s_http_destroy (&http);

    zactor_destroy (&gateway);
    gw_config_destroy (&config);
    zstr_free (&dead);
}

static zactor_t *
    s_own_gateway (gw_config_t *config, int bus_timeout_ms, int *http_port_p);

//  A Management API token of client, signed with the fixture's key
static char *
s_client_token (const char *client)
{
    long long now = (long long) time (NULL);
    char sub [64];
    snprintf (sub, sizeof sub, "%s@clients", client);
    json_t *claims = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "iss", ISSUER,
        "aud", MGMT_AUDIENCE, "sub", sub, "iat", now, "exp", now + 600, "scope", "read:clients",
        "azp", client, "gty", "client-credentials");
    char *token = pst_jwt_sign (s_fx.key_pem, s_fx.kid, "at+jwt", claims);
    json_decref (claims);
    assert_non_null (token);
    char *header = NULL;
    assert_true (asprintf (&header, "Bearer %s", token) > 0);
    free (token);
    return header;
}

static long
s_header_int (http_t *http, const char *name)
{
    const char *value = s_header (http, name);
    assert_non_null (value);
    return strtol (value, NULL, 10);
}

//  Sends request until the gateway refuses it with 429 (at most tries times):
//  every answer carries the x-ratelimit headers of one bucket of limit, the
//  first with limit - 1 left; the 429 is Auth0's, with Retry-After. Returns
//  how many were served.
static int
s_until_refused (request_t *request, long served_status, int limit, int tries)
{
    int served = 0;
    for (int attempt = 0; attempt < tries; attempt++) {
        http_t *http = s_http (request);
        long now = (long) time (NULL);
        assert_int_equal (s_header_int (http, "X-RateLimit-Limit"), limit);
        long remaining = s_header_int (http, "X-RateLimit-Remaining");
        long reset = s_header_int (http, "X-RateLimit-Reset");
        assert_true (remaining >= 0 && remaining < limit);
        assert_true (reset >= now && reset <= now + limit + 1);
        if (attempt == 0)
            assert_int_equal (remaining, limit - 1);
        if (http->status == 429) {
            assert_int_equal (remaining, 0);
            assert_int_equal (json_integer_value (json_object_get (http->json, "statusCode")), 429);
            assert_string_equal (s_member (http, "error"), "Too Many Requests");
            assert_string_equal (s_member (http, "errorCode"), "too_many_requests");
            assert_int_equal (s_header_int (http, "Retry-After"), 1);
            s_http_destroy (&http);
            return served;
        }
        assert_int_equal (http->status, served_status);
        served++;
        s_http_destroy (&http);
    }
    fail_msg ("no 429 in %d requests", tries);
    return served;
}

//  Every Management API answer carries Auth0's x-ratelimit headers, and they
//  are kept: a client's bucket (the token's azp) empties, then 429 until it
//  refills; another client has its own; requests without a good token, and
//  answers the gateway gives before it knows the caller, count against the
//  address. The Authentication API carries none of it.
static void
test_management_rate_limit (void **state)
{
    (void) state;
    request_t token = { .method = "POST", .path = "/oauth/token",
                        .body = "grant_type=client_credentials&client_id=c&client_secret=s" };
    http_t *http = s_http (&token);
    assert_null (s_header (http, "X-RateLimit-Limit"));
    s_http_destroy (&http);
    char *authorization = s_client_token ("m2m-client");
    request_t request = { .method = "GET", .path = "/api/v2/clients/abc",
                          .authorization = authorization };
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_int_equal (s_header_int (http, "X-RateLimit-Limit"), 100);
    s_http_destroy (&http);
    free (authorization);

    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    config->mgmt_rate_limit = 3;
    config->mgmt_rate_per_s = 1;
    int port = -1;
    zactor_t *gateway = s_own_gateway (config, 2000, &port);
    stub_t *stub = &s_fx.stubs.stub;

    authorization = s_client_token ("busy-client");
    request = (request_t) { .method = "GET", .path = "/api/v2/clients/abc",
                            .authorization = authorization, .plain_port = port };
    int before = s_requests (stub);
    int served = s_until_refused (&request, 200, 3, 10);
    assert_true (served >= 3);
    //  What was refused never reached a service
    assert_int_equal (s_requests (stub), before + served);
    //  A second later there is a token again
    zclock_sleep (1100);
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    s_http_destroy (&http);
    free (authorization);

    //  Another client: a bucket of its own
    authorization = s_client_token ("calm-client");
    request.authorization = authorization;
    http = s_http (&request);
    assert_int_equal (http->status, 200);
    assert_int_equal (s_header_int (http, "X-RateLimit-Remaining"), 2);
    s_http_destroy (&http);
    free (authorization);

    //  No token, or a bad one: the address's bucket; a 404 counts there too
    request.authorization = NULL;
    served = s_until_refused (&request, 401, 3, 10);
    assert_true (served >= 3);
    request_t unknown = { .method = "GET", .path = "/api/v2/nope", .plain_port = port };
    http = s_http (&unknown);
    assert_int_equal (http->status, 429);
    assert_int_equal (s_header_int (http, "X-RateLimit-Remaining"), 0);
    s_http_destroy (&http);

    zactor_destroy (&gateway);
    gw_config_destroy (&config);
}

typedef struct {
    int port;
    long status;
    http_t http;
} background_t;

//  A plain HTTP request on its own thread; no cmocka assertions off the main thread.
static void *
s_background_request (void *arg)
{
    background_t *background = (background_t *) arg;
    char url [128];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/oauth/token", background->port);
    CURL *curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "grant_type=password&username=u&password=p");
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &background->http);
    int64_t started = zclock_mono ();
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &background->status);
    background->http.elapsed_ms = zclock_mono () - started;
    curl_easy_cleanup (curl);
    return NULL;
}

//  A gateway of its own on plain HTTP with the given bus deadline, connected to
//  the stub's authn (its first key fetch has arrived)
static zactor_t *
s_own_gateway (gw_config_t *config, int bus_timeout_ms, int *http_port_p)
{
    stub_t *stub = &s_fx.stubs.stub;
    config->https_port = GW_PORT_OFF;
    config->http_port = GW_PORT_EPHEMERAL;
    config->bus_timeout_ms = bus_timeout_ms;
    gw_config_set_str (&config->authn_endpoint, s_fx.stubs.authn_endpoint);
    gw_config_set_str (&config->mfa_endpoint, s_fx.stubs.mfa_endpoint);
    int fetches = s_keys_requests (stub);
    int https_port = -1;
    zactor_t *gateway = pst_actor_new (gw_server_actor, config, "ii", &https_port, http_port_p);
    assert_non_null (gateway);
    assert_true (*http_port_p > 0);
    int64_t until = zclock_mono () + 5000;
    while (s_keys_requests (stub) == fetches && zclock_mono () < until)
        zclock_sleep (5);
    assert_true (s_keys_requests (stub) > fetches);
    return gateway;
}

//  Starts the background request and returns once the service has it
static void
s_request_in_flight (background_t *background, pthread_t *thread)
{
    stub_t *stub = &s_fx.stubs.stub;
    int before = s_requests (stub);
    assert_int_equal (pthread_create (thread, NULL, s_background_request, background), 0);
    int64_t until = zclock_mono () + 5000;
    while (s_requests (stub) == before && zclock_mono () < until)
        zclock_sleep (5);
    assert_int_equal (s_requests (stub), before + 1);
}

//  A stop drains: the request in flight gets the service's real answer, not a
//  503, and the stop waits for it
static void
test_shutdown_drains_requests_in_flight (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    background_t background = { .port = -1 };
    zactor_t *gateway = s_own_gateway (config, 5000, &background.port);
    pthread_mutex_lock (&stub->mutex);
    stub->delay_ms = 800;
    pthread_mutex_unlock (&stub->mutex);
    pthread_t thread;
    s_request_in_flight (&background, &thread);

    int64_t stop_started = zclock_mono ();
    zactor_destroy (&gateway);
    int64_t stop_ms = zclock_mono () - stop_started;
    pthread_join (thread, NULL);
    pthread_mutex_lock (&stub->mutex);
    stub->delay_ms = 0;
    pthread_mutex_unlock (&stub->mutex);
    assert_int_equal (background.status, 200);
    assert_non_null (strstr (background.http.body, "access_token"));
    //  It waited for the answer (most of the 800 ms), not for the whole deadline
    assert_true (stop_ms >= 300);
    assert_true (stop_ms < 5000);
    gw_config_destroy (&config);
}

//  A service that never answers cannot hold a stop past the bus deadline: the
//  request gets its 503 (rather than being dropped, or crashing MHD)
static void
test_shutdown_answers_waiting_requests (void **state)
{
    (void) state;
    stub_t *stub = &s_fx.stubs.stub;
    gw_config_t *config = gw_config_new ();
    gw_config_set_str (&config->keys_dir, test_keys_dir ());
    background_t background = { .port = -1 };
    zactor_t *gateway = s_own_gateway (config, 1500, &background.port);
    s_set_silent (stub, 1);
    pthread_t thread;
    s_request_in_flight (&background, &thread);

    int64_t stop_started = zclock_mono ();
    zactor_destroy (&gateway);
    int64_t stop_ms = zclock_mono () - stop_started;
    pthread_join (thread, NULL);
    s_set_silent (stub, 0);
    assert_int_equal (background.status, 503);
    assert_non_null (strstr (background.http.body, "temporarily_unavailable"));
    //  The deadline (1.5 s), the moment answers get to leave (1 s), a margin
    assert_true (stop_ms < 4500);
    assert_true (background.http.elapsed_ms < 4500);
    gw_config_destroy (&config);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_token_success_passes_through),
        cmocka_unit_test (test_forwarded_client_address),
        cmocka_unit_test (test_mfa_required_rendering),
        cmocka_unit_test (test_retry_after_header),
        cmocka_unit_test (test_basic_failure_challenge),
        cmocka_unit_test (test_json_body_with_form_content_type),
        cmocka_unit_test (test_basic_client_credentials),
        cmocka_unit_test (test_mfa_associate_with_mfa_token),
        cmocka_unit_test (test_mfa_authenticators_list),
        cmocka_unit_test (test_mfa_authenticators_delete),
        cmocka_unit_test (test_userinfo),
        cmocka_unit_test (test_body_too_large),
        cmocka_unit_test (test_not_found_and_method_not_allowed),
        cmocka_unit_test (test_duplicate_form_parameter),
        cmocka_unit_test (test_management_without_token),
        cmocka_unit_test (test_management_insufficient_scope),
        cmocka_unit_test (test_management_good_token),
        cmocka_unit_test (test_management_authentication_methods),
        cmocka_unit_test (test_keys_after_a_slow_start),
        cmocka_unit_test (test_revoked_tokens),
        cmocka_unit_test (test_revocations_before_first_list),
        cmocka_unit_test (test_key_rotation_refetches_keys),
        cmocka_unit_test (test_jwks_served_from_the_gateways_copy),
        //  these two in this order: the first takes the rotated key out of the
        //  gateway's copy, the second brings it back by a rotation
        cmocka_unit_test (test_keys_generation_renews_the_copy),
        cmocka_unit_test (test_rotation_renews_the_copy_before_answering),
        cmocka_unit_test (test_silent_service_then_recovery),
        cmocka_unit_test (test_service_not_connected),
        cmocka_unit_test (test_management_rate_limit),
        cmocka_unit_test (test_shutdown_drains_requests_in_flight),
        cmocka_unit_test (test_shutdown_answers_waiting_requests),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
