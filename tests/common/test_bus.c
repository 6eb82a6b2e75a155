//  pst_bus: correlated calls, deadlines, central validation and dispatch in workers.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <czmq.h>
#include "pst_bus.h"
#include "pst_service.h"
#include "pst_error.h"
#include "pst_sql.h"
#include "pst_error.h"
#include "test_keys.h"
#include "test_log_capture.h"
#include <unistd.h>

static int s_slow_ms = 0;

static int
s_echo (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker;
    json_t *body = json_deep_copy (pst_msg_body (request));
    json_object_set_new (body, "caller", json_string (pst_msg_caller (request)? pst_msg_caller (request): ""));
    pst_msg_set_body (reply, &body);
    return 0;
}

static int
s_slow (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker; (void) request; (void) reply;
    zclock_sleep (s_slow_ms);
    return 0;
}

static int
s_counted (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request; (void) reply;
    int *count = (int *) worker;
    (*count)++;
    return 0;
}

//  A handler whose database could not be reached, and one that fails otherwise
static int
s_database_down (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker; (void) request;
    pst_sql_unavailable_note ();
    return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
}

//  A read that failed looks like "not found" to its handler
static int
s_database_down_not_found (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker; (void) request;
    pst_sql_unavailable_note ();
    return pst_msg_fail (reply, "invalid_client", "Unknown client.");
}

static int
s_broken (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker; (void) request;
    return pst_msg_fail (reply, PST_ERR_INTERNAL, "Something broke");
}

static int s_counter = 0;

//  Meets the other requests of its group: each waits until as many have
//  arrived as the group holds (up to MEET_WAIT_MS, a fail-safe), then answers
//  whether they met. Only as many workers as the group holds, all handling at
//  once, can meet.
#define MEET_WAIT_MS    5000
static atomic_int s_arrived = 0;
static atomic_int s_meet_group = 4;

static int
s_meet (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) worker; (void) request;
    int group = atomic_load (&s_meet_group);
    int ticket = atomic_fetch_add (&s_arrived, 1) + 1;
    int full = ((ticket - 1) / group + 1) * group;
    int64_t until = zclock_mono () + MEET_WAIT_MS;
    while (atomic_load (&s_arrived) < full && zclock_mono () < until)
        zclock_sleep (1);
    json_object_set_new (pst_msg_body (reply), "met", json_boolean (atomic_load (&s_arrived) >= full));
    return 0;
}

//  The test service's own catalogue: what it serves and what each op requires
#define TEST_OP(name, scope, params) \
    { PST_SERVICE_AUTHN, name, PST_CALLER_GATEWAY, PST_API_AUTH, NULL, NULL, PST_AUTH_NONE, \
      scope, params, 0, 0 }
static const pst_op_def_t s_catalogue [] = {
    TEST_OP ("test.echo", NULL, ""),
    TEST_OP ("test.slow", NULL, ""),
    TEST_OP ("test.meet", NULL, ""),
    TEST_OP ("test.secret", "read:secret", ""),
    TEST_OP ("test.count", NULL, ""),
    TEST_OP ("test.needs", NULL, "value:i name"),
    TEST_OP ("test.dbdown", NULL, ""),
    TEST_OP ("test.broken", NULL, ""),
    TEST_OP ("test.dbdown_nf", NULL, ""),
    { PST_SERVICE_AUTHN, "test.from_mailer", PST_CALLER_MAILER, PST_API_BUS, NULL, NULL,
      PST_AUTH_NONE, NULL, "", 0, 0 },
    TEST_OP (NULL, NULL, NULL)
};

static const pst_handler_t s_handlers [] = {
    { "test.echo", s_echo },
    { "test.slow", s_slow },
    { "test.meet", s_meet },
    { "test.secret", s_echo },
    { "test.count", s_counted },
    { "test.needs", s_echo },
    { "test.from_mailer", s_echo },
    { "test.dbdown", s_database_down },
    { "test.broken", s_broken },
    { "test.dbdown_nf", s_database_down_not_found },
    { NULL, NULL }
};

static void *
s_worker_init (void *args)
{
    return args;
}

