//  gw_bus: what the bus thread keeps fetching from authn (gw_bus.h says what,
//  and how often): the key set, the revoked tokens and the CORS origins.
#include "gw_bus_internal.h"
#include "pst_log.h"
#include <stdlib.h>
#include <string.h>

//  While a fetch cannot be queued (authn's connection is still being set up,
//  or authn is down), it is retried at this pace until its deadline.
#define FETCH_RETRY_MS  50
//  Least pause after a failed periodic key fetch
#define KEYS_RETRY_FLOOR_MS 1000
//  Pages of one revocation list at most (200 revocations each, authn_revoke)
#define REVOCATIONS_MAX_PAGES   1000
//  Pages of one origin set at most (up to 500 clients each, authn_origins)
#define ORIGINS_MAX_PAGES       1000

//  ---------------------------------------------------------------------------
//  Fetches from authn

static void
s_fetch_try_send (bus_state_t *state, fetch_t *fetch)
{
    zsock_t *sock = pst_client_sock (state->clients [GW_SERVICE_AUTHN]);
    if (pst_bus_send (sock, NULL, fetch->request) == 0)
        fetch->queued = 1;
}

//  Sends fetch's op with *body_p (taken; NULL for none); 0, or -1 when out of memory.
static int
s_fetch_send (bus_state_t *state, fetch_t *fetch, json_t **body_p)
{
    pst_msg_destroy (&fetch->request);
    fetch->request = pst_msg_new_request (fetch->op, state->bus->timeout_ms);
    if (!fetch->request) {
        json_decref (body_p? *body_p: NULL);
        return -1;
    }
    if (body_p && *body_p)
        pst_msg_set_body (fetch->request, body_p);
    fetch->expires_at = zclock_mono () + state->bus->timeout_ms;
    fetch->queued = 0;
    s_fetch_try_send (state, fetch);
    return 0;
}

//  The fetch is over: the next in next_ms, and its waiters hear of it
static void
s_fetch_over (fetch_t *fetch, int64_t next_ms)
{
    pst_msg_destroy (&fetch->request);
    fetch->next_at = zclock_mono () + next_ms;
    job_t *job;
    while ((job = (job_t *) zlistx_detach (fetch->waiters, NULL)))
        gw_bus_job_finish (&job, NULL);
}

static int
s_fetch_answers (const fetch_t *fetch, const pst_msg_t *reply)
{
    return fetch->request && streq (pst_msg_id (reply), pst_msg_id (fetch->request));
}

//  ---------------------------------------------------------------------------
//  Keys

static void
s_keys_start (bus_state_t *state)
{
    if (state->keys.request)
        return;
    state->keys.started_at = zclock_mono ();
    s_fetch_send (state, &state->keys, NULL);
}

static void
s_keys_finish (bus_state_t *state, pst_msg_t *reply)
{
    int loaded = reply && !pst_msg_is_error (reply)
              && gw_keys_update (state->bus->keys, pst_msg_body (reply)) == 0;
    if (loaded)
        pst_log (PST_LOG_INFO, "keys_loaded", NULL);
    else
        pst_log (PST_LOG_WARN, "keys_fetch_failed",
                 "reason", !reply? "no answer": pst_msg_is_error (reply)? pst_msg_error (reply)
                                                                       : "unusable key set", NULL);
    //  Without keys every Management API call fails: try again sooner, but
    //  never in a tight loop against a service that is down. A gateway that
    //  never had any (it started before authn answered) tries every second
    int64_t retry_ms = state->bus->keys_min_interval_ms > KEYS_RETRY_FLOOR_MS
                     ? state->bus->keys_min_interval_ms: KEYS_RETRY_FLOOR_MS;
    if (!loaded && gw_keys_size (state->bus->keys) == 0)
        retry_ms = KEYS_RETRY_FLOOR_MS;
    s_fetch_over (&state->keys, loaded? GW_BUS_KEYS_REFRESH_MS: retry_ms);
    if (state->keys_again) {
        state->keys_again = 0;
        job_t *job;
        while ((job = (job_t *) zlistx_detach (state->keys_renewers, NULL)))
            zlistx_add_end (state->keys.waiters, job);
        s_keys_start (state);
    }
}

