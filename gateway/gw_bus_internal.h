/*  gw_bus_internal - what the two files of the bus thread share: gw_bus.c
    (the thread, its requests and their replies) and gw_bus_fetch.c (what it
    keeps fetching from authn for the HTTP threads: the key set, the revoked
    tokens, the CORS origins). Nothing outside gw_bus includes it.
*/
#ifndef GW_BUS_INTERNAL_H_INCLUDED
#define GW_BUS_INTERNAL_H_INCLUDED

#include "gw_bus.h"
#include "pst_bus.h"
#include <czmq.h>
#include <pthread.h>

typedef enum { JOB_REQUEST, JOB_KEYS, JOB_KEYS_RENEW, JOB_REVOCATIONS } job_kind_t;

typedef struct {
    job_kind_t kind;
    gw_service_t service;
    pst_msg_t *request;
    gw_bus_done_fn *done;
    void *arg;
    int64_t expires_at;         //  monotonic ms
} job_t;

struct _gw_bus_t {
    char *endpoints [GW_SERVICE_COUNT];
    pst_curve_t *curve;         //  the gateway's bus identity
    int timeout_ms;
    int keys_min_interval_ms;
    gw_keys_t *keys;
    gw_revocations_t *revocations;
    gw_cors_t *cors;
    zactor_t *actor;
    int wakeup;                 //  eventfd: the queue has jobs
    pthread_mutex_t mutex;
    zlistx_t *queue;            //  job_t *, guarded by mutex
    int closed;                 //  guarded by mutex
};

//  What the bus thread keeps fetching from authn for gw_auth (the key set, the
//  revocation list) and gw_cors (the origins): at most one request in flight;
//  the jobs waiting for it hear when it is over, whatever came of it.
typedef struct {
    const char *op;
    pst_msg_t *request;         //  in flight, or NULL
    int queued;                 //  the request has left for authn
    int64_t expires_at;         //  of the request in flight
    int64_t started_at;         //  of the last fetch
    int64_t next_at;            //  of the next fetch
    zlistx_t *waiters;          //  job_t *
} fetch_t;

//  State of the bus thread alone
typedef struct {
    gw_bus_t *bus;
    pst_client_t *clients [GW_SERVICE_COUNT];
    zhashx_t *pending;          //  request id -> job_t *
    fetch_t keys;
    zlistx_t *keys_renewers;    //  job_t * waiting for a key fetch that starts after
                                //  the one in flight (the keys changed meanwhile)
    int keys_again;             //  such a fetch is due when the one in flight ends
    int64_t keys_generation;    //  authn's signing generation the copy is from, -1 unknown
    fetch_t revocations;
    json_t *revocation_pages;   //  the list being read, page by page
    int64_t revocations_after;  //  the cursor of the page asked for
    int revocations_pages;      //  pages read of the list
    int revocations_failing;    //  the last fetch failed (logged once)
    fetch_t origins;
    json_t *origin_pages;       //  the origin set being read, page by page
    char *origins_after;        //  the cursor of the page asked for
    int origins_pages;          //  pages read of the set
    int origins_failing;        //  the last fetch failed (logged once)
} bus_state_t;

//  Hands the outcome to the requester; the job is gone afterwards.
void
    gw_bus_job_finish (job_t **job_p, pst_msg_t *reply);

//  The fetches' state in state (lists of waiters); 0, or -1 when out of memory.
int
    gw_bus_fetch_init (bus_state_t *state);

//  Starts every fetch: at the thread's start.
void
    gw_bus_fetch_start (bus_state_t *state);

//  A JOB_KEYS, JOB_KEYS_RENEW or JOB_REVOCATIONS job: it hears when its fetch
//  is over (for JOB_KEYS_RENEW, a fetch started after the job arrived).
void
    gw_bus_fetch_wait (bus_state_t *state, job_t *job);

//  1 when reply (from authn) answers a fetch, which then takes it; else 0.
int
    gw_bus_fetch_reply (bus_state_t *state, pst_msg_t **reply_p);

//  The fetches' deadlines, retries and next starts at now; returns the
//  sooner of next and the ms until a fetch needs a look again.
int64_t
    gw_bus_fetch_tick (bus_state_t *state, int64_t now, int64_t next);

//  Ends the fetches: their waiters hear (NULL), what they hold is freed.
//  Idempotent.
void
    gw_bus_fetch_end (bus_state_t *state);

#endif