static pst_service_config_t
s_config (const char *endpoint, int workers)
{
    pst_service_config_t config = {
        .name = "test", .endpoint = endpoint, .service = PST_SERVICE_AUTHN,
        .catalogue = s_catalogue, .handlers = s_handlers, .workers = workers,
        .worker_init = s_worker_init, .worker_destroy = NULL, .args = &s_counter
    };
    return config;
}

static void
test_call_round_trip (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 2);
    pst_service_t *service = pst_service_new (&config);
    assert_non_null (service);
    assert_true (strncmp (pst_service_endpoint (service), "tcp://127.0.0.1:", 16) == 0);

    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    assert_non_null (client);
    pst_msg_t *request = pst_msg_new_request ("test.echo", 2000);
    json_object_set_new (pst_msg_body (request), "value", json_integer (42));
    pst_msg_set_caller (request, "client-1", "a b");
    pst_msg_t *reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_id (reply), pst_msg_id (request));
    assert_int_equal (pst_msg_get_int (reply, "value", 0), 42);
    assert_string_equal (pst_msg_get_str (reply, "caller"), "client-1");
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    pst_client_destroy (&client);
    pst_service_destroy (&service);
    assert_null (service);
}

//  A client given a service's instances (a comma-separated list) spreads its
//  calls over them, and once one is gone the others take every call
static void
test_client_takes_turns_over_instances (void **state)
{
    (void) state;
    int count_a = 0;
    int count_b = 0;
    pst_service_config_t config_a = s_config ("tcp://127.0.0.1:*", 1);
    config_a.args = &count_a;
    pst_service_config_t config_b = s_config ("tcp://127.0.0.1:*", 1);
    config_b.args = &count_b;
    pst_service_t *service_a = pst_service_new (&config_a);
    pst_service_t *service_b = pst_service_new (&config_b);
    assert_non_null (service_a);
    assert_non_null (service_b);
    char list [256];
    snprintf (list, sizeof list, "%s,%s", pst_service_endpoint (service_a),
              pst_service_endpoint (service_b));
    pst_client_t *client = pst_client_new (list, NULL, NULL);
    assert_non_null (client);
    //  Both connected before counting, so turns are even
    for (int tries = 0; tries < 100 && (count_a == 0 || count_b == 0); tries++) {
        pst_msg_t *request = pst_msg_new_request ("test.count", 2000);
        pst_msg_t *reply = pst_client_call (client, request);
        assert_non_null (reply);
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    assert_true (count_a > 0 && count_b > 0);
    pst_service_destroy (&service_a);
    int before = count_b;
    zclock_sleep (300);     //  the closed connection is noticed
    for (int call = 0; call < 20; call++) {
        pst_msg_t *request = pst_msg_new_request ("test.count", 2000);
        pst_msg_t *reply = pst_client_call (client, request);
        assert_non_null (reply);
        assert_false (pst_msg_is_error (reply));
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    assert_int_equal (count_b - before, 20);
    pst_client_destroy (&client);
    pst_service_destroy (&service_b);
    //  A list with nothing in it is refused
    assert_null (pst_client_new (" , ", NULL, NULL));
}

//  A failure while the database could not be reached is a 503 (worth a
//  retry), whatever the handler said ("unknown client" from a read that
//  failed included); any other failure stays what it was, and the next
//  request on the same worker starts clean
static void
test_database_unavailable_is_503 (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    assert_non_null (service);
    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    const char *ops [] = { "test.dbdown", "test.broken", "test.dbdown_nf", "test.echo" };
    const char *want [] = { PST_ERR_UNAVAILABLE, PST_ERR_INTERNAL, PST_ERR_UNAVAILABLE, NULL };
    for (int i = 0; i < 4; i++) {
        pst_msg_t *request = pst_msg_new_request (ops [i], 2000);
        pst_msg_t *reply = pst_client_call (client, request);
        assert_non_null (reply);
        if (want [i])
            assert_string_equal (pst_msg_error (reply), want [i]);
        else
            assert_false (pst_msg_is_error (reply));
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    pst_client_destroy (&client);
    pst_service_destroy (&service);
}

static void
test_unknown_op_and_scope (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);

    pst_msg_t *request = pst_msg_new_request ("test.nothing", 2000);
    pst_msg_t *reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_REQUEST);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);

    request = pst_msg_new_request ("test.secret", 2000);
    pst_msg_set_caller (request, "c", "read:secretx read:other");
    reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_string_equal (pst_msg_error (reply), PST_ERR_INSUFFICIENT_SCOPE);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);

    request = pst_msg_new_request ("test.secret", 2000);
    pst_msg_set_caller (request, "c", "read:other read:secret");
    reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);

    pst_client_destroy (&client);
    pst_service_destroy (&service);
}