//  The keys changed: a fetch that starts now, or right after the one in flight
//  (which may have left before the change)
static void
s_keys_renew (bus_state_t *state)
{
    if (state->keys.request)
        state->keys_again = 1;
    else
        s_keys_start (state);
}

//  A token with an unknown kid asks for fresh keys at most every
//  keys_min_interval_ms; but while the gateway holds no key set at all (authn
//  was slower to start than the first fetch's deadline) it may ask at once,
//  one fetch at a time, rather than refuse every token until the next retry.
static void
s_keys_wait (bus_state_t *state, job_t *job)
{
    //  An unknown kid refetches at most once per keys_min_interval_ms, unless
    //  there are no keys at all yet: then the fetch is what the request needs
    int recent = state->keys.started_at > 0 && gw_keys_size (state->bus->keys) > 0
              && zclock_mono () - state->keys.started_at < state->bus->keys_min_interval_ms;
    if (!state->keys.request && recent) {
        gw_bus_job_finish (&job, NULL);
        return;
    }
    zlistx_add_end (state->keys.waiters, job);
    s_keys_start (state);
    if (!state->keys.request)
        s_fetch_over (&state->keys, KEYS_RETRY_FLOOR_MS);
}

//  A request that changed the keys waits for a fetch that starts after it
static void
s_keys_renew_wait (bus_state_t *state, job_t *job)
{
    zlistx_add_end (state->keys.request? state->keys_renewers: state->keys.waiters, job);
    s_keys_renew (state);
    if (!state->keys.request && !state->keys_again)
        s_fetch_over (&state->keys, KEYS_RETRY_FLOOR_MS);
}

//  ---------------------------------------------------------------------------
//  Revocations: the whole list, a page at a time, installed once complete

