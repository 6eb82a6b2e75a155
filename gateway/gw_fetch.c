#include "gw_fetch.h"
#include "pst_bus.h"
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

//  Someone waiting for a fetch
typedef struct {
    gw_fetch_done_fn *done;
    void *arg;
} waiter_t;

//  One kind of fetch: at most one request in flight
typedef struct {
    const char *op;
    pst_msg_t *request;         //  in flight, or NULL
    int queued;                 //  the request has left for authn
    int64_t expires_at;         //  of the request in flight
    int64_t started_at;         //  of the last fetch
    int64_t next_at;            //  of the next fetch
    zlistx_t *waiters;          //  waiter_t *
} fetch_t;

struct _gw_fetch_t {
    zsock_t *authn;             //  borrowed
    int timeout_ms;
    int keys_min_interval_ms;
    gw_keys_t *keys;            //  borrowed
    gw_revocations_t *revocations;
    gw_cors_t *cors;
    fetch_t key_fetch;
    zlistx_t *keys_renewers;    //  waiter_t * waiting for a key fetch that starts after
                                //  the one in flight (the keys changed meanwhile)
    int keys_again;             //  such a fetch is due when the one in flight ends
    int64_t keys_generation;    //  authn's signing generation the copy is from, -1 unknown
    fetch_t revocation_fetch;
    json_t *revocation_pages;   //  the list being read, page by page
    int64_t revocations_after;  //  the cursor of the page asked for
    int revocations_pages;      //  pages read of the list
    int revocations_failing;    //  the last fetch failed (logged once)
    fetch_t origin_fetch;
    json_t *origin_pages;       //  the origin set being read, page by page
    char *origins_after;        //  the cursor of the page asked for
    int origins_pages;          //  pages read of the set
    int origins_failing;        //  the last fetch failed (logged once)
    bool sent;                  //  sent on authn since gw_fetch_sent last asked
};

//  ---------------------------------------------------------------------------
//  Waiters

//  The waiter hears and is gone
static void
s_waiter_finish (waiter_t **waiter_p)
{
    waiter_t *waiter = *waiter_p;
    waiter->done (waiter->arg);
    free (waiter);
    *waiter_p = NULL;
}

static void
s_waiters_finish (zlistx_t *waiters)
{
    waiter_t *waiter;
    while (waiters && (waiter = (waiter_t *) zlistx_detach (waiters, NULL)))
        s_waiter_finish (&waiter);
}

//  ---------------------------------------------------------------------------
//  Fetches from authn

static void
s_fetch_try_send (gw_fetch_t *self, fetch_t *fetch)
{
    self->sent = true;          //  tried or not, the send may have taken commands
    if (pst_bus_send (self->authn, NULL, fetch->request) == 0)
        fetch->queued = 1;
}

//  Sends fetch's op with *body_p (taken; NULL for none); 0, or -1 when out of memory.
static int
s_fetch_send (gw_fetch_t *self, fetch_t *fetch, json_t **body_p)
{
    pst_msg_destroy (&fetch->request);
    fetch->request = pst_msg_new_request (fetch->op, self->timeout_ms);
    if (!fetch->request) {
        json_decref (body_p? *body_p: NULL);
        return -1;
    }
    if (body_p && *body_p)
        pst_msg_set_body (fetch->request, body_p);
    fetch->expires_at = zclock_mono () + self->timeout_ms;
    fetch->queued = 0;
    s_fetch_try_send (self, fetch);
    return 0;
}

//  The fetch is over: the next in next_ms, and its waiters hear of it
static void
s_fetch_over (fetch_t *fetch, int64_t next_ms)
{
    pst_msg_destroy (&fetch->request);
    fetch->next_at = zclock_mono () + next_ms;
    s_waiters_finish (fetch->waiters);
}

static int
s_fetch_answers (const fetch_t *fetch, const pst_msg_t *reply)
{
    return fetch->request && streq (pst_msg_id (reply), pst_msg_id (fetch->request));
}

//  ---------------------------------------------------------------------------
//  Keys

static void
s_keys_start (gw_fetch_t *self)
{
    if (self->key_fetch.request)
        return;
    self->key_fetch.started_at = zclock_mono ();
    s_fetch_send (self, &self->key_fetch, NULL);
}