//  A row's params are checked before its handler runs: absent, empty or of
//  another type is refused with the Authentication API's words, and the
//  handler never sees it (it would echo)
static void
test_params_checked_before_handler (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    assert_non_null (service);
    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    struct {
        const char *body;
        const char *error_text;
    } cases [] = {
        { "{}", "Missing required parameter: value" },
        { "{\"value\": \"1\", \"name\": \"n\"}", "Invalid parameter: value must be an integer" },
        { "{\"value\": 1}", "Missing required parameter: name" },
        { "{\"value\": 1, \"name\": \"\"}", "Missing required parameter: name" },
        { "{\"value\": 1, \"name\": 7}", "Missing required parameter: name" },
        { "{\"value\": null, \"name\": \"n\"}", "Missing required parameter: value" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        pst_msg_t *request = pst_msg_new_request ("test.needs", 2000);
        json_t *body = json_loads (cases [i].body, 0, NULL);
        assert_non_null (body);
        pst_msg_set_body (request, &body);
        pst_msg_t *reply = pst_client_call (client, request);
        assert_non_null (reply);
        assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_REQUEST);
        assert_string_equal (pst_msg_error_text (reply), cases [i].error_text);
        assert_null (pst_msg_get_str (reply, "caller"));
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    pst_msg_t *request = pst_msg_new_request ("test.needs", 2000);
    json_t *body = json_pack ("{s:i, s:s}", "value", 3, "name", "n");
    pst_msg_set_body (request, &body);
    pst_msg_t *reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_false (pst_msg_is_error (reply));
    assert_int_equal (pst_msg_get_int (reply, "value", 0), 3);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    pst_client_destroy (&client);
    pst_service_destroy (&service);
}

//  A service whose catalogue names an op it has no handler for does not start
static void
test_op_without_handler (void **state)
{
    (void) state;
    static const pst_handler_t fewer [] = {
        { "test.echo", s_echo }, { "test.slow", s_slow }, { "test.secret", s_echo },
        { "test.count", s_counted }, { NULL, NULL }
    };
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    config.handlers = fewer;
    pst_service_t *service = pst_service_new (&config);
    assert_null (service);
}

//  A dead service fails the call once the short connect wait is over, well
//  before a long deadline (its caller's worker is not held); a short deadline
//  still wins; a silent service fails at the deadline, not later, and its late
//  reply is not mistaken for the next call's answer.
static void
test_deadlines (void **state)
{
    (void) state;
    pst_client_t *client = pst_client_new ("tcp://127.0.0.1:1", NULL, NULL);
    pst_msg_t *request = pst_msg_new_request ("test.echo", 3000);
    int64_t start = zclock_mono ();
    assert_null (pst_client_call (client, request));
    int64_t waited = zclock_mono () - start;
    assert_true (waited >= PST_CLIENT_CONNECT_WAIT_MS - 20 && waited < 1000);
    pst_msg_destroy (&request);
    request = pst_msg_new_request ("test.echo", 100);
    start = zclock_mono ();
    assert_null (pst_client_call (client, request));
    waited = zclock_mono () - start;
    assert_true (waited >= 80 && waited < PST_CLIENT_CONNECT_WAIT_MS);
    pst_msg_destroy (&request);
    pst_client_destroy (&client);

    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    zclock_sleep (100);      //  let the connection come up: ZMQ_IMMEDIATE
    s_slow_ms = 400;
    request = pst_msg_new_request ("test.slow", 150);
    start = zclock_mono ();
    assert_null (pst_client_call (client, request));
    int64_t elapsed = zclock_mono () - start;
    assert_true (elapsed >= 140 && elapsed < 400);
    pst_msg_destroy (&request);

    request = pst_msg_new_request ("test.echo", 2000);
    json_object_set_new (pst_msg_body (request), "value", json_integer (7));
    pst_msg_t *reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_string_equal (pst_msg_id (reply), pst_msg_id (request));
    assert_int_equal (pst_msg_get_int (reply, "value", 0), 7);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    pst_client_destroy (&client);
    pst_service_destroy (&service);
    s_slow_ms = 0;
}

//  Requests already past their deadline are never handled.
static void
test_expired_request_dropped (void **state)
{
    (void) state;
    s_counter = 0;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
    pst_msg_t *request = pst_msg_new_request ("test.count", 1000);
    pst_msg_set_deadline (request, (uint64_t) zclock_time () - 10);
    assert_int_equal (pst_bus_send (raw, NULL, request), 0);
    pst_msg_destroy (&request);
    zsock_set_rcvtimeo (raw, 300);
    zmsg_t *nothing = zmsg_recv (raw);
    assert_null (nothing);
    assert_int_equal (s_counter, 0);
    zsock_destroy (&raw);
    pst_service_destroy (&service);
}

//  Garbage frames are dropped and the service keeps serving.
static void
test_garbage_dropped (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *service = pst_service_new (&config);
    zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
    test_log_capture ();
    const uint8_t garbage [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
    zframe_t *frame = zframe_new (garbage, sizeof garbage);
    zframe_send (&frame, raw, 0);
    zstr_send (raw, "not msgpack at all");
    //  Frames of another shape, dropped before a handler sees them: a request
    //  behind them in the same burst is still taken
    zstr_sendm (raw, "two");
    zstr_send (raw, "frames");
    pst_msg_t *behind = pst_msg_new_request ("test.echo", 2000);
    assert_int_equal (pst_bus_send (raw, NULL, behind), 0);
    zsock_set_rcvtimeo (raw, 2000);
    pst_msg_t *answer = pst_bus_recv_dealer (raw);
    assert_non_null (answer);
    assert_string_equal (pst_msg_id (answer), pst_msg_id (behind));
    pst_msg_destroy (&answer);
    pst_msg_destroy (&behind);
    char *log = test_log_captured (STDERR_FILENO);
    assert_int_equal (test_log_count (log, "\"reason\":\"no route\""), 1);
    assert_int_equal (test_log_count (log, "\"event\":\"bus_malformed\",\"where\":\"test\""), 2);
    free (log);

    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    zclock_sleep (50);
    pst_msg_t *request = pst_msg_new_request ("test.echo", 2000);
    pst_msg_t *reply = pst_client_call (client, request);
    assert_non_null (reply);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    pst_client_destroy (&client);
    zsock_destroy (&raw);
    pst_service_destroy (&service);
}

//  Reading without waiting: a malformed message counts as one read (the socket
//  may hold more behind it, and a reader that stopped there would sleep on
//  them), a good one is decoded, an empty socket says 0, and the socket's own
//  receive timeout is left as it was.
static void
test_recv_dealer_nowait (void **state)
{
    (void) state;
    zsock_t *server = zsock_new_dealer ("@inproc://test-recv-nowait");
    zsock_t *client = zsock_new_dealer (">inproc://test-recv-nowait");
    assert_non_null (server);
    assert_non_null (client);
    zsock_set_rcvtimeo (server, 1234);
    pst_msg_t *request = pst_msg_new_request ("test.echo", 2000);
    assert_int_equal (zstr_send (client, "not an envelope"), 0);
    assert_int_equal (pst_bus_send (client, NULL, request), 0);

    pst_msg_t *got = (pst_msg_t *) 1;
    assert_int_equal (pst_bus_recv_dealer_nowait (server, &got), 1);
    assert_null (got);
    assert_int_equal (pst_bus_recv_dealer_nowait (server, &got), 1);
    assert_non_null (got);
    assert_string_equal (pst_msg_id (got), pst_msg_id (request));
    pst_msg_destroy (&got);
    assert_int_equal (pst_bus_recv_dealer_nowait (server, &got), 0);
    assert_null (got);
    assert_int_equal (zsock_rcvtimeo (server), 1234);

    pst_msg_destroy (&request);
    zsock_destroy (&client);
    zsock_destroy (&server);
}

//  Two workers serve two slow requests at once.
static void
test_workers_run_in_parallel (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 2);
    pst_service_t *service = pst_service_new (&config);
    zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
    zclock_sleep (50);
    s_slow_ms = 300;
    pst_msg_t *first = pst_msg_new_request ("test.slow", 2000);
    pst_msg_t *second = pst_msg_new_request ("test.slow", 2000);
    int64_t start = zclock_mono ();
    assert_int_equal (pst_bus_send (raw, NULL, first), 0);
    assert_int_equal (pst_bus_send (raw, NULL, second), 0);
    pst_msg_t *a = pst_bus_recv_dealer (raw);
    pst_msg_t *b = pst_bus_recv_dealer (raw);
    int64_t elapsed = zclock_mono () - start;
    assert_non_null (a);
    assert_non_null (b);
    assert_true (elapsed < 550);
    pst_msg_destroy (&a);
    pst_msg_destroy (&b);
    pst_msg_destroy (&first);
    pst_msg_destroy (&second);
    zsock_destroy (&raw);
    pst_service_destroy (&service);
    s_slow_ms = 0;
}

//  A request goes to an idle worker, never into the queue of a busy one: with
//  one of two workers held by a slow request, quick ones keep passing it
static void
test_idle_worker_takes_request (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 2);
    pst_service_t *service = pst_service_new (&config);
    zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
    pst_client_t *client = pst_client_new (pst_service_endpoint (service), NULL, NULL);
    zclock_sleep (50);
    s_slow_ms = 800;
    pst_msg_t *slow = pst_msg_new_request ("test.slow", 3000);
    assert_int_equal (pst_bus_send (raw, NULL, slow), 0);
    zclock_sleep (50);          //  the slow one is taken
    for (int round = 0; round < 4; round++) {
        pst_msg_t *request = pst_msg_new_request ("test.echo", 2000);
        json_object_set_new (pst_msg_body (request), "value", json_integer (round));
        int64_t start = zclock_mono ();
        pst_msg_t *reply = pst_client_call (client, request);
        int64_t elapsed = zclock_mono () - start;
        assert_non_null (reply);
        assert_int_equal (pst_msg_get_int (reply, "value", -1), round);
        assert_true (elapsed < 300);
        pst_msg_destroy (&reply);
        pst_msg_destroy (&request);
    }
    pst_msg_t *answer = pst_bus_recv_dealer (raw);
    assert_non_null (answer);
    assert_string_equal (pst_msg_id (answer), pst_msg_id (slow));
    pst_msg_destroy (&answer);
    pst_msg_destroy (&slow);
    pst_client_destroy (&client);
    zsock_destroy (&raw);
    pst_service_destroy (&service);
    s_slow_ms = 0;
}

