/*  mailer_feed - the mailer alone: stands in for mfa's mail-jobs socket and feeds
    postern-mailer processes a fixed number of mail.send jobs, as fast as their
    announced credit allows, then counts what they deliver to the SMTP server.

    It binds a ROUTER where the mailers connect (POSTERN_MFA_JOBS_ENDPOINT) with
    mfa's key from the keys directory (POSTERN_KEYS_DIR, as the mailers), speaks
    the mail-jobs protocol of docs/protocol.md (mail.ready credit in, mail.send out,
    the committed-to-outbox answer and mail.result back, mail.check answered "live")
    and measures the jobs per second from the first job handed over to the last
    mail.result "sent", which the mailer sends after the SMTP server said 250.

    mailer_feed --endpoint tcp://127.0.0.1:PORT --jobs N [--mailers M] [--timeout S]
                [--hold S]

    Waits up to 10 s for M mailers to announce themselves, then runs until every
    job has a result or --timeout seconds (default 120) pass. With --hold it then
    stays bound for up to S more seconds (or until SIGTERM), taking what the mailers
    still send: a mailer stopped after its mfa went away can wait forever for its
    queued messages to leave, so bench/run.sh stops the mailers first. Prints one line:
    "mailer_feed mailers=M jobs=N accepted=A sent=S other=O seconds=T per_s=R
     accept_p50_ms=.. accept_p99_ms=.. sent_p50_ms=.. sent_p99_ms=..";
    exits 1 when not every job was sent.
*/
#include "pst_auth.h"
#include "pst_bus.h"
#include "pst_config.h"
#include "pst_curve.h"
#include "pst_msg.h"
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    zframe_t *identity;
    int credit;
    char epoch [17];            //  as mfa keeps them (mfa_jobs.c, mail.ready)
    long long sent;
} s_mailer_t;

typedef struct {
    double dispatched, accepted, finished;
    int sent;
} s_job_t;

static double
s_now (void)
{
    return (double) zclock_usecs () / 1e6;
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y? 1: 0;
}

//  Percentile in ms of the n values (seconds); sorts them.
static double
s_percentile (double *values, int n, double p)
{
    if (n == 0)
        return 0;
    qsort (values, (size_t) n, sizeof *values, s_compare);
    int index = (int) (p / 100.0 * n);
    return values [index >= n? n - 1: index] * 1000;
}

static void
s_mailer_free (void **item)
{
    s_mailer_t *mailer = (s_mailer_t *) *item;
    zframe_destroy (&mailer->identity);
    free (mailer);
    *item = NULL;
}

static pst_msg_t *
s_job_request (int index)
{
    pst_msg_t *request = pst_msg_new_request ("mail.send", 10000);
    if (!request)
        return NULL;
    char job_id [32], to [64], message_id [64], text [128];
    snprintf (job_id, sizeof job_id, "bench-%d", index);
    snprintf (to, sizeof to, "bench-%d@example.com", index % 100);
    snprintf (message_id, sizeof message_id, "<bench-%d@postern>", index);
    snprintf (text, sizeof text, "Your verification code is %06d. It expires in 5 minutes.",
              index % 1000000);
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
        "job_id", job_id, "to", to, "subject", "Your verification code", "text", text,
        "html", "<p>Your verification code is <b>000000</b>.</p>", "message_id", message_id,
        "expires_at", (json_int_t) (time (NULL) + 600));
    if (!body) {
        pst_msg_destroy (&request);
        return NULL;
    }
    pst_msg_set_body (request, &body);
    return request;
}

