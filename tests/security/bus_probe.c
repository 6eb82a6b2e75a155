/*  bus_probe - a peer of Postern's bus for the fault and security tests: it
    connects to one endpoint as whoever it is told to be, sends one message and
    says what came back, as one word on stdout:

        reply <error code or "ok">   an answer to the request came back
        job                          (--mailer) a mail.send job arrived
        silent                       nothing within --wait-ms

    bus_probe ENDPOINT [options]
      --as NAME         speak CURVE with the key pair NAME of --keys (a real
                        peer's key, or "intruder": a key of the directory that
                        names no role)
      --stranger        speak CURVE with a key pair made up now, known to nobody
      --plain           no CURVE at all (ZeroMQ's NULL mechanism)
      --keys DIR        the keys directory (default POSTERN_KEYS_DIR)
      --server NAME     the server whose public key to pin (default: mfa)
      --op OP           the operation (default: fault.probe)
      --body JSON       the body (default {})
      --caller SUB      caller identity in the envelope, --scopes its scopes
      --raw CASE        send a malformed frame instead: garbage, bigcount,
                        deepnest or oversize (1 MiB)
      --mailer          act as a mailer on mfa's mail-jobs socket: announce
                        credit with mail.ready and wait for a job
      --wait-ms N       how long to wait (default 1000)

    Exit status 0 whatever happened (the word says it), 2 on bad usage.
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pst_bus.h"
#include "pst_curve.h"
#include "pst_msg.h"

typedef struct {
    const char *endpoint;
    const char *as;
    int stranger;
    int plain;
    const char *keys;
    const char *server;
    const char *op;
    const char *body;
    const char *caller;
    const char *scopes;
    const char *raw;
    int mailer;
    int wait_ms;
} options_t;

static int
s_usage (void)
{
    fprintf (stderr, "usage: bus_probe ENDPOINT [--as NAME|--stranger|--plain] [--keys DIR]"
             " [--server NAME] [--op OP] [--body JSON] [--caller SUB --scopes S]"
             " [--raw CASE] [--mailer] [--wait-ms N]\n");
    return 2;
}

static int
s_parse (int argc, char *argv [], options_t *options)
{
    if (argc < 2)
        return -1;
    options->endpoint = argv [1];
    options->keys = getenv ("POSTERN_KEYS_DIR");
    options->server = "mfa";
    options->op = "fault.probe";
    options->body = "{}";
    options->wait_ms = 1000;
    for (int i = 2; i < argc; i++) {
        const char *flag = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (streq (flag, "--stranger"))
            options->stranger = 1;
        else
        if (streq (flag, "--plain"))
            options->plain = 1;
        else
        if (streq (flag, "--mailer"))
            options->mailer = 1;
        else
        if (!value)
            return -1;
        else {
            i++;
            if (streq (flag, "--as")) options->as = value;
            else if (streq (flag, "--keys")) options->keys = value;
            else if (streq (flag, "--server")) options->server = value;
            else if (streq (flag, "--op")) options->op = value;
            else if (streq (flag, "--body")) options->body = value;
            else if (streq (flag, "--caller")) options->caller = value;
            else if (streq (flag, "--scopes")) options->scopes = value;
            else if (streq (flag, "--raw")) options->raw = value;
            else if (streq (flag, "--wait-ms")) options->wait_ms = atoi (value);
            else return -1;
        }
    }
    return (options->as? 1: 0) + options->stranger + options->plain == 1? 0: -1;
}

//  The public key of server, from its file in keys
static char *
s_server_key (const options_t *options)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s.key", options->keys? options->keys: ".", options->server);
    zcert_t *cert = zcert_load (path);
    char *key = cert? strdup (zcert_public_txt (cert)): NULL;
    zcert_destroy (&cert);
    return key;
}

static zsock_t *
s_connect (const options_t *options)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    pst_bus_tune (sock);
    if (options->as) {
        pst_curve_t *curve = options->keys? pst_curve_new (options->keys, options->as, false): NULL;
        int rc = curve? pst_curve_client (curve, sock, options->server): -1;
        pst_curve_destroy (&curve);
        if (rc)
            zsock_destroy (&sock);
    }
    else
    if (options->stranger) {
        char *server = s_server_key (options);
        zcert_t *cert = zcert_new ();
        if (server && cert) {
            zcert_apply (cert, sock);
            zsock_set_curve_serverkey (sock, server);
        }
        else
            zsock_destroy (&sock);
        zcert_destroy (&cert);
        free (server);
    }
    if (sock && zsock_connect (sock, "%s", options->endpoint) != 0)
        zsock_destroy (&sock);
    return sock;
}

//  A malformed frame of the kind asked for; NULL for an unknown kind.
static zframe_t *
s_raw_frame (const char *kind)
{
    if (streq (kind, "garbage")) {
        zframe_t *frame = zframe_new (NULL, 64);
        for (size_t i = 0; i < 64; i++)
            zframe_data (frame) [i] = (byte) (0xc1 ^ (i * 37));     //  0xc1: never msgpack
        return frame;
    }
    if (streq (kind, "bigcount")) {
        byte data [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };           //  array32 of 2^32-1
        return zframe_new (data, sizeof data);
    }
    if (streq (kind, "deepnest")) {
        zframe_t *frame = zframe_new (NULL, 200);
        memset (zframe_data (frame), 0x91, 200);                    //  fixarray of 1, 200 deep
        return frame;
    }
    if (streq (kind, "oversize")) {
        zframe_t *frame = zframe_new (NULL, 1024 * 1024);
        memset (zframe_data (frame), 0xc0, 1024 * 1024);
        return frame;
    }
    return NULL;
}

//  Waits for a message on sock; NULL after wait_ms.
static zmsg_t *
s_wait (zsock_t *sock, int wait_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    zmsg_t *msg = zpoller_wait (poller, wait_ms)? zmsg_recv (sock): NULL;
    zpoller_destroy (&poller);
    return msg;
}

//  A mailer: credit, then wait for a job (mail.send) until wait_ms is over
static const char *
s_as_mailer (zsock_t *sock, int wait_ms)
{
    pst_msg_t *ready = pst_msg_new_request ("mail.ready", 2000);
    json_object_set_new (pst_msg_body (ready), "credit", json_integer (10));
    int64_t until = zclock_mono () + wait_ms;
    int64_t next_ready = 0;
    const char *seen = "silent";
    while (zclock_mono () < until && streq (seen, "silent")) {
        if (zclock_mono () >= next_ready) {
            pst_bus_send (sock, NULL, ready);
            next_ready = zclock_mono () + 500;
        }
        zmsg_t *msg = s_wait (sock, 100);
        pst_msg_t *decoded = NULL;
        if (msg && zmsg_size (msg) == 1
        &&  pst_msg_decode (zframe_data (zmsg_first (msg)), zframe_size (zmsg_first (msg)), &decoded) == 0
        &&  streq (pst_msg_op (decoded), "mail.send"))
            seen = "job";
        pst_msg_destroy (&decoded);
        zmsg_destroy (&msg);
    }
    pst_msg_destroy (&ready);
    return seen;
}

int
main (int argc, char *argv [])
{
    options_t options = { 0 };
    if (s_parse (argc, argv, &options) != 0)
        return s_usage ();
    zsys_init ();
    zsys_set_logstream (NULL);
    zsock_t *sock = s_connect (&options);
    if (!sock) {
        fprintf (stderr, "bus_probe: cannot set up the socket\n");
        return 2;
    }
    //  Give the handshake its time: a refused key never gets a message through
    zclock_sleep (200);
    if (options.mailer) {
        printf ("%s\n", s_as_mailer (sock, options.wait_ms));
        zsock_destroy (&sock);
        return 0;
    }
    char id [PST_MSG_ID_LEN + 1] = "";
    if (options.raw) {
        zframe_t *frame = s_raw_frame (options.raw);
        if (!frame)
            return s_usage ();
        zframe_send (&frame, sock, ZFRAME_DONTWAIT);
    }
    else {
        pst_msg_t *request = pst_msg_new_request (options.op, options.wait_ms + 1000);
        json_t *body = json_loads (options.body, 0, NULL);
        if (!request || !json_is_object (body))
            return s_usage ();
        pst_msg_set_body (request, &body);
        if (options.caller)
            pst_msg_set_caller (request, options.caller, options.scopes);
        snprintf (id, sizeof id, "%s", pst_msg_id (request));
        pst_bus_send (sock, NULL, request);
        pst_msg_destroy (&request);
    }
    const char *word = "silent";
    char answer [80] = "";
    zmsg_t *msg = s_wait (sock, options.wait_ms);
    pst_msg_t *reply = NULL;
    if (msg && zmsg_size (msg) == 1
    &&  pst_msg_decode (zframe_data (zmsg_first (msg)), zframe_size (zmsg_first (msg)), &reply) == 0
    &&  streq (pst_msg_id (reply), id)) {
        snprintf (answer, sizeof answer, "reply %s", pst_msg_error (reply)? pst_msg_error (reply): "ok");
        word = answer;
    }
    pst_msg_destroy (&reply);
    zmsg_destroy (&msg);
    printf ("%s\n", word);
    zsock_destroy (&sock);
    return 0;
}