static void
s_revocations_page (bus_state_t *state, int64_t after)
{
    state->revocations_after = after;
    json_t *body = json_pack ("{s:I}", "after", (json_int_t) after);
    if (!body || s_fetch_send (state, &state->revocations, &body) != 0)
        s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

static void
s_revocations_start (bus_state_t *state)
{
    if (state->revocations.request)
        return;
    state->revocations.started_at = zclock_mono ();
    json_decref (state->revocation_pages);
    state->revocation_pages = json_array ();
    state->revocations_pages = 0;
    s_revocations_page (state, 0);
}

//  A fetch that failed keeps the list the gateway has; said once per outage
static void
s_revocations_failed (bus_state_t *state, const char *reason)
{
    if (!state->revocations_failing)
        pst_log (PST_LOG_WARN, "revocations_fetch_failed", "reason", reason,
                 "kept", gw_revocations_loaded (state->bus->revocations)? "the last list": "none",
                 NULL);
    state->revocations_failing = 1;
    s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

static void
s_revocations_reply (bus_state_t *state, pst_msg_t *reply)
{
    json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    json_t *page = json_object_get (body, "revocations");
    json_t *next = json_object_get (body, "next");
    int more = json_is_true (json_object_get (body, "more"));
    if (!reply || !json_is_array (page) || !state->revocation_pages
    ||  json_array_extend (state->revocation_pages, page) != 0) {
        s_revocations_failed (state, !reply? "no answer": pst_msg_is_error (reply)?
                              pst_msg_error (reply): "unreadable answer");
        return;
    }
    if (more) {
        //  Each page must move on, and a list cannot be endless
        if (!json_is_integer (next) || json_integer_value (next) <= state->revocations_after
        ||  ++state->revocations_pages >= REVOCATIONS_MAX_PAGES)
            s_revocations_failed (state, "pages that do not move on");
        else
            s_revocations_page (state, json_integer_value (next));
        return;
    }
    if (gw_revocations_update (state->bus->revocations, state->revocation_pages) != 0) {
        s_revocations_failed (state, "malformed revocation");
        return;
    }
    //  The list says which signing generation authn is at: a change (a key
    //  rotated through another gateway) renews this gateway's copy within a poll
    json_t *generation = json_object_get (body, "keys_generation");
    if (json_is_integer (generation) && json_integer_value (generation) != state->keys_generation) {
        state->keys_generation = json_integer_value (generation);
        s_keys_renew (state);
    }
    if (state->revocations_failing || !state->revocations.next_at)
        pst_log (PST_LOG_INFO, "revocations_loaded", NULL);
    state->revocations_failing = 0;
    json_decref (state->revocation_pages);
    state->revocation_pages = NULL;
    s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

//  A request waits only for the first list: later ones come every second anyway
static void
s_revocations_wait (bus_state_t *state, job_t *job)
{
    if (gw_revocations_loaded (state->bus->revocations)) {
        gw_bus_job_finish (&job, NULL);
        return;
    }
    zlistx_add_end (state->revocations.waiters, job);
    s_revocations_start (state);
}

//  A fetch's deadline, its retries while authn is not connected, and its next
//  start; returns the sooner of next and the ms until fetch needs a look again.
static int64_t
s_fetch_tick (bus_state_t *state, fetch_t *fetch, void (*start) (bus_state_t *),
              void (*finish) (bus_state_t *, pst_msg_t *), int64_t now, int64_t next)
{
    if (fetch->request && fetch->expires_at <= now)
        finish (state, NULL);
    else
    if (fetch->request && !fetch->queued)
        s_fetch_try_send (state, fetch);
    if (!fetch->request && fetch->next_at <= now)
        start (state);
    int64_t until = !fetch->request? fetch->next_at - now
                  : fetch->queued? fetch->expires_at - now: FETCH_RETRY_MS;
    return until < next? until: next;
}

//  ---------------------------------------------------------------------------
//  Origins: every client's, a page at a time, installed once complete (as the
//  revocations, with the last client_id of a page as the cursor)

static void
s_origins_page (bus_state_t *state, const char *after)
{
    free (state->origins_after);
    state->origins_after = strdup (after);
    json_t *body = state->origins_after? json_pack ("{s:s}", "after", after): NULL;
    if (!body || s_fetch_send (state, &state->origins, &body) != 0)
        s_fetch_over (&state->origins, GW_BUS_ORIGINS_POLL_MS);
}

static void
s_origins_start (bus_state_t *state)
{
    if (state->origins.request)
        return;
    state->origins.started_at = zclock_mono ();
    json_decref (state->origin_pages);
    state->origin_pages = json_array ();
    state->origins_pages = 0;
    s_origins_page (state, "");
}

//  A fetch that failed keeps the set the gateway has; said once per outage
static void
s_origins_failed (bus_state_t *state, const char *reason)
{
    if (!state->origins_failing)
        pst_log (PST_LOG_WARN, "origins_fetch_failed", "reason", reason,
                 "kept", gw_cors_loaded (state->bus->cors)? "the last set": "none", NULL);
    state->origins_failing = 1;
    s_fetch_over (&state->origins, GW_BUS_ORIGINS_POLL_MS);
}

static void
s_origins_reply (bus_state_t *state, pst_msg_t *reply)
{
    json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    json_t *page = json_object_get (body, "clients");
    const char *next = json_string_value (json_object_get (body, "next"));
    int more = json_is_true (json_object_get (body, "more"));
    if (!reply || !json_is_array (page) || !state->origin_pages
    ||  json_array_extend (state->origin_pages, page) != 0) {
        s_origins_failed (state, !reply? "no answer": pst_msg_is_error (reply)?
                          pst_msg_error (reply): "unreadable answer");
        return;
    }
    if (more) {
        //  Each page must move on, and a set cannot be endless
        if (!next || !state->origins_after || strcmp (next, state->origins_after) <= 0
        ||  ++state->origins_pages >= ORIGINS_MAX_PAGES)
            s_origins_failed (state, "pages that do not move on");
        else
            s_origins_page (state, next);
        return;
    }
    if (gw_cors_update (state->bus->cors, state->origin_pages) != 0) {
        s_origins_failed (state, "malformed origins");
        return;
    }
    if (state->origins_failing || !state->origins.next_at)
        pst_log (PST_LOG_INFO, "origins_loaded", NULL);
    state->origins_failing = 0;
    json_decref (state->origin_pages);
    state->origin_pages = NULL;
    s_fetch_over (&state->origins, GW_BUS_ORIGINS_POLL_MS);
}

//  ---------------------------------------------------------------------------
//  What the bus thread asks of them

int
gw_bus_fetch_init (bus_state_t *state)
{
    state->keys = (fetch_t) { .op = "keys.jwks", .waiters = zlistx_new () };
    state->keys_renewers = zlistx_new ();
    state->keys_generation = -1;
    state->revocations = (fetch_t) { .op = "revocations.list", .waiters = zlistx_new () };
    state->origins = (fetch_t) { .op = "origins.list", .waiters = zlistx_new () };
    return state->keys.waiters && state->keys_renewers && state->revocations.waiters
        && state->origins.waiters? 0: -1;
}

void
gw_bus_fetch_start (bus_state_t *state)
{
    s_keys_start (state);
    s_revocations_start (state);
    s_origins_start (state);
}

void
gw_bus_fetch_wait (bus_state_t *state, job_t *job)
{
    if (job->kind == JOB_KEYS)
        s_keys_wait (state, job);
    else
    if (job->kind == JOB_KEYS_RENEW)
        s_keys_renew_wait (state, job);
    else
        s_revocations_wait (state, job);
}

int
gw_bus_fetch_reply (bus_state_t *state, pst_msg_t **reply_p)
{
    if (s_fetch_answers (&state->keys, *reply_p))
        s_keys_finish (state, *reply_p);
    else
    if (s_fetch_answers (&state->revocations, *reply_p))
        s_revocations_reply (state, *reply_p);
    else
    if (s_fetch_answers (&state->origins, *reply_p))
        s_origins_reply (state, *reply_p);
    else
        return 0;
    pst_msg_destroy (reply_p);
    return 1;
}

int64_t
gw_bus_fetch_tick (bus_state_t *state, int64_t now, int64_t next)
{
    next = s_fetch_tick (state, &state->keys, s_keys_start, s_keys_finish, now, next);
    next = s_fetch_tick (state, &state->revocations, s_revocations_start, s_revocations_reply,
                         now, next);
    return s_fetch_tick (state, &state->origins, s_origins_start, s_origins_reply, now, next);
}

static void
s_fetch_end (fetch_t *fetch)
{
    job_t *job;
    while (fetch->waiters && (job = (job_t *) zlistx_detach (fetch->waiters, NULL)))
        gw_bus_job_finish (&job, NULL);
    zlistx_destroy (&fetch->waiters);
    pst_msg_destroy (&fetch->request);
}

void
gw_bus_fetch_end (bus_state_t *state)
{
    s_fetch_end (&state->keys);
    job_t *job;
    while (state->keys_renewers && (job = (job_t *) zlistx_detach (state->keys_renewers, NULL)))
        gw_bus_job_finish (&job, NULL);
    zlistx_destroy (&state->keys_renewers);
    s_fetch_end (&state->revocations);
    s_fetch_end (&state->origins);
    json_decref (state->revocation_pages);
    state->revocation_pages = NULL;
    json_decref (state->origin_pages);
    state->origin_pages = NULL;
    free (state->origins_after);
    state->origins_after = NULL;
}