static void
s_keys_finish (gw_fetch_t *self, pst_msg_t *reply)
{
    int loaded = reply && !pst_msg_is_error (reply)
              && gw_keys_update (self->keys, pst_msg_body (reply)) == 0;
    if (loaded)
        pst_log (PST_LOG_INFO, "keys_loaded", NULL);
    else
        pst_log (PST_LOG_WARN, "keys_fetch_failed",
                 "reason", !reply? "no answer": pst_msg_is_error (reply)? pst_msg_error (reply)
                                                                       : "unusable key set", NULL);
    //  Without keys every Management API call fails: try again sooner, but
    //  never in a tight loop against a service that is down. A gateway that
    //  never had any (it started before authn answered) tries every second
    int64_t retry_ms = self->keys_min_interval_ms > KEYS_RETRY_FLOOR_MS
                     ? self->keys_min_interval_ms: KEYS_RETRY_FLOOR_MS;
    if (!loaded && gw_keys_size (self->keys) == 0)
        retry_ms = KEYS_RETRY_FLOOR_MS;
    s_fetch_over (&self->key_fetch, loaded? GW_FETCH_KEYS_REFRESH_MS: retry_ms);
    if (self->keys_again) {
        self->keys_again = 0;
        waiter_t *waiter;
        while ((waiter = (waiter_t *) zlistx_detach (self->keys_renewers, NULL)))
            zlistx_add_end (self->key_fetch.waiters, waiter);
        s_keys_start (self);
    }
}

//  The keys changed: a fetch that starts now, or right after the one in flight
//  (which may have left before the change)
static void
s_keys_renew (gw_fetch_t *self)
{
    if (self->key_fetch.request)
        self->keys_again = 1;
    else
        s_keys_start (self);
}

//  A token with an unknown kid asks for fresh keys at most every
//  keys_min_interval_ms; but while the gateway holds no key set at all (authn
//  was slower to start than the first fetch's deadline) it may ask at once,
//  one fetch at a time, rather than refuse every token until the next retry.
static void
s_keys_wait (gw_fetch_t *self, waiter_t *waiter)
{
    //  An unknown kid refetches at most once per keys_min_interval_ms, unless
    //  there are no keys at all yet: then the fetch is what the request needs
    int recent = self->key_fetch.started_at > 0 && gw_keys_size (self->keys) > 0
              && zclock_mono () - self->key_fetch.started_at < self->keys_min_interval_ms;
    if (!self->key_fetch.request && recent) {
        s_waiter_finish (&waiter);
        return;
    }
    zlistx_add_end (self->key_fetch.waiters, waiter);
    s_keys_start (self);
    if (!self->key_fetch.request)
        s_fetch_over (&self->key_fetch, KEYS_RETRY_FLOOR_MS);
}

//  A request that changed the keys waits for a fetch that starts after it
static void
s_keys_renew_wait (gw_fetch_t *self, waiter_t *waiter)
{
    zlistx_add_end (self->key_fetch.request? self->keys_renewers: self->key_fetch.waiters, waiter);
    s_keys_renew (self);
    if (!self->key_fetch.request && !self->keys_again)
        s_fetch_over (&self->key_fetch, KEYS_RETRY_FLOOR_MS);
}

//  ---------------------------------------------------------------------------
//  Revocations: the whole list, a page at a time, installed once complete

static void
s_revocations_page (gw_fetch_t *self, int64_t after)
{
    self->revocations_after = after;
    json_t *body = json_pack ("{s:I}", "after", (json_int_t) after);
    if (!body || s_fetch_send (self, &self->revocation_fetch, &body) != 0)
        s_fetch_over (&self->revocation_fetch, GW_FETCH_REVOCATIONS_POLL_MS);
}

static void
s_revocations_start (gw_fetch_t *self)
{
    if (self->revocation_fetch.request)
        return;
    self->revocation_fetch.started_at = zclock_mono ();
    json_decref (self->revocation_pages);
    self->revocation_pages = json_array ();
    self->revocations_pages = 0;
    s_revocations_page (self, 0);
}

//  A fetch that failed keeps the list the gateway has; said once per outage
static void
s_revocations_failed (gw_fetch_t *self, const char *reason)
{
    if (!self->revocations_failing)
        pst_log (PST_LOG_WARN, "revocations_fetch_failed", "reason", reason,
                 "kept", gw_revocations_loaded (self->revocations)? "the last list": "none",
                 NULL);
    self->revocations_failing = 1;
    s_fetch_over (&self->revocation_fetch, GW_FETCH_REVOCATIONS_POLL_MS);
}