//  Many callers at once, more requests than workers, handlers of two speeds:
//  every request is answered once, with its own answer, to its own caller.
#define LOAD_CALLERS     6
#define LOAD_REQUESTS    300
static void
test_every_request_answered_under_load (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 3);
    pst_service_t *service = pst_service_new (&config);
    assert_non_null (service);
    zsock_t *callers [LOAD_CALLERS];
    for (int i = 0; i < LOAD_CALLERS; i++) {
        callers [i] = zsock_new_dealer (pst_service_endpoint (service));
        assert_non_null (callers [i]);
        zsock_set_rcvtimeo (callers [i], 5000);
    }
    zclock_sleep (50);
    s_slow_ms = 1;
    //  Each request's id, by caller and number: an answer names the request
    //  it answers, and the echo's value says whose it was
    static char ids [LOAD_CALLERS][LOAD_REQUESTS][64];
    for (int n = 0; n < LOAD_REQUESTS; n++)
        for (int i = 0; i < LOAD_CALLERS; i++) {
            pst_msg_t *request = pst_msg_new_request (n % 3? "test.echo": "test.slow", 20000);
            json_object_set_new (pst_msg_body (request), "value",
                                 json_integer (i * LOAD_REQUESTS + n));
            snprintf (ids [i][n], sizeof ids [i][n], "%s", pst_msg_id (request));
            assert_int_equal (pst_bus_send (callers [i], NULL, request), 0);
            pst_msg_destroy (&request);
        }
    for (int i = 0; i < LOAD_CALLERS; i++) {
        bool answered [LOAD_REQUESTS] = { false };
        int count = 0;
        pst_msg_t *answer;
        while (count < LOAD_REQUESTS && (answer = pst_bus_recv_dealer (callers [i]))) {
            assert_false (pst_msg_is_error (answer));
            int n = 0;
            while (n < LOAD_REQUESTS && strcmp (ids [i][n], pst_msg_id (answer)) != 0)
                n++;
            assert_true (n < LOAD_REQUESTS);        //  this caller's request
            assert_false (answered [n]);            //  answered once
            answered [n] = true;
            count++;
            if (n % 3)                              //  the echo's own value
                assert_int_equal (pst_msg_get_int (answer, "value", -1), i * LOAD_REQUESTS + n);
            pst_msg_destroy (&answer);
        }
        assert_int_equal (count, LOAD_REQUESTS);
        zsock_destroy (&callers [i]);
    }
    pst_service_destroy (&service);
    s_slow_ms = 0;
}

