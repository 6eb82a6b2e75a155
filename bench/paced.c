/*  bench_paced - POSTs one body a line at a fixed rate, in an open loop, and
    times each answer from the moment it was due.

    bench_paced URL RATE BODIES OUT [--connections N]

    Line i of BODIES (a JSON body) is due at i / RATE seconds after the start,
    whatever the answers before it; it is sent on one of at most N keep-alive
    connections (64, the gateway's default per-address limit), or as soon as
    one is free when all are busy. OUT gets one line per body, in order:
    "status seconds_from_due_to_answer seconds_from_due_to_send
    wall_clock_of_answer" (status 0 where no HTTP answer came). A stack that
    falls behind shows as latency, not as a lower rate, and a sender that falls
    behind shows as its own send lag, which bench/driver.py paced reports
    beside the latency.

    driver.py paced ran this schedule on 64 Python threads, which on two cores
    took enough CPU from the stack under test that the driver itself fell behind
    at 1,000/s (a send lag p99 of 85 ms in one full run): this program does the
    same with libcurl's multi interface on one thread. Loopback only; every
    request has a timeout of 30 s and the whole run gives up 120 s after its
    schedule, and exits 1 on any failure to run (never on a figure).
*/
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODIES_MAX          1000000     //  lines read from BODIES at most
#define BODY_BYTES_MAX      8192        //  one line's length at most
#define CONNECTIONS_MAX     1024
#define REQUEST_TIMEOUT_MS  30000L
#define GIVE_UP_AFTER_S     120.0

typedef struct {
    char *body;
    int status;
    double answered;        //  monotonic seconds; 0 until answered
    double sent;            //  monotonic seconds
    double wall;            //  wall clock of the answer
} request_t;

static double
s_now (clockid_t clock)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  The answers' bodies are not needed: the status tells
static size_t
s_discard (char *data, size_t size, size_t count, void *unused)
{
    (void) data;
    (void) unused;
    return size * count;
}

static bool
s_loopback (const char *url)
{
    const char *hosts [] = { "http://127.0.0.1:", "http://localhost:", "http://[::1]:" };
    for (size_t index = 0; index < sizeof hosts / sizeof hosts [0]; index++)
        if (strncmp (url, hosts [index], strlen (hosts [index])) == 0)
            return true;
    return false;
}

//  Reads one body a line; NULL and *count 0 on failure (said on stderr)
static request_t *
s_read_bodies (const char *path, size_t *count)
{
    *count = 0;
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "bench_paced: cannot read %s: %s\n", path, strerror (errno));
        return NULL;
    }
    size_t capacity = 1024;
    request_t *requests = (request_t *) calloc (capacity, sizeof *requests);
    char line [BODY_BYTES_MAX + 2];     //  the body, its newline, the terminator
    bool failed = requests == NULL;
    while (!failed && *count < BODIES_MAX && fgets (line, sizeof line, file)) {
        size_t length = strlen (line);
        if (length && line [length - 1] != '\n' && !feof (file)) {
            fprintf (stderr, "bench_paced: a line of %s is longer than %d bytes\n", path, BODY_BYTES_MAX);
            failed = true;
            break;
        }
        while (length && (line [length - 1] == '\n' || line [length - 1] == '\r'))
            line [--length] = '\0';
        if (!length)
            continue;
        if (*count == capacity) {
            request_t *grown = (request_t *) realloc (requests, 2 * capacity * sizeof *requests);
            if (!grown) {
                failed = true;
                break;
            }
            memset (grown + capacity, 0, capacity * sizeof *grown);
            requests = grown;
            capacity *= 2;
        }
        requests [*count].body = strdup (line);
        if (!requests [*count].body)
            failed = true;
        else
            (*count)++;
    }
    fclose (file);
    if (failed || *count == 0) {
        if (!failed)
            fprintf (stderr, "bench_paced: %s has no body to send\n", path);
        for (size_t index = 0; requests && index < *count; index++)
            free (requests [index].body);
        free (requests);
        *count = 0;
        return NULL;
    }
    return requests;
}

//  One keep-alive connection's worth of state: an easy handle reused for
//  request after request (libcurl keeps the connections in the multi handle)
typedef struct {
    CURL *easy;
    size_t request;         //  which request it carries while busy
    bool busy;
} slot_t;