static void
s_revocations_reply (gw_fetch_t *self, pst_msg_t *reply)
{
    json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    json_t *page = json_object_get (body, "revocations");
    json_t *next = json_object_get (body, "next");
    int more = json_is_true (json_object_get (body, "more"));
    if (!reply || !json_is_array (page) || !self->revocation_pages
    ||  json_array_extend (self->revocation_pages, page) != 0) {
        s_revocations_failed (self, !reply? "no answer": pst_msg_is_error (reply)?
                              pst_msg_error (reply): "unreadable answer");
        return;
    }
    if (more) {
        //  Each page must move on, and a list cannot be endless
        if (!json_is_integer (next) || json_integer_value (next) <= self->revocations_after
        ||  ++self->revocations_pages >= REVOCATIONS_MAX_PAGES)
            s_revocations_failed (self, "pages that do not move on");
        else
            s_revocations_page (self, json_integer_value (next));
        return;
    }
    if (gw_revocations_update (self->revocations, self->revocation_pages) != 0) {
        s_revocations_failed (self, "malformed revocation");
        return;
    }
    //  The list says which signing generation authn is at: a change (a key
    //  rotated through another gateway) renews this gateway's copy within a poll
    json_t *generation = json_object_get (body, "keys_generation");
    if (json_is_integer (generation) && json_integer_value (generation) != self->keys_generation) {
        self->keys_generation = json_integer_value (generation);
        s_keys_renew (self);
    }
    if (self->revocations_failing || !self->revocation_fetch.next_at)
        pst_log (PST_LOG_INFO, "revocations_loaded", NULL);
    self->revocations_failing = 0;
    json_decref (self->revocation_pages);
    self->revocation_pages = NULL;
    s_fetch_over (&self->revocation_fetch, GW_FETCH_REVOCATIONS_POLL_MS);
}

//  A request waits only for the first list: later ones come every second anyway
static void
s_revocations_wait (gw_fetch_t *self, waiter_t *waiter)
{
    if (gw_revocations_loaded (self->revocations)) {
        s_waiter_finish (&waiter);
        return;
    }
    zlistx_add_end (self->revocation_fetch.waiters, waiter);
    s_revocations_start (self);
}

//  A fetch's deadline, its retries while authn is not connected, and its next
//  start; returns the sooner of next and the ms until fetch needs a look again.
static int64_t
s_fetch_tick (gw_fetch_t *self, fetch_t *fetch, void (*start) (gw_fetch_t *),
              void (*finish) (gw_fetch_t *, pst_msg_t *), int64_t now, int64_t next)
{
    if (fetch->request && fetch->expires_at <= now)
        finish (self, NULL);
    else
    if (fetch->request && !fetch->queued)
        s_fetch_try_send (self, fetch);
    if (!fetch->request && fetch->next_at <= now)
        start (self);
    int64_t until = !fetch->request? fetch->next_at - now
                  : fetch->queued? fetch->expires_at - now: FETCH_RETRY_MS;
    return until < next? until: next;
}

//  ---------------------------------------------------------------------------
//  Origins: every client's, a page at a time, installed once complete (as the
//  revocations, with the last client_id of a page as the cursor)

static void
s_origins_page (gw_fetch_t *self, const char *after)
{
    free (self->origins_after);
    self->origins_after = strdup (after);
    json_t *body = self->origins_after? json_pack ("{s:s}", "after", after): NULL;
    if (!body || s_fetch_send (self, &self->origin_fetch, &body) != 0)
        s_fetch_over (&self->origin_fetch, GW_FETCH_ORIGINS_POLL_MS);
}

static void
s_origins_start (gw_fetch_t *self)
{
    if (self->origin_fetch.request)
        return;
    self->origin_fetch.started_at = zclock_mono ();
    json_decref (self->origin_pages);
    self->origin_pages = json_array ();
    self->origins_pages = 0;
    s_origins_page (self, "");
}

//  A fetch that failed keeps the set the gateway has; said once per outage
static void
s_origins_failed (gw_fetch_t *self, const char *reason)
{
    if (!self->origins_failing)
        pst_log (PST_LOG_WARN, "origins_fetch_failed", "reason", reason,
                 "kept", gw_cors_loaded (self->cors)? "the last set": "none", NULL);
    self->origins_failing = 1;
    s_fetch_over (&self->origin_fetch, GW_FETCH_ORIGINS_POLL_MS);
}