//  Requests that arrive together each find an idle worker, round after round.
//  The workers take turns at one frontend, and the worker that takes one of
//  them may consume the socket's signal of the others: unless it wakes other
//  workers for them, they wait for it to finish, and the group cannot meet.
//  Groups of 4 and of 8 on as many workers, so that every worker is needed.
static void
test_burst_finds_every_idle_worker (void **state)
{
    (void) state;
    const int groups [] = { 4, 8 };
    for (size_t g = 0; g < sizeof groups / sizeof groups [0]; g++) {
        int group = groups [g];
        atomic_store (&s_meet_group, group);
        pst_service_config_t config = s_config ("tcp://127.0.0.1:*", group);
        pst_service_t *service = pst_service_new (&config);
        assert_non_null (service);
        zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
        zsock_set_rcvtimeo (raw, MEET_WAIT_MS * 2);
        zclock_sleep (50);
        atomic_store (&s_arrived, 0);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < group; i++) {
                pst_msg_t *request = pst_msg_new_request ("test.meet", MEET_WAIT_MS * 2);
                assert_int_equal (pst_bus_send (raw, NULL, request), 0);
                pst_msg_destroy (&request);
            }
            for (int i = 0; i < group; i++) {
                pst_msg_t *answer = pst_bus_recv_dealer (raw);
                assert_non_null (answer);
                assert_true (json_is_true (json_object_get (pst_msg_body (answer), "met")));
                pst_msg_destroy (&answer);
            }
        }
        zsock_destroy (&raw);
        pst_service_destroy (&service);
    }
}

