/*  mfa_worker - what one mfa worker thread owns, and the helpers every handler uses:
    its database connection, its client to the mail dispatcher, the code key,
    mfa_token checks and audit events. mfa_worker_dispatch runs every op as its
    row of the operation catalogue says (the mfa_token check, mfa_replay).
*/
#ifndef MFA_WORKER_H_INCLUDED
#define MFA_WORKER_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "mfa_config.h"
#include "mfa_message.h"
#include "mfa_store.h"
#include "mfa_writer.h"
#include "pst_bus.h"
#include "pst_service.h"

//  A worker's connection only reads (the mfa_token, the reply cache), and SQLite
//  drops its cache whenever the writer has committed, which under load is every
//  few milliseconds: a small one holds the pages one request reads again, and 16
//  workers (POSTERN_MFA_WORKERS) at SQLite's 2 MB each kept mfa's RSS at 58 MiB
#define MFA_WORKER_CACHE_KIB        512

#define MFA_CODE_KEY_SIZE   32

typedef struct _mfa_worker_t mfa_worker_t;

//  Opens a database connection (for reading, and the writes of operations that
//  make no transaction) and connects to the dispatcher at jobs_inproc;
//  transactions go to writer (borrowed, must outlive the worker). code_key is
//  copied. NULL on failure.
mfa_worker_t *
    mfa_worker_new (const mfa_config_t *config, const uint8_t *code_key,
                    const char *jobs_inproc, mfa_writer_t *writer);
void
    mfa_worker_destroy (mfa_worker_t **self_p);

const mfa_config_t *
    mfa_worker_config (mfa_worker_t *self);
mfa_store_t *
    mfa_worker_store (mfa_worker_t *self);
//  What the next email is made of (the stored template and provider), brought
//  up to date with the store first (mfa_message_refresh: one cheap read when
//  nothing changed), unless this run's gate just did (PST_OP_MAILS). NULL on a
//  transaction's view, which sends no mail.
mfa_message_t *
    mfa_worker_message (mfa_worker_t *self);
//  The configured clock (test hook or real time), Unix ms.
int64_t
    mfa_worker_now_ms (mfa_worker_t *self);
//  The failure and send bucket rules from the configuration.
mfa_bucket_rule_t
    mfa_worker_fail_rule (mfa_worker_t *self);
mfa_bucket_rule_t
    mfa_worker_send_rule (mfa_worker_t *self);
mfa_bucket_rule_t
    mfa_worker_recovery_rule (mfa_worker_t *self);
//  Fails reply with a 429 code from an empty bucket: retry_after (seconds) and
//  rate_limit {limit, remaining, reset (Unix seconds)} travel in the body and
//  the gateway turns them into Retry-After and X-RateLimit-* headers. Returns -1.
int
    mfa_worker_fail_limited (mfa_worker_t *self, pst_msg_t *reply, const char *code,
                             const mfa_bucket_rule_t *rule, int retry_after_s, const char *text);

//  A new authenticator id, "<type>|dev_" and 16 random letters and digits, as
//  Auth0 forms them. Caller frees; NULL when out of memory.
char *
    mfa_worker_authenticator_id (const char *type);

//  Hex HMAC-SHA-256 of an email code under the code key (S8).
void
    mfa_worker_code_hmac (mfa_worker_t *self, const char *code, char out [65]);

//  A key of its own for one use of the code key (libsodium's KDF), so that no
//  two uses share one: context names the use in 8 characters, subkey_id
//  numbers it. The reply cache uses 1 ("pstreply").
void
    mfa_worker_derive_key (mfa_worker_t *self, uint64_t subkey_id, const char context [8],
                           uint8_t out [MFA_CODE_KEY_SIZE]);

//  A string member of the request body: NULL when absent, empty, not a string or
//  longer than max_size bytes (so callers treat it as missing or malformed).
const char *
    mfa_worker_param (const pst_msg_t *request, const char *key, size_t max_size);

//  How an op uses the mfa_token: not at all (or not always), as the grant's
//  proof (invalid_grant family errors, bound to the body's client_id) or as a
//  Bearer (invalid_token errors).
typedef enum {
    MFA_TOKEN_NONE,
    MFA_TOKEN_GRANT,
    MFA_TOKEN_BEARER
} mfa_token_use_t;


