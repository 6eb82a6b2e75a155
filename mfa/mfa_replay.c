#include "mfa_replay.h"
#include "pst_error.h"
#include "pst_log.h"
#include <czmq.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

//  A claim on a request id older than this belongs to a crashed worker
#define MFA_REPLY_STALE_MS      30000
//  Poll interval while waiting for the first run of a retried request
#define MFA_REPLY_POLL_MS       20

struct _mfa_replay_t {
    mfa_store_t *store;         //  the worker's, for lookups
    mfa_writer_t *writer;       //  for the claims and replies no transaction carried
    uint8_t seal_key [crypto_secretbox_KEYBYTES];
};

mfa_replay_t *
mfa_replay_new (mfa_store_t *store, mfa_writer_t *writer, const uint8_t *code_key)
{
    mfa_replay_t *self = (mfa_replay_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->writer = writer;
    //  Kept replies hold oob_codes and recovery codes: sealed under a key of
    //  their own, derived from the code key that never enters the database
    crypto_kdf_derive_from_key (self->seal_key, sizeof self->seal_key, 1, "pstreply", code_key);
    return self;
}

void
mfa_replay_destroy (mfa_replay_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero (*self_p, sizeof **self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

static int
s_reply_keepable (const pst_msg_t *reply)
{
    const char *error = pst_msg_error (reply);
    return !error || !(streq (error, PST_ERR_UNAVAILABLE) || streq (error, PST_ERR_INTERNAL));
}

//  Sealed form of a reply: nonce, then secretbox of {"st","err","msg","body"}.
static uint8_t *
s_seal (mfa_replay_t *self, const pst_msg_t *reply, size_t *size_p)
{
    json_t *saved = json_pack ("{s:i, s:O}", "st", pst_msg_is_error (reply)? 1: 0,
                               "body", pst_msg_body (reply));
    if (saved && pst_msg_is_error (reply)) {
        json_object_set_new (saved, "err", json_string (pst_msg_error (reply)));
        const char *text = pst_msg_error_text (reply);
        json_object_set_new (saved, "msg", json_string (text? text: ""));
    }
    char *plain = saved? json_dumps (saved, JSON_COMPACT): NULL;
    json_decref (saved);
    if (!plain)
        return NULL;
    size_t plain_size = strlen (plain);
    size_t size = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain_size;
    uint8_t *sealed = (uint8_t *) malloc (size);
    if (sealed) {
        randombytes_buf (sealed, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy (sealed + crypto_secretbox_NONCEBYTES, (uint8_t *) plain,
                               plain_size, sealed, self->seal_key);
        *size_p = size;
    }
    sodium_memzero (plain, plain_size);
    free (plain);
    return sealed;
}

//  Fills reply from a sealed reply; 0, or -1 when it does not open.
static int
s_unseal (mfa_replay_t *self, const uint8_t *sealed, size_t size, pst_msg_t *reply)
{
    if (size < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return -1;
    size_t plain_size = size - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *plain = (char *) malloc (plain_size + 1);
    if (!plain)
        return -1;
    int rc = crypto_secretbox_open_easy ((uint8_t *) plain, sealed + crypto_secretbox_NONCEBYTES,
                                         size - crypto_secretbox_NONCEBYTES, sealed,
                                         self->seal_key);
    json_t *saved = rc == 0? json_loadb (plain, plain_size, 0, NULL): NULL;
    sodium_memzero (plain, plain_size);
    free (plain);
    json_t *body = json_object_get (saved, "body");
    if (!json_is_object (body)) {
        json_decref (saved);
        return -1;
    }
    json_t *copy = json_deep_copy (body);
    pst_msg_set_body (reply, &copy);
    if (json_integer_value (json_object_get (saved, "st")) == 1) {
        const char *error = json_string_value (json_object_get (saved, "err"));
        const char *text = json_string_value (json_object_get (saved, "msg"));
        pst_msg_fail (reply, error? error: PST_ERR_INTERNAL, "%s", text? text: "");
    }
    json_decref (saved);
    return 0;
}

//  The reply of a request id's first run, into reply. 0, or -1 after failing reply.
static int
s_replay (mfa_replay_t *self, const pst_msg_t *request, pst_msg_t *reply,
          uint8_t *sealed, size_t size)
{
    int rc = s_unseal (self, sealed, size, reply);
    free (sealed);
    pst_log (PST_LOG_INFO, "reply_replayed", "request_id", pst_msg_id (request),
             "op", pst_msg_op (request), NULL);
    return rc? pst_msg_fail (reply, PST_ERR_INTERNAL, "Stored reply unreadable")
             : pst_msg_is_error (reply)? -1: 0;
}

//  ---------------------------------------------------------------------------
//  Claims and replies, inside the writer's transactions

int
mfa_replay_claim_in (mfa_replay_run_t *run, mfa_store_t *store)
{
    if (run->claim == MFA_CLAIM_HELD)
        return 0;
    if (run->claim == MFA_CLAIM_LOST)
        return -1;
    //  Creates the claim, or takes over one a crashed worker left (stale)
    int claimed = mfa_store_reply_claim (store, pst_msg_id (run->request),
                                         pst_msg_op (run->request), zclock_time (),
                                         MFA_REPLY_STALE_MS);
    if (claimed == 1)
        run->claim = MFA_CLAIM_HELD;
    else
    if (claimed == 0)
        run->claim = MFA_CLAIM_LOST;
    return claimed == 1? 0: -1;
}

int
mfa_replay_keep_in (mfa_replay_run_t *run, mfa_store_t *store, const pst_msg_t *reply)
{
    const char *id = pst_msg_id (run->request);
    const char *op = pst_msg_op (run->request);
    int rc = 0;
    if (run->claim == MFA_CLAIM_LOST)
        return -1;
    if (!s_reply_keepable (reply)) {
        //  A retry runs again: the claim goes, and nothing was claimed when pending
        if (run->claim == MFA_CLAIM_HELD)
            rc = mfa_store_reply_release (store, id, op);
    }
    else {
        size_t size = 0;
        uint8_t *sealed = s_seal (run->replay, reply, &size);
        rc = !sealed? -1
           : run->claim == MFA_CLAIM_HELD? mfa_store_reply_save (store, id, op, sealed, size)
           : mfa_store_reply_put (store, id, op, sealed, size, zclock_time ());
        free (sealed);
        //  A claim that cannot hold its reply is released: a retry then runs
        //  again rather than wait 30 s for a reply that will never come
        if (rc && run->claim == MFA_CLAIM_HELD)
            mfa_store_reply_release (store, id, op);
    }
    run->kept = rc == 0;
    return rc;
}

//  What the units below take
typedef struct {
    mfa_replay_run_t *run;
    const pst_msg_t *reply;
} s_unit_args_t;

static int
s_claim_unit (mfa_store_t *store, void *args)
{
    mfa_replay_claim_in (((s_unit_args_t *) args)->run, store);
    return 0;
}

static int
s_keep_unit (mfa_store_t *store, void *args)
{
    s_unit_args_t *unit = (s_unit_args_t *) args;
    mfa_replay_keep_in (unit->run, store, unit->reply);
    return 0;
}

//  Takes over a claim a crashed worker left; run->claim says how it went.
//  -1 when the database failed.
static int
s_take_over (mfa_replay_t *self, mfa_replay_run_t *run)
{
    s_unit_args_t unit = { run, NULL };
    if (mfa_writer_run (self->writer, s_claim_unit, &unit) != 0) {
        run->claim = MFA_CLAIM_PENDING;
        return -1;
    }
    return run->claim == MFA_CLAIM_PENDING? -1: 0;
}

//  What the run left owing, once it has answered: its reply kept when no
//  transaction of its own kept it, or its claim released. Best effort, as
//  before: when the commit fails, a held claim goes stale and is taken over.
static void
s_settle (mfa_replay_t *self, mfa_replay_run_t *run, const pst_msg_t *reply)
{
    if (run->kept || run->claim == MFA_CLAIM_LOST
    ||  (run->claim == MFA_CLAIM_PENDING && !s_reply_keepable (reply)))
        return;
    s_unit_args_t unit = { run, reply };
    if (mfa_writer_run (self->writer, s_keep_unit, &unit) != 0 || !run->kept)
        pst_log (PST_LOG_WARN, "reply_not_kept", "request_id", pst_msg_id (run->request),
                 "op", pst_msg_op (run->request), NULL);
}

int
mfa_replay_once (mfa_replay_t *self, const pst_msg_t *request, pst_msg_t *reply,
                 mfa_replay_step_fn *gate, mfa_replay_run_fn *run_fn, void *args)
{
    const char *id = pst_msg_id (request);
    const char *name = pst_msg_op (request);
    bool checked = gate == NULL;
    while (true) {
        uint8_t *sealed = NULL;
        size_t size = 0;
        //  When the gate may follow, the lookup and the gate read one snapshot
        //  (one start of a transaction, not two), ended before anything writes
        //  or waits for another run. If none begins they read one by one.
        if (!checked)
            mfa_store_read_begin (self->store);
        int found = mfa_store_reply_lookup (self->store, id, name, &sealed, &size);
        //  A first run (-2) claims the request id only past the gate (a live
        //  mfa_token), in its first transaction. A run in progress (0) passed it
        //  when it claimed, and may since have used the token: its retry waits
        //  for the reply instead, unless the claim is stale
        int refused = 0;
        if (found == -2 && !checked) {
            refused = gate (args, request, reply) != 0;
            checked = true;
        }
        mfa_store_read_end (self->store);
        if (found == 1)
            return s_replay (self, request, reply, sealed, size);
        if (found == -1)
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        if (refused)
            return -1;
        mfa_replay_run_t run = { self, request, MFA_CLAIM_PENDING, false };
        if (found == 0 && s_take_over (self, &run) != 0)
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        if (run.claim != MFA_CLAIM_LOST) {
            //  The handler's own transaction checks the token again either way
            int rc = run_fn (args, &run, request, reply);
            if (run.claim != MFA_CLAIM_LOST) {
                s_settle (self, &run, reply);
                return rc;
            }
        }
        //  Another run has the id: it wrote nothing of ours, and reply is as it
        //  came. Wait, look again
        if (pst_msg_remaining_ms (request) <= MFA_REPLY_POLL_MS)
            return pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "Request is in progress");
        zclock_sleep (MFA_REPLY_POLL_MS);
    }
}