//  Stopping a service answers the request it is handling (a planned restart
//  loses nothing it had started), and the stop waits only for that
static void
test_stop_drains (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 2);
    pst_service_t *service = pst_service_new (&config);
    zsock_t *raw = zsock_new_dealer (pst_service_endpoint (service));
    zclock_sleep (50);
    s_slow_ms = 400;
    pst_msg_t *slow = pst_msg_new_request ("test.slow", 3000);
    assert_int_equal (pst_bus_send (raw, NULL, slow), 0);
    zclock_sleep (100);         //  being handled
    int64_t start = zclock_mono ();
    pst_service_destroy (&service);
    int64_t stop_ms = zclock_mono () - start;
    assert_true (stop_ms >= 200 && stop_ms < PST_SERVICE_DRAIN_MS);
    zsock_set_rcvtimeo (raw, 1000);
    pst_msg_t *answer = pst_bus_recv_dealer (raw);
    assert_non_null (answer);
    assert_string_equal (pst_msg_id (answer), pst_msg_id (slow));
    assert_false (pst_msg_is_error (answer));
    pst_msg_destroy (&answer);
    pst_msg_destroy (&slow);
    zsock_destroy (&raw);
    s_slow_ms = 0;
}

static void
test_bind_failure (void **state)
{
    (void) state;
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    pst_service_t *first = pst_service_new (&config);
    pst_service_config_t clash = s_config (pst_service_endpoint (first), 1);
    pst_service_t *second = pst_service_new (&clash);
    assert_null (second);
    pst_service_destroy (&first);
}

//  With CURVE: only the keys of the directory connect, only the roles the
//  catalogue names get an answer, and the caller and scopes of an envelope
//  are believed from the gateway only (here: no authn row)
static pst_msg_t *
s_curve_call (const char *endpoint, pst_curve_t *curve, const char *op, const char *scopes)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert_non_null (sock);
    pst_bus_tune (sock);
    if (curve)
        assert_int_equal (pst_curve_client (curve, sock, "authn"), 0);
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    pst_msg_t *request = pst_msg_new_request (op, 1500);
    pst_msg_set_caller (request, "someone", scopes);
    zclock_sleep (100);
    pst_bus_send (sock, NULL, request);
    zpoller_t *poller = zpoller_new (sock, NULL);
    pst_msg_t *reply = zpoller_wait (poller, 1000)? pst_bus_recv_dealer (sock): NULL;
    zpoller_destroy (&poller);
    pst_msg_destroy (&request);
    zsock_destroy (&sock);
    return reply;
}