int
main (int argc, char **argv)
{
    const char *endpoint = NULL;
    int jobs = 0, want_mailers = 1;
    double timeout = 120, hold = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--endpoint") && i + 1 < argc)
            endpoint = argv [++i];
        else
        if (streq (argv [i], "--jobs") && i + 1 < argc)
            jobs = atoi (argv [++i]);
        else
        if (streq (argv [i], "--mailers") && i + 1 < argc)
            want_mailers = atoi (argv [++i]);
        else
        if (streq (argv [i], "--timeout") && i + 1 < argc)
            timeout = atof (argv [++i]);
        else
        if (streq (argv [i], "--hold") && i + 1 < argc)
            hold = atof (argv [++i]);
        else {
            fprintf (stderr, "usage: mailer_feed --endpoint E --jobs N [--mailers M] [--timeout S] [--hold S]\n");
            return 2;
        }
    }
    if (!endpoint || jobs < 1 || jobs > 1000000 || want_mailers < 1 || timeout <= 0) {
        fprintf (stderr, "mailer_feed: --endpoint and --jobs (1..1000000) are required\n");
        return 2;
    }
    zsys_handler_set (NULL);
    //  As mfa does: mfa's key, admitting the keys directory's (the mailers')
    char *keys = pst_config_keys_dir ();
    pst_curve_t *curve = keys? pst_curve_new (keys, "mfa", false): NULL;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!curve || !router || pst_auth_acquire (keys) != 0) {
        fprintf (stderr, "mailer_feed: no usable bus keys in %s (run postern-keys)\n", keys? keys: "?");
        return 1;
    }
    pst_bus_tune (router);
    pst_curve_server (curve, router);
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndtimeo (router, 0);
    if (zsock_bind (router, "%s", endpoint) < 0) {
        fprintf (stderr, "mailer_feed: cannot bind %s\n", endpoint);
        return 1;
    }
    zhashx_t *mailers = zhashx_new ();      //  identity (hex) -> s_mailer_t
    zhashx_set_destructor (mailers, s_mailer_free);
    zhashx_t *requests = zhashx_new ();     //  request id -> job index + 1
    s_job_t *job = (s_job_t *) calloc ((size_t) jobs, sizeof *job);
    double *latency = (double *) calloc ((size_t) jobs, sizeof *latency);
    if (!mailers || !requests || !job || !latency)
        return 1;

    zpoller_t *poller = zpoller_new (router, NULL);
    int next = 0, accepted = 0, sent = 0, other = 0, failed = 0;
    double start = s_now (), first = 0, last = 0;
    double deadline = start + 10 + timeout;
    while (sent + other < jobs && s_now () < deadline && !zsys_interrupted) {
        //  Hand out jobs only once every mailer is there, so they share the work
        if (zhashx_size (mailers) >= (size_t) want_mailers || s_now () > start + 10) {
            for (s_mailer_t *mailer = (s_mailer_t *) zhashx_first (mailers);
                 mailer && next < jobs; mailer = (s_mailer_t *) zhashx_next (mailers))
                while (mailer->credit > 0 && next < jobs) {
                    pst_msg_t *request = s_job_request (next);
                    if (!request || pst_bus_send (router, mailer->identity, request) != 0) {
                        pst_msg_destroy (&request);
                        mailer->credit = 0;
                        break;
                    }
                    zhashx_insert (requests, pst_msg_id (request), (void *) (intptr_t) (next + 1));
                    pst_msg_destroy (&request);
                    job [next].dispatched = s_now ();
                    if (next == 0)
                        first = job [next].dispatched;
                    next++;
                    mailer->credit--;
                    mailer->sent++;
                }
        }
        if (!zpoller_wait (poller, 100))
            continue;
        zmsg_t *frames = zmsg_recv (router);
        if (!frames)
            break;
        zframe_t *identity = zmsg_pop (frames);
        zframe_t *payload = zmsg_pop (frames);
        pst_msg_t *msg = NULL;
        if (!identity || !payload || zmsg_size (frames) != 0
        ||  pst_msg_decode (zframe_data (payload), zframe_size (payload), &msg) != 0) {
            fprintf (stderr, "mailer_feed: malformed message dropped\n");
            failed = 1;
        }
        else
        if (streq (pst_msg_op (msg), "mail.check")) {
            pst_msg_t *reply = pst_msg_new_reply (msg);
            json_t *body = json_pack ("{s:b}", "live", 1);
            pst_msg_set_body (reply, &body);
            pst_bus_send (router, identity, reply);
            pst_msg_destroy (&reply);
        }
        else
        if (streq (pst_msg_op (msg), "mail.ready")) {
            char *key = zframe_strhex (identity);
            s_mailer_t *mailer = (s_mailer_t *) zhashx_lookup (mailers, key);
            if (!mailer) {
                mailer = (s_mailer_t *) calloc (1, sizeof *mailer);
                mailer->identity = zframe_dup (identity);
                zhashx_insert (mailers, key, mailer);
            }
            //  Credit counts from what the mailer had read: jobs on their way come off
            long long credit = pst_msg_get_int (msg, "credit", 0);
            long long received = pst_msg_get_int (msg, "received", -1);
            const char *epoch = pst_msg_get_str (msg, "epoch");
            if (epoch && strlen (epoch) < sizeof mailer->epoch && received >= 0) {
                if (strcmp (epoch, mailer->epoch) != 0) {
                    snprintf (mailer->epoch, sizeof mailer->epoch, "%s", epoch);
                    mailer->sent = received;
                }
                credit -= mailer->sent - received;
            }
            mailer->credit = credit < 0? 0: credit > 1000? 1000: (int) credit;
            free (key);
        }
        else
        if (streq (pst_msg_op (msg), "mail.send")) {
            intptr_t index = (intptr_t) zhashx_lookup (requests, pst_msg_id (msg)) - 1;
            if (index >= 0 && !pst_msg_is_error (msg) && job [index].accepted == 0) {
                job [index].accepted = s_now ();
                accepted++;
            }
            else
            if (index >= 0 && pst_msg_is_error (msg))
                fprintf (stderr, "mailer_feed: job %d refused: %s\n", (int) index, pst_msg_error (msg));
        }
        else
        if (streq (pst_msg_op (msg), "mail.result")) {
            const char *job_id = pst_msg_get_str (msg, "job_id");
            const char *result = pst_msg_get_str (msg, "result");
            int index = job_id && strncmp (job_id, "bench-", 6) == 0? atoi (job_id + 6): -1;
            if (index >= 0 && index < jobs && job [index].finished == 0) {
                job [index].finished = s_now ();
                if (result && streq (result, "sent")) {
                    job [index].sent = 1;
                    last = job [index].finished;
                    sent++;
                }
                else {
                    fprintf (stderr, "mailer_feed: job %d ended %s\n", index, result? result: "?");
                    other++;
                }
            }
        }
        pst_msg_destroy (&msg);
        zframe_destroy (&identity);
        zframe_destroy (&payload);
        zmsg_destroy (&frames);
    }
    int n = 0;
    for (int i = 0; i < jobs; i++)
        if (job [i].accepted > 0)
            latency [n++] = job [i].accepted - job [i].dispatched;
    double accept_p50 = s_percentile (latency, n, 50), accept_p99 = s_percentile (latency, n, 99);
    n = 0;
    for (int i = 0; i < jobs; i++)
        if (job [i].sent)
            latency [n++] = job [i].finished - job [i].dispatched;
    double sent_p50 = s_percentile (latency, n, 50), sent_p99 = s_percentile (latency, n, 99);
    double seconds = sent > 0? last - first: 0;
    printf ("mailer_feed mailers=%zu jobs=%d accepted=%d sent=%d other=%d seconds=%.3f per_s=%.1f"
            " accept_p50_ms=%.2f accept_p99_ms=%.2f sent_p50_ms=%.2f sent_p99_ms=%.2f\n",
            zhashx_size (mailers), jobs, accepted, sent, other, seconds,
            seconds > 0? sent / seconds: 0, accept_p50, accept_p99, sent_p50, sent_p99);
    fflush (stdout);
    //  Stay for the mailers' last words (bounded), answering checks as before
    double until = s_now () + (hold > 600? 600: hold);
    while (s_now () < until && !zsys_interrupted) {
        if (!zpoller_wait (poller, 100))
            continue;
        zmsg_t *frames = zmsg_recv (router);
        if (!frames)
            break;
        zframe_t *identity = zmsg_pop (frames);
        zframe_t *payload = zmsg_pop (frames);
        pst_msg_t *msg = NULL;
        if (identity && payload
        &&  pst_msg_decode (zframe_data (payload), zframe_size (payload), &msg) == 0
        &&  streq (pst_msg_op (msg), "mail.check")) {
            pst_msg_t *reply = pst_msg_new_reply (msg);
            json_t *body = json_pack ("{s:b}", "live", 1);
            pst_msg_set_body (reply, &body);
            pst_bus_send (router, identity, reply);
            pst_msg_destroy (&reply);
        }
        pst_msg_destroy (&msg);
        zframe_destroy (&identity);
        zframe_destroy (&payload);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    zhashx_destroy (&requests);
    zhashx_destroy (&mailers);
    zsock_destroy (&router);
    free (job);
    free (latency);
    return failed || sent < jobs? 1: 0;
}