static bool
s_slot_init (slot_t *slot, const char *url, struct curl_slist *headers)
{
    slot->easy = curl_easy_init ();
    return slot->easy
        && curl_easy_setopt (slot->easy, CURLOPT_URL, url) == CURLE_OK
        && curl_easy_setopt (slot->easy, CURLOPT_HTTPHEADER, headers) == CURLE_OK
        && curl_easy_setopt (slot->easy, CURLOPT_WRITEFUNCTION, s_discard) == CURLE_OK
        && curl_easy_setopt (slot->easy, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) == CURLE_OK
        && curl_easy_setopt (slot->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
        && curl_easy_setopt (slot->easy, CURLOPT_PRIVATE, slot) == CURLE_OK;
}

static bool
s_send (CURLM *multi, slot_t *slot, request_t *requests, size_t index)
{
    slot->request = index;
    slot->busy = true;
    requests [index].sent = s_now (CLOCK_MONOTONIC);
    return curl_easy_setopt (slot->easy, CURLOPT_POSTFIELDS, requests [index].body) == CURLE_OK
        && curl_multi_add_handle (multi, slot->easy) == CURLM_OK;
}

//  Records each finished transfer and frees its slot; how many finished
static size_t
s_collect (CURLM *multi, request_t *requests, size_t *busy)
{
    size_t finished = 0;
    int left = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read (multi, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        slot_t *slot = NULL;
        curl_easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
        long status = 0;
        if (message->data.result == CURLE_OK)
            curl_easy_getinfo (message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle (multi, message->easy_handle);
        if (!slot || !slot->busy)
            continue;
        request_t *request = &requests [slot->request];
        request->status = (int) status;
        request->answered = s_now (CLOCK_MONOTONIC);
        request->wall = s_now (CLOCK_REALTIME);
        slot->busy = false;
        (*busy)--;
        finished++;
    }
    return finished;
}

int
main (int argc, char *argv [])
{
    if (argc != 5 && !(argc == 7 && strcmp (argv [5], "--connections") == 0)) {
        fprintf (stderr, "usage: bench_paced URL RATE BODIES OUT [--connections N]\n");
        return 1;
    }
    const char *url = argv [1];
    char *end = NULL;
    double rate = strtod (argv [2], &end);
    char *connections_end = NULL;
    long connections = argc == 7? strtol (argv [6], &connections_end, 10): 64;
    if (argc == 7 && (!connections_end || *connections_end))
        connections = 0;
    if (!s_loopback (url)) {
        fprintf (stderr, "bench_paced: loopback only (got %s)\n", url);
        return 1;
    }
    if (!end || *end || !(rate >= 0.01 && rate <= 1e6) || connections < 1 || connections > CONNECTIONS_MAX) {
        fprintf (stderr, "bench_paced: RATE must be from 0.01 to 1000000, N from 1 to %d\n", CONNECTIONS_MAX);
        return 1;
    }
    size_t count = 0;
    request_t *requests = s_read_bodies (argv [3], &count);
    if (!requests)
        return 1;

    int rc = 1;
    CURLM *multi = curl_global_init (CURL_GLOBAL_DEFAULT) == CURLE_OK? curl_multi_init (): NULL;
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
    struct curl_slist *both = headers? curl_slist_append (headers, "Expect:"): NULL;
    if (!both) {
        curl_slist_free_all (headers);
        headers = NULL;
    }
    slot_t *slots = (slot_t *) calloc ((size_t) connections, sizeof *slots);
    bool ready = multi && headers && slots
              && curl_multi_setopt (multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections) == CURLM_OK
              && curl_multi_setopt (multi, CURLMOPT_MAXCONNECTS, connections) == CURLM_OK;
    for (long index = 0; ready && index < connections; index++)
        ready = s_slot_init (&slots [index], url, headers);
    if (!ready)
        fprintf (stderr, "bench_paced: cannot set up libcurl\n");

    //  The schedule: request i is due at start + i / rate. Each turn sends what
    //  is due while a connection is free, lets libcurl move the transfers,
    //  collects the answers, and sleeps until the next is due or a transfer
    //  moves. Bounded: it ends when all are answered or at the give-up time.
    double start = s_now (CLOCK_MONOTONIC) + 0.2;
    double give_up = start + (double) count / rate + GIVE_UP_AFTER_S;
    size_t next = 0, answered = 0, busy = 0;
    while (ready && answered < count && s_now (CLOCK_MONOTONIC) < give_up) {
        double now = s_now (CLOCK_MONOTONIC);
        for (long index = 0; next < count && busy < (size_t) connections
                          && start + (double) next / rate <= now && index < connections; index++) {
            if (slots [index].busy)
                continue;
            if (!s_send (multi, &slots [index], requests, next)) {
                fprintf (stderr, "bench_paced: cannot start request %zu\n", next);
                ready = false;
                break;
            }
            next++;
            busy++;
        }
        int running = 0;
        if (ready && curl_multi_perform (multi, &running) != CURLM_OK) {
            fprintf (stderr, "bench_paced: curl_multi_perform failed\n");
            ready = false;
        }
        answered += s_collect (multi, requests, &busy);
        //  Rounded up: a wait of 0 until the next is due would spin a core
        //  the stack under test needs (a send is then up to 1 ms late, which
        //  the send lag shows)
        long wait_ms = 100;
        if (next < count && busy < (size_t) connections) {
            double until = start + (double) next / rate - s_now (CLOCK_MONOTONIC);
            wait_ms = until <= 0? 0: until >= 0.1? 100: (long) ceil (until * 1000.0);
        }
        long curl_ms = -1;
        if (curl_multi_timeout (multi, &curl_ms) == CURLM_OK && curl_ms >= 0 && curl_ms < wait_ms)
            wait_ms = curl_ms;
        if (ready && curl_multi_poll (multi, NULL, 0, (int) wait_ms, NULL) != CURLM_OK) {
            fprintf (stderr, "bench_paced: curl_multi_poll failed\n");
            ready = false;
        }
    }
    if (ready && answered < count)
        fprintf (stderr, "bench_paced: %zu of %zu requests unanswered %.0f s after the schedule\n",
                 count - answered, count, GIVE_UP_AFTER_S);
    else
    if (ready) {
        FILE *out = fopen (argv [4], "w");
        for (size_t index = 0; out && index < count; index++) {
            double due = start + (double) index / rate;
            fprintf (out, "%d %.6f %.6f %.6f\n", requests [index].status,
                     requests [index].answered - due, requests [index].sent - due, requests [index].wall);
        }
        if (out && fclose (out) == 0)
            rc = 0;
        else
            fprintf (stderr, "bench_paced: cannot write %s\n", argv [4]);
    }

    for (long index = 0; slots && index < connections; index++)
        if (slots [index].easy) {
            if (slots [index].busy)
                curl_multi_remove_handle (multi, slots [index].easy);
            curl_easy_cleanup (slots [index].easy);
        }
    free (slots);
    curl_slist_free_all (headers);
    if (multi)
        curl_multi_cleanup (multi);
    curl_global_cleanup ();
    for (size_t index = 0; index < count; index++)
        free (requests [index].body);
    free (requests);
    return rc;
}