static void
test_curve_admits_and_authorises (void **state)
{
    (void) state;
    pst_curve_t *server = test_keys_curve ("authn");
    pst_service_config_t config = s_config ("tcp://127.0.0.1:*", 1);
    config.curve = server;
    pst_service_t *service = pst_service_new (&config);
    assert_non_null (service);
    const char *endpoint = pst_service_endpoint (service);

    //  The gateway's key: answered, and its caller believed
    pst_msg_t *reply = s_curve_call (endpoint, test_keys_curve ("gateway"), "test.secret", "read:secret");
    assert_non_null (reply);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "caller"), "someone");
    pst_msg_destroy (&reply);
    //  A mailer's key: only the op whose row names mailers is answered, and
    //  the caller it claims is not believed
    assert_null (s_curve_call (endpoint, test_keys_curve ("mailer"), "test.echo", NULL));
    reply = s_curve_call (endpoint, test_keys_curve ("mailer"), "test.from_mailer", "read:secret");
    assert_non_null (reply);
    assert_string_equal (pst_msg_get_str (reply, "caller"), "");
    pst_msg_destroy (&reply);
    //  The gateway's key may not send the mailer's op
    assert_null (s_curve_call (endpoint, test_keys_curve ("gateway"), "test.from_mailer", NULL));
    //  A key in the directory whose name says no role is not admitted
    assert_null (s_curve_call (endpoint, test_keys_curve ("intruder"), "test.echo", NULL));
    //  A role no row names (authn) is dropped as it is taken, each of a burst,
    //  before the checks of an op's row (bus_caller_refused) could drop it
    test_log_capture ();
    zsock_t *other = zsock_new (ZMQ_DEALER);
    assert_non_null (other);
    pst_bus_tune (other);
    assert_int_equal (pst_curve_client (test_keys_curve ("authn"), other, "authn"), 0);
    assert_int_equal (zsock_connect (other, "%s", endpoint), 0);
    zclock_sleep (100);
    for (int i = 0; i < 5; i++) {
        pst_msg_t *request = pst_msg_new_request ("test.echo", 1500);
        assert_int_equal (pst_bus_send (other, NULL, request), 0);
        pst_msg_destroy (&request);
    }
    zpoller_t *poller = zpoller_new (other, NULL);
    assert_null (zpoller_wait (poller, 300));
    zpoller_destroy (&poller);
    zsock_destroy (&other);
    //  No CURVE at all
    assert_null (s_curve_call (endpoint, NULL, "test.echo", NULL));
    //  The server still serves
    reply = s_curve_call (endpoint, test_keys_curve ("gateway"), "test.echo", NULL);
    assert_non_null (reply);
    pst_msg_destroy (&reply);
    char *log = test_log_captured (STDERR_FILENO);
    assert_int_equal (test_log_count (log, "\"event\":\"bus_sender_refused\""), 5);
    assert_int_equal (test_log_count (log, "\"event\":\"bus_caller_refused\""), 0);
    free (log);
    pst_service_destroy (&service);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_call_round_trip),
        cmocka_unit_test (test_client_takes_turns_over_instances),
        cmocka_unit_test (test_database_unavailable_is_503),
        cmocka_unit_test (test_unknown_op_and_scope),
        cmocka_unit_test (test_params_checked_before_handler),
        cmocka_unit_test (test_op_without_handler),
        cmocka_unit_test (test_deadlines),
        cmocka_unit_test (test_expired_request_dropped),
        cmocka_unit_test (test_garbage_dropped),
        cmocka_unit_test (test_recv_dealer_nowait),
        cmocka_unit_test (test_workers_run_in_parallel),
        cmocka_unit_test (test_idle_worker_takes_request),
        cmocka_unit_test (test_every_request_answered_under_load),
        cmocka_unit_test (test_burst_finds_every_idle_worker),
        cmocka_unit_test (test_stop_drains),
        cmocka_unit_test (test_bind_failure),
        cmocka_unit_test (test_curve_admits_and_authorises),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
