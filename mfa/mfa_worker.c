#include "mfa_worker.h"
#include "mfa_message.h"
#include "mfa_replay.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_sql.h"
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

//  Time kept back from the caller's deadline to answer it after a mail call
#define MFA_MAIL_RESERVE_MS     250
#define MFA_MAIL_MIN_MS         50
#define MFA_TOKEN_MAX           256
//  Authenticator ids: "<type>|dev_" and this many of these characters
#define MFA_ID_LENGTH           16
#define MFA_ID_ALPHABET         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

struct _mfa_worker_t {
    const mfa_config_t *config;
    mfa_store_t *store;         //  the view's: the writer's, set for each unit
    pst_client_t *jobs;
    uint8_t code_key [MFA_CODE_KEY_SIZE];
    mfa_replay_t *replay;
    mfa_writer_t *writer;
    mfa_worker_t *view;         //  what the writer runs this worker's transactions on
    mfa_replay_run_t *run;      //  the request's run, while an op that runs once runs
    unsigned begins;            //  sign-ins handled, to prune now and then
    mfa_message_t *message;     //  the stored template and provider, as last read
    bool message_read;          //  read for this request already (s_gate)
};

mfa_worker_t *
mfa_worker_new (const mfa_config_t *config, const uint8_t *code_key, const char *jobs_inproc,
                mfa_writer_t *writer)
{
    mfa_worker_t *self = (mfa_worker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    memcpy (self->code_key, code_key, MFA_CODE_KEY_SIZE);
    self->writer = writer;
    self->store = mfa_store_new (config->db_path);
    if (self->store && mfa_store_cache_pages (self->store, MFA_WORKER_CACHE_KIB) != 0)
        mfa_store_destroy (&self->store);
    self->replay = self->store? mfa_replay_new (self->store, writer, self->code_key): NULL;
    self->jobs = pst_client_new (jobs_inproc, NULL, NULL);
    self->message = mfa_message_new ();
    //  The view holds no connection, client or replay of its own
    self->view = (mfa_worker_t *) calloc (1, sizeof *self->view);
    if (self->view) {
        self->view->config = config;
        memcpy (self->view->code_key, code_key, MFA_CODE_KEY_SIZE);
    }
    if (!self->store || !self->replay || !self->jobs || !self->view || !self->message || !writer)
        mfa_worker_destroy (&self);
    return self;
}

void
mfa_worker_destroy (mfa_worker_t **self_p)
{
    if (self_p && *self_p) {
        mfa_worker_t *self = *self_p;
        mfa_replay_destroy (&self->replay);
        mfa_store_destroy (&self->store);
        pst_client_destroy (&self->jobs);
        mfa_message_destroy (&self->message);
        if (self->view) {
            sodium_memzero (self->view, sizeof *self->view);
            free (self->view);
        }
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

const mfa_config_t *
mfa_worker_config (mfa_worker_t *self)
{
    return self->config;
}

mfa_store_t *
mfa_worker_store (mfa_worker_t *self)
{
    return self->store;
}

mfa_message_t *
mfa_worker_message (mfa_worker_t *self)
{
    if (self->message && !self->message_read)
        mfa_message_refresh (self->message, self->store);
    return self->message;
}

int64_t
mfa_worker_now_ms (mfa_worker_t *self)
{
    return mfa_config_now_ms (self->config);
}

int
mfa_worker_fail_limited (mfa_worker_t *self, pst_msg_t *reply, const char *code,
                         const mfa_bucket_rule_t *rule, int retry_after_s, const char *text)
{
    json_t *body = pst_msg_body (reply);
    json_int_t reset = (json_int_t) (mfa_worker_now_ms (self) / 1000) + retry_after_s;
    json_object_set_new (body, "retry_after", json_integer (retry_after_s));
    json_object_set_new (body, "rate_limit", json_pack ("{s:i, s:i, s:I}",
        "limit", rule->capacity, "remaining", 0, "reset", reset));
    return pst_msg_fail (reply, code, "%s", text);
}

mfa_bucket_rule_t
mfa_worker_fail_rule (mfa_worker_t *self)
{
    mfa_bucket_rule_t rule = {
        self->config->fail_capacity, (int64_t) self->config->fail_refill_s * 1000
    };
    return rule;
}

mfa_bucket_rule_t
mfa_worker_recovery_rule (mfa_worker_t *self)
{
    mfa_bucket_rule_t rule = {
        self->config->recovery_capacity, (int64_t) self->config->recovery_refill_s * 1000
    };
    return rule;
}

mfa_bucket_rule_t
mfa_worker_send_rule (mfa_worker_t *self)
{
    mfa_bucket_rule_t rule = {
        self->config->send_capacity, (int64_t) self->config->send_refill_s * 1000
    };
    return rule;
}

char *
mfa_worker_authenticator_id (const char *type)
{
    char suffix [MFA_ID_LENGTH + 1];
    pst_random_string (suffix, MFA_ID_LENGTH, MFA_ID_ALPHABET);
    char *id = NULL;
    if (asprintf (&id, "%s|dev_%s", type, suffix) < 0)
        return NULL;
    return id;
}

void
mfa_worker_code_hmac (mfa_worker_t *self, const char *code, char out [65])
{
    pst_hmac_sha256_hex (self->code_key, sizeof self->code_key, code, strlen (code), out);
}

void
mfa_worker_derive_key (mfa_worker_t *self, uint64_t subkey_id, const char context [8],
                       uint8_t out [MFA_CODE_KEY_SIZE])
{
    crypto_kdf_derive_from_key (out, MFA_CODE_KEY_SIZE, subkey_id, context, self->code_key);
}

const char *
mfa_worker_param (const pst_msg_t *request, const char *key, size_t max_size)
{
    const char *value = pst_json_str (pst_msg_body (request), key);
    return value && strlen (value) <= max_size? value: NULL;
}

//  ---------------------------------------------------------------------------
//  mfa_token checks

typedef struct {
    const char *missing_code;       //  no token in the request
    const char *unknown_code;       //  not a token we issued
    const char *unknown_text;
    const char *expired_code;
    const char *expired_text;
    const char *used_code;
    const char *used_text;
} s_token_errors_t;

//  Errors per use, as data: contract §2 for the grants, §3 for the Bearer
static const s_token_errors_t s_token_errors [] = {
    [MFA_TOKEN_GRANT] = {
        PST_ERR_INVALID_REQUEST,
        PST_ERR_INVALID_GRANT, "Malformed mfa_token",
        PST_ERR_EXPIRED_TOKEN, "mfa_token is expired",
        PST_ERR_INVALID_GRANT, "mfa_token has already been used"
    },
    [MFA_TOKEN_BEARER] = {
        PST_ERR_INVALID_TOKEN,
        PST_ERR_INVALID_TOKEN, "Invalid mfa_token",
        PST_ERR_INVALID_TOKEN, "mfa_token is expired",
        PST_ERR_INVALID_TOKEN, "Invalid mfa_token"
    }
};

//  1 when the request's client_secret, if it sent one, is the client's as the
//  token recorded it at mfa.begin: a confidential client may omit it on the
//  grants and /mfa/challenge, but one that is sent must be right (contract §2).
//  A public client's is ignored, as authn does. A token minted before mfa kept
//  the client's credentials cannot tell, and refuses any.
static int
s_client_secret_ok (const json_t *token, const char *secret)
{
    if (!secret)
        return 1;
    const char *method = json_string_value (json_object_get (token, "client_auth_method"));
    const char *expected = json_string_value (json_object_get (token, "client_secret_hash"));
    if (method && streq (method, "none"))
        return 1;
    return method && pst_sha256_matches_hex (secret, expected);
}

json_t *
mfa_worker_token (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                  mfa_token_use_t use, mfa_outcome_t *outcome)
{
    if (use != MFA_TOKEN_GRANT && use != MFA_TOKEN_BEARER) {
        pst_msg_fail (reply, PST_ERR_INTERNAL, "No mfa_token rule for this operation");
        return NULL;
    }
    const s_token_errors_t *errors = &s_token_errors [use];
    const char *token = pst_json_str (pst_msg_body (request), "mfa_token");
    if (!token) {
        pst_msg_fail (reply, errors->missing_code, "Missing required parameter: mfa_token");
        return NULL;
    }
    //  A grant's client_id is one of its row's params: present and bounded
    const char *client_id = use == MFA_TOKEN_GRANT? pst_msg_get_str (request, "client_id"): NULL;
    if (use == MFA_TOKEN_GRANT && !client_id) {
        pst_msg_fail (reply, PST_ERR_INTERNAL, "The operation's row lacks client_id");
        return NULL;
    }
    json_t *row = NULL;
    char hash [65];
    if (strlen (token) <= MFA_TOKEN_MAX) {
        pst_sha256_hex (token, strlen (token), hash);
        row = mfa_store_token_get (self->store, hash);
    }
    if (!row) {
        pst_msg_fail (reply, errors->unknown_code, "%s", errors->unknown_text);
        return NULL;
    }
    if (outcome) {
        snprintf (outcome->user_id, sizeof outcome->user_id, "%s",
                  json_string_value (json_object_get (row, "user_id")));
        snprintf (outcome->client_id, sizeof outcome->client_id, "%s",
                  json_string_value (json_object_get (row, "client_id")));
    }
    const char *error = NULL, *text = NULL;
    int voided = json_is_true (json_object_get (row, "voided"));
    if (json_integer_value (json_object_get (row, "expires_at")) <= mfa_worker_now_ms (self)) {
        error = errors->expired_code;
        text = errors->expired_text;
    }
    else
    if (json_is_true (json_object_get (row, "used")) && !(voided && use == MFA_TOKEN_GRANT)) {
        error = errors->used_code;
        text = errors->used_text;
    }
    else
    if (client_id && !streq (client_id, json_string_value (json_object_get (row, "client_id")))) {
        //  An mfa_token is bound to the client that obtained it (contract §2)
        error = PST_ERR_INVALID_GRANT;
        text = "mfa_token was not issued to this client";
    }
    else
    if (voided) {
        //  authn voided it: its client changed credentials or is gone (contract §2:
        //  a bad client is 401)
        error = PST_ERR_INVALID_CLIENT;
        text = "The application's credentials changed or it was deleted. Sign in again.";
    }
    else
    if (client_id && !s_client_secret_ok (row, pst_json_str (pst_msg_body (request), "client_secret"))) {
        error = PST_ERR_INVALID_CLIENT;
        text = "Client authentication failed.";
        pst_log (PST_LOG_INFO, "client_auth_failed", "client_id", client_id,
                 "ip", pst_msg_client_ip (request), NULL);
    }
    if (error) {
        json_decref (row);
        pst_msg_fail (reply, error, "%s", text);
        return NULL;
    }
    json_object_set_new (row, "hash", json_string (hash));
    return row;
}

//  ---------------------------------------------------------------------------
//  Audit

void
mfa_worker_audit (mfa_worker_t *self, const pst_msg_t *request, const char *type,
                  const char *user_id, const char *client_id, const char *result,
                  const char *detail)
{
    const char *ip = request? pst_msg_client_ip (request): NULL;
    mfa_audit_t event = {
        .type = type, .user_id = user_id, .client_id = client_id, .ip = ip,
        .result = result, .detail = detail
    };
    int rc = mfa_store_audit (self->store, &event, mfa_worker_now_ms (self));
    pst_log (streq (result, "success")? PST_LOG_INFO: PST_LOG_WARN, type,
             "user_id", user_id, "client_id", client_id, "ip", ip, "result", result,
             "detail", detail, "request_id", request? pst_msg_id (request): NULL, NULL);
    if (rc)
        pst_log (PST_LOG_ERROR, "audit_write_failed", "type", type, NULL);
}

json_t *
mfa_worker_enroller (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                     mfa_outcome_t *outcome)
{
    const char *caller = pst_msg_caller (request);
    if (!caller)
        return mfa_worker_token (self, request, reply, MFA_TOKEN_BEARER, outcome);
    if (!*caller || strlen (caller) > 256) {
        pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "Missing authentication");
        return NULL;
    }
    const char *client_id = pst_msg_caller_client (request);
    snprintf (outcome->user_id, sizeof outcome->user_id, "%s", caller);
    snprintf (outcome->client_id, sizeof outcome->client_id, "%s", client_id? client_id: "");
    return json_pack ("{s:s, s:s, s:b}", "user_id", caller, "client_id", client_id? client_id: "",
                      "further", 1);
}

//  ---------------------------------------------------------------------------
//  Transactions, in the writer's batches

//  One transaction of a worker, as the writer runs it
typedef struct {
    mfa_worker_t *self;             //  the worker that waits for it
    const pst_msg_t *request;
    pst_msg_t *reply;
    mfa_txn_fn *txn;
    void *args;
    const char *success_type;
    const char *failure_type;
    bool last;                      //  reply is final: keep it (S26)
    mfa_replay_run_t *run;          //  the request's run when its op runs once
    mfa_outcome_t outcome;
    mfa_audit_t event;              //  the audit row written, logged after the commit
    bool claimed;                   //  this unit made the run's claim
    bool kept;                      //  this unit kept the run's reply
    bool failed;                    //  the unit could not run (its database failed)
} s_unit_t;

//  The audit event of a unit, as mfa_worker_transact describes it
static void
s_unit_event (s_unit_t *unit, mfa_audit_t *event)
{
    const pst_msg_t *request = unit->request;
    mfa_outcome_t *outcome = &unit->outcome;
    int failed = pst_msg_is_error (unit->reply);
    //  The client: the mfa_token's, or the request's, or the one the caller's
    //  access token was issued to (the MFA and Management APIs)
    const char *client_id = *outcome->client_id? outcome->client_id
                                               : mfa_worker_param (request, "client_id", 256);
    if (!client_id)
        client_id = pst_msg_caller_client (request);
    event->type = outcome->type? outcome->type: failed? unit->failure_type: unit->success_type;
    event->user_id = *outcome->user_id? outcome->user_id: NULL;
    event->client_id = client_id;
    event->ip = pst_msg_client_ip (request);
    event->result = failed? "failure": "success";
    event->detail = outcome->detail? outcome->detail: pst_msg_error_text (unit->reply);
}

//  Runs in the writer's thread, in its transaction: the request's claim when
//  this is its first transaction, the body in a savepoint of its own, the audit
//  row, and the reply when it is the last. Only a savepoint that will not undo
//  itself fails the batch.
static int
s_unit_run (mfa_store_t *store, void *args)
{
    s_unit_t *unit = (s_unit_t *) args;
    mfa_worker_t *view = unit->self->view;
    view->store = store;
    if (unit->run && unit->run->claim != MFA_CLAIM_HELD) {
        if (mfa_replay_claim_in (unit->run, store) != 0) {
            //  Lost to another run of the request id: nothing is written for it
            unit->failed = unit->run->claim != MFA_CLAIM_LOST;
            return 0;
        }
        unit->claimed = true;
    }
    if (mfa_store_savepoint (store)) {
        unit->failed = true;
        return 0;
    }
    int rc = unit->txn (view, unit->request, unit->reply, unit->args, &unit->outcome);
    if (rc == 0 && mfa_store_release (store) != 0)
        rc = pst_msg_fail (unit->reply, PST_ERR_INTERNAL, "Database unavailable");
    if (rc != 0 && mfa_store_rollback_to (store) != 0)
        return -1;
    s_unit_event (unit, &unit->event);
    if (unit->event.type
    &&  mfa_store_audit (store, &unit->event, mfa_worker_now_ms (view)) != 0)
        pst_log (PST_LOG_ERROR, "audit_write_failed", "type", unit->event.type, NULL);
    if (unit->last && unit->run)
        unit->kept = mfa_replay_keep_in (unit->run, store, unit->reply) == 0;
    return 0;
}

static int
s_transact (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply, mfa_txn_fn *txn,
            void *args, const char *success_type, const char *failure_type, bool last)
{
    s_unit_t unit = {
        .self = self, .request = request, .reply = reply, .txn = txn, .args = args,
        .success_type = success_type, .failure_type = failure_type, .last = last,
        .run = self->run, .outcome = { NULL, NULL, "", "" }
    };
    int committed = mfa_writer_run (self->writer, s_unit_run, &unit) == 0;
    if (unit.run && unit.run->claim == MFA_CLAIM_LOST)
        return -1;          //  reply untouched: mfa_replay_once waits for the other run
    if (!committed) {
        //  Nothing of the batch was written: not the claim, not the reply
        if (unit.claimed)
            unit.run->claim = MFA_CLAIM_PENDING;
        if (unit.kept)
            unit.run->kept = false;
    }
    if (!committed || unit.failed) {
        //  The body may already hold a success answer: it must not leave
        json_t *empty = json_object ();
        pst_msg_set_body (reply, &empty);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    if (unit.event.type) {
        mfa_audit_t *event = &unit.event;
        pst_log (streq (event->result, "success")? PST_LOG_INFO: PST_LOG_WARN, event->type,
                 "user_id", event->user_id, "client_id", event->client_id, "ip", event->ip,
                 "result", event->result, "detail", event->detail,
                 "request_id", pst_msg_id (request), NULL);
    }
    return pst_msg_is_error (reply)? -1: 0;
}

int
mfa_worker_transact (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                     mfa_txn_fn *txn, void *args, const char *success_type,
                     const char *failure_type)
{
    return s_transact (self, request, reply, txn, args, success_type, failure_type, false);
}

int
mfa_worker_transact_last (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                          mfa_txn_fn *txn, void *args, const char *success_type,
                          const char *failure_type)
{
    return s_transact (self, request, reply, txn, args, success_type, failure_type, true);
}

//  ---------------------------------------------------------------------------
//  Mail

int
mfa_worker_mail (mfa_worker_t *self, const pst_msg_t *request, json_t **job_p)
{
    int remaining = pst_msg_remaining_ms (request);
    int reserve = remaining / 4 < MFA_MAIL_RESERVE_MS? remaining / 4: MFA_MAIL_RESERVE_MS;
    int timeout = remaining - reserve;
    if (timeout < MFA_MAIL_MIN_MS) {
        json_decref (*job_p);
        *job_p = NULL;
        return -1;
    }
    pst_msg_t *call = pst_msg_new_request ("mail.send", timeout);
    if (!call) {
        json_decref (*job_p);
        *job_p = NULL;
        return -1;
    }
    pst_msg_set_body (call, job_p);
    pst_msg_t *answer = pst_client_call (self->jobs, call);
    int rc = answer && !pst_msg_is_error (answer)? 0: -1;
    if (answer && rc)
        pst_log (PST_LOG_WARN, "mail_job_refused", "error", pst_msg_error (answer), NULL);
    pst_msg_destroy (&answer);
    pst_msg_destroy (&call);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Dispatch

//  1 when the request's mfa_token is live for use; 0 after failing reply with the
//  error the handler itself would give. Reads, never writes: a refusal leaves
//  mfa.db as it was. It is logged instead, at info when mfa issued the token
//  (an expired or used token coming back is worth noticing, and names its user)
//  and at debug when it did not, since anyone can send those at request rate
//  and the gateway's access log already has them.
static int
s_token_live (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
              mfa_token_use_t use)
{
    mfa_outcome_t known = { NULL, NULL, "", "" };
    json_t *token = mfa_worker_token (self, request, reply, use, &known);
    if (token) {
        json_decref (token);
        return 1;
    }
    int issued = *known.user_id != '\0';
    pst_log (issued? PST_LOG_INFO: PST_LOG_DEBUG, "mfa_token_refused",
             "op", pst_msg_op (request), "user_id", issued? known.user_id: NULL,
             "client_id", issued? known.client_id: NULL, "ip", pst_msg_client_ip (request),
             "detail", pst_msg_error_text (reply), "request_id", pst_msg_id (request), NULL);
    return 0;
}

//  What mfa_worker_dispatch hands the replay's steps
typedef struct {
    mfa_worker_t *self;
    pst_handler_fn *handler;
    mfa_token_use_t use;
    bool mails;                 //  the op may mail a code (PST_OP_MAILS)
} s_step_args_t;

//  A first run's reads before it claims its request id, in the replay's read
//  transaction: the mfa_token, and the template's and provider's generations
//  for an op that may mail, so that the mail it renders later reads nothing
static int
s_gate (void *args, const pst_msg_t *request, pst_msg_t *reply)
{
    s_step_args_t *step = (s_step_args_t *) args;
    mfa_worker_t *self = step->self;
    if (step->use != MFA_TOKEN_NONE && !s_token_live (self, request, reply, step->use))
        return -1;
    if (step->mails && self->message) {
        //  A failed refresh keeps the last copy and is read again at the mail:
        //  it must not turn this request's refusals into 503s
        int unavailable = pst_sql_unavailable_seen ();
        self->message_read = mfa_message_refresh (self->message, self->store) == 0;
        if (!unavailable)
            pst_sql_unavailable_clear ();
    }
    return 0;
}

static int
s_run (void *args, mfa_replay_run_t *run, const pst_msg_t *request, pst_msg_t *reply)
{
    s_step_args_t *step = (s_step_args_t *) args;
    step->self->run = run;
    int rc = step->handler (step->self, request, reply);
    step->self->run = NULL;
    //  The gate's read serves the run right after it: a run again (its claim
    //  lost, then released) reads the template anew
    step->self->message_read = false;
    return rc;
}

int
mfa_worker_dispatch (void *worker, const pst_op_def_t *op, pst_handler_fn *handler,
                     const pst_msg_t *request, pst_msg_t *reply)
{
    mfa_worker_t *self = (mfa_worker_t *) worker;
    mfa_token_use_t use = op->flags & PST_OP_TOKEN_GRANT? MFA_TOKEN_GRANT
                        : op->flags & PST_OP_TOKEN_BEARER? MFA_TOKEN_BEARER: MFA_TOKEN_NONE;
    //  A bearer op called with an access token the gateway verified (its sub is
    //  the caller) has no mfa_token to check: the handler takes the caller
    if (use == MFA_TOKEN_BEARER && pst_msg_caller (request))
        use = MFA_TOKEN_NONE;
    s_step_args_t step = { self, handler, use, (op->flags & PST_OP_MAILS) != 0 };
    if (op->flags & PST_OP_ONCE) {
        int rc = mfa_replay_once (self->replay, request, reply,
                                  use == MFA_TOKEN_NONE && !step.mails? NULL: s_gate,
                                  s_run, &step);
        self->message_read = false;     //  a gate that refused had no run
        return rc;
    }
    if (use != MFA_TOKEN_NONE && !s_token_live (self, request, reply, use))
        return -1;
    return handler (self, request, reply);
}

void
mfa_worker_prune_now_and_then (mfa_worker_t *self, int64_t now)
{
    if (self->begins++ % MFA_PRUNE_EVERY == 0
    &&  mfa_store_prune (self->store, now, self->config->audit_retention_days))
        pst_log (PST_LOG_ERROR, "prune_failed", NULL);
}