//  Records an audit event and logs it. Never pass a secret.
void
    mfa_worker_audit (mfa_worker_t *self, const pst_msg_t *request, const char *type,
                      const char *user_id, const char *client_id, const char *result,
                      const char *detail);

//  What a transaction tells mfa_worker_transact to audit.
typedef struct {
    const char *type;           //  audit type; NULL: the default for success/failure
    const char *detail;         //  audit detail; NULL: the reply's error text
    char user_id [257];         //  the user concerned, once known
    char client_id [257];       //  the token's client, once known
} mfa_outcome_t;

//  Finds the request's unexpired, unused mfa_token; for a grant, one issued to the
//  request's client_id, whose client_secret (if sent) is right. Returns its row plus "hash"
//  (caller decrefs), or NULL after failing reply with the right error. When the
//  token is known, even expired or used, outcome (if given) gets its user and client.
json_t *
    mfa_worker_token (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                      mfa_token_use_t use, mfa_outcome_t *outcome);
//  Who associates: with an access token for the MFA API (the caller the gateway
//  verified, holding enroll) {"user_id","client_id","further":true}, a further
//  authenticator for an enrolled user; else the mfa_token, as mfa_worker_token
//  for a bearer op. NULL after failing reply.
json_t *
    mfa_worker_enroller (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                         mfa_outcome_t *outcome);

//  Body of a transaction: fills reply and outcome; returns 0 to commit, -1 to roll
//  back. A refusal that must still count (a wrong code) fails reply and commits.
//  It runs in the writer's thread: self is a view of the worker whose store is
//  the writer's, for the store, the clock, the configuration, the code key and
//  mfa_worker_token; it must not call the dispatcher or another transaction.
typedef int (mfa_txn_fn) (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                          void *args, mfa_outcome_t *outcome);

//  Runs txn (with args) in the writer's next batch (mfa_writer: one commit for
//  many workers' transactions), inside a savepoint of its own, and writes its
//  audit event after it in the same commit, so refusals that roll back are
//  recorded too. An op that runs once per request id claims it in the same
//  commit when this is its first transaction (mfa_replay). Returns once that
//  commit has returned: 0 when reply succeeded.
int
    mfa_worker_transact (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                         mfa_txn_fn *txn, void *args, const char *success_type,
                         const char *failure_type);
//  The same for the handler's last transaction: reply is its answer once txn
//  returns (the handler adds nothing to it), so an op that runs once per request
//  id keeps it for retries (S26) in the same commit too.
int
    mfa_worker_transact_last (mfa_worker_t *self, const pst_msg_t *request, pst_msg_t *reply,
                              mfa_txn_fn *txn, void *args, const char *success_type,
                              const char *failure_type);

//  Calls the dispatcher with a mail.send job (body taken), leaving time to answer
//  our own caller before its deadline. 0 when a mailer has accepted the job.
int
    mfa_worker_mail (mfa_worker_t *self, const pst_msg_t *request, json_t **job_p);

//  mfa has no timer of its own (a worker runs only when asked), so each worker
//  deletes expired tokens, challenges, jobs, cached replies and old audit rows
//  (mfa_store_prune) on its first sign-in and then every MFA_PRUNE_EVERY.
#define MFA_PRUNE_EVERY     64
void
    mfa_worker_prune_now_and_then (mfa_worker_t *self, int64_t now);

//  Runs an op as its catalogue row says (pst_dispatch_fn): an op bound to an
//  mfa_token (PST_OP_TOKEN_GRANT, PST_OP_TOKEN_BEARER) needs a live one
//  (unexpired, unused, and for a grant issued to the body's client_id) before
//  anything is written for it: the check only reads, so a request without one
//  costs no row, no audit, no write lock. An op flagged PST_OP_ONCE runs once per
//  request id (mfa_replay), whatever became of the mfa_token since; before its
//  claim, one read transaction holds the lookup of the request id, the mfa_token
//  check and, for an op flagged PST_OP_MAILS, the template's and provider's
//  generations. The reply is always filled; 0 when it succeeded.
int
    mfa_worker_dispatch (void *worker, const pst_op_def_t *op, pst_handler_fn *handler,
                         const pst_msg_t *request, pst_msg_t *reply);

#endif