static void
s_origins_reply (gw_fetch_t *self, pst_msg_t *reply)
{
    json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    json_t *page = json_object_get (body, "clients");
    const char *next = json_string_value (json_object_get (body, "next"));
    int more = json_is_true (json_object_get (body, "more"));
    if (!reply || !json_is_array (page) || !self->origin_pages
    ||  json_array_extend (self->origin_pages, page) != 0) {
        s_origins_failed (self, !reply? "no answer": pst_msg_is_error (reply)?
                          pst_msg_error (reply): "unreadable answer");
        return;
    }
    if (more) {
        //  Each page must move on, and a set cannot be endless
        if (!next || !self->origins_after || strcmp (next, self->origins_after) <= 0
        ||  ++self->origins_pages >= ORIGINS_MAX_PAGES)
            s_origins_failed (self, "pages that do not move on");
        else
            s_origins_page (self, next);
        return;
    }
    if (gw_cors_update (self->cors, self->origin_pages) != 0) {
        s_origins_failed (self, "malformed origins");
        return;
    }
    if (self->origins_failing || !self->origin_fetch.next_at)
        pst_log (PST_LOG_INFO, "origins_loaded", NULL);
    self->origins_failing = 0;
    json_decref (self->origin_pages);
    self->origin_pages = NULL;
    s_fetch_over (&self->origin_fetch, GW_FETCH_ORIGINS_POLL_MS);
}

//  ---------------------------------------------------------------------------
//  What the loop asks of them

gw_fetch_t *
gw_fetch_new (zsock_t *authn, int timeout_ms, int keys_min_interval_ms,
              gw_keys_t *keys, gw_revocations_t *revocations, gw_cors_t *cors)
{
    gw_fetch_t *self = (gw_fetch_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->authn = authn;
    self->timeout_ms = timeout_ms;
    self->keys_min_interval_ms = keys_min_interval_ms;
    self->keys = keys;
    self->revocations = revocations;
    self->cors = cors;
    self->key_fetch = (fetch_t) { .op = "keys.jwks", .waiters = zlistx_new () };
    self->keys_renewers = zlistx_new ();
    self->keys_generation = -1;
    self->revocation_fetch = (fetch_t) { .op = "revocations.list", .waiters = zlistx_new () };
    self->origin_fetch = (fetch_t) { .op = "origins.list", .waiters = zlistx_new () };
    if (!self->key_fetch.waiters || !self->keys_renewers || !self->revocation_fetch.waiters
    ||  !self->origin_fetch.waiters)
        gw_fetch_destroy (&self);
    return self;
}

static void
s_fetch_end (fetch_t *fetch)
{
    s_waiters_finish (fetch->waiters);
    zlistx_destroy (&fetch->waiters);
    pst_msg_destroy (&fetch->request);
}

void
gw_fetch_destroy (gw_fetch_t **self_p)
{
    if (self_p && *self_p) {
        gw_fetch_t *self = *self_p;
        s_fetch_end (&self->key_fetch);
        s_waiters_finish (self->keys_renewers);
        zlistx_destroy (&self->keys_renewers);
        s_fetch_end (&self->revocation_fetch);
        s_fetch_end (&self->origin_fetch);
        json_decref (self->revocation_pages);
        json_decref (self->origin_pages);
        free (self->origins_after);
        free (self);
        *self_p = NULL;
    }
}

void
gw_fetch_start (gw_fetch_t *self)
{
    s_keys_start (self);
    s_revocations_start (self);
    s_origins_start (self);
}

int
gw_fetch_wait (gw_fetch_t *self, gw_fetch_wait_t what, gw_fetch_done_fn *done, void *arg)
{
    waiter_t *waiter = (waiter_t *) malloc (sizeof *waiter);
    if (!waiter)
        return -1;
    *waiter = (waiter_t) { done, arg };
    if (what == GW_FETCH_KEYS)
        s_keys_wait (self, waiter);
    else
    if (what == GW_FETCH_KEYS_RENEW)
        s_keys_renew_wait (self, waiter);
    else
        s_revocations_wait (self, waiter);
    return 0;
}

int
gw_fetch_reply (gw_fetch_t *self, pst_msg_t **reply_p)
{
    if (s_fetch_answers (&self->key_fetch, *reply_p))
        s_keys_finish (self, *reply_p);
    else
    if (s_fetch_answers (&self->revocation_fetch, *reply_p))
        s_revocations_reply (self, *reply_p);
    else
    if (s_fetch_answers (&self->origin_fetch, *reply_p))
        s_origins_reply (self, *reply_p);
    else
        return 0;
    pst_msg_destroy (reply_p);
    return 1;
}

int64_t
gw_fetch_tick (gw_fetch_t *self, int64_t now, int64_t next)
{
    next = s_fetch_tick (self, &self->key_fetch, s_keys_start, s_keys_finish, now, next);
    next = s_fetch_tick (self, &self->revocation_fetch, s_revocations_start,
                         s_revocations_reply, now, next);
    return s_fetch_tick (self, &self->origin_fetch, s_origins_start, s_origins_reply, now, next);
}

bool
gw_fetch_sent (gw_fetch_t *self)
{
    bool sent = self->sent;
    self->sent = false;
    return sent;
}
