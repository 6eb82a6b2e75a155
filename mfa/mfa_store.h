/*  mfa_store - mfa's database: the schema, its migrations and every SQL
    statement of mfa, on SQLite (mfa.db) or PostgreSQL (schema "mfa"), through
    pst_sql. Nothing outside mfa_store*.c sees which.

    One store per thread (a connection is not shared). Secrets never reach
    the database in clear: mfa_tokens, oob_codes and recovery codes are kept as
    SHA-256, email codes as HMAC-SHA-256 under a key that lives outside it (S8),
    cached replies and otp secrets sealed. Callers hash and seal; the store only
    compares and counts.

    Times are Unix milliseconds passed in by the caller, so a test clock drives
    every expiry and every bucket.
*/
#ifndef MFA_STORE_H_INCLUDED
#define MFA_STORE_H_INCLUDED

#include "pst_logs.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _mfa_store_t mfa_store_t;

//  A token bucket: capacity tokens, one more every refill_ms.
typedef struct {
    int capacity;
    int64_t refill_ms;
} mfa_bucket_rule_t;

//  Bucket kinds
#define MFA_BUCKET_FAIL     "fail"
#define MFA_BUCKET_SEND     "send"
#define MFA_BUCKET_RECOVERY "recovery"

//  One audit row. ip, client_id and detail may be NULL. Never a secret.
typedef struct {
    const char *type;           //  gd_auth_succeed, gd_auth_failed, fn ...
    const char *user_id;
    const char *client_id;
    const char *ip;
    const char *result;         //  "success" or "failure"
    const char *detail;
} mfa_audit_t;

//  Opens (creating and migrating) the database at location: a SQLite file
//  path or a postgres:// (postgresql://) URL. NULL on failure (logged, never
//  with the URL).
mfa_store_t *
    mfa_store_new (const char *location);
void
    mfa_store_destroy (mfa_store_t **self_p);
//  Lets the connection keep up to kib KiB of pages in its cache (SQLite's
//  default is 2,000). SQLite keeps a connection's cache from one transaction to
//  the next only while no other connection has written: worth it for the
//  writer's connection alone, the one that writes nearly every commit. Nothing
//  on PostgreSQL. 0, or -1 when the connection refused.
int
    mfa_store_cache_pages (mfa_store_t *self, int kib);

//  BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or -1.
int
    mfa_store_begin (mfa_store_t *self);
int
    mfa_store_commit (mfa_store_t *self);
int
    mfa_store_rollback (mfa_store_t *self);
//  A read transaction: the reads until mfa_store_read_end see one snapshot and
//  pay for one start and end of a transaction instead of one each. On SQLite a
//  deferred BEGIN; nothing on PostgreSQL, where it would cost two round trips
//  more than it saves, and each read stays its own transaction. Never around a
//  write, nor a wait for other runs' writes: the snapshot would not see them.
//  0, or -1 when none began (PostgreSQL, a transaction already open, an error):
//  the reads then run as they would without it.
int
    mfa_store_read_begin (mfa_store_t *self);
//  Ends the read transaction mfa_store_read_begin began, if it did; nothing
//  otherwise, so never a transaction of anyone else's.
void
    mfa_store_read_end (mfa_store_t *self);
//  1 inside a transaction that can still commit, 0 in autocommit or when the
//  transaction is lost: SQLite ends one by itself after some errors (a full
//  disk, an I/O error); PostgreSQL refuses every statement after any failed
//  one, until ROLLBACK or mfa_store_rollback_to.
int
    mfa_store_in_transaction (mfa_store_t *self);
//  SAVEPOINT / RELEASE / ROLLBACK TO, so that one unit of a shared transaction
//  (mfa_writer) undoes only its own writes. 0 or -1.
int
    mfa_store_savepoint (mfa_store_t *self);
int
    mfa_store_release (mfa_store_t *self);
//  Undoes the writes since the savepoint and releases it; a transaction that a
//  failed statement since the savepoint had stopped (PostgreSQL) goes on.
int
    mfa_store_rollback_to (mfa_store_t *self);

//  ---------------------------------------------------------------------------
//  Factors and policies

//  1 enabled, 0 disabled, -1 unknown factor or error.
int
    mfa_store_factor_enabled (mfa_store_t *self, const char *name);
//  0, or -1 when the factor is unknown.
int
    mfa_store_factor_set (mfa_store_t *self, const char *name, int enabled);
//  [{"name","enabled"}] in the documented order; NULL on error.
json_t *
    mfa_store_factors (mfa_store_t *self);
//  Array of policy names; NULL on error.
json_t *
    mfa_store_policies (mfa_store_t *self);
//  Replaces the policies with the strings of names (an array). 0 or -1.
int
    mfa_store_policies_set (mfa_store_t *self, const json_t *names);
//  1 when name is a policy, 0 if not, -1 on error.
int
    mfa_store_policy_has (mfa_store_t *self, const char *name);

//  ---------------------------------------------------------------------------
//  mfa_tokens, by SHA-256 hex of the token

//  fields: user_id, client_id (required), email, client_name, audience, scope,
//  client_auth_method, client_secret_hash.
int
    mfa_store_token_insert (mfa_store_t *self, const char *token_hash,
                            const json_t *fields, int64_t expires_at, int64_t now);
//  {"user_id","email","client_id","client_name","audience","scope",
//  "client_auth_method","client_secret_hash" (strings or null), "expires_at" int,
//  "used" bool, "voided"? true, "created_at" int}, or NULL when unknown.
json_t *
    mfa_store_token_get (mfa_store_t *self, const char *token_hash);
//  Marks the token used: 1 when this call did it, 0 when it was already used.
int
    mfa_store_token_use (mfa_store_t *self, const char *token_hash);
//  Voids every live (unused, unexpired) token of the client: its credentials
//  changed, or it is gone. Such a token reads "used" and "voided". The number
//  of tokens, or -1.
int
    mfa_store_tokens_void_client (mfa_store_t *self, const char *client_id, int64_t now);

//  ---------------------------------------------------------------------------
//  Authenticators and recovery codes

//  The user's authenticators, oldest first: [{"id","type","email","active",
//  "created_at" (Unix ms)}]; NULL on error.
json_t *
    mfa_store_authenticators (mfa_store_t *self, const char *user_id);
//  1 when the user has an active authenticator of type (NULL: any type), 0 if not.
int
    mfa_store_has_active (mfa_store_t *self, const char *user_id, const char *type);
//  1 when the user has an active second factor (any type but recovery-code),
//  0 if not, -1 on error.
int
    mfa_store_has_second_factor (mfa_store_t *self, const char *user_id);
int
    mfa_store_authenticator_insert (mfa_store_t *self, const char *id, const char *user_id,
                                    const char *type, const char *email, int active,
                                    int64_t now);
//  1 when an authenticator of that id exists (active or not), 0 when not, -1 on error.
int
    mfa_store_authenticator_exists (mfa_store_t *self, const char *id);
//  Deletes the user's inactive authenticators of type and voids their challenges.
int
    mfa_store_authenticator_drop_inactive (mfa_store_t *self, const char *user_id,
                                           const char *type);
//  Deletes the user's authenticator id and voids its unfinished challenges; a
//  recovery-code authenticator takes the user's recovery code with it.
//  1 deleted, 0 the user has no authenticator id, -1 error.
int
    mfa_store_authenticator_delete (mfa_store_t *self, const char *user_id, const char *id);
//  The user whose email or otp authenticator id is (a Guardian enrollment):
//  caller frees; NULL when there is none, or on error (*failed set to 1).
char *
    mfa_store_enrollment_owner (mfa_store_t *self, const char *id, int *failed);
//  Deletes all the user's authenticators and the recovery code and voids their
//  unfinished challenges. Returns how many authenticators went, or -1.
int
    mfa_store_authenticators_delete_all (mfa_store_t *self, const char *user_id);
//  Activates authenticator id and the user's recovery-code authenticator.
//  1 when id was inactive before (an enrolment), 0 when already active, -1 error.
int
    mfa_store_authenticator_activate (mfa_store_t *self, const char *user_id, const char *id);

//  Stores the SHA-256 hex of the user's only recovery code, replacing any other.
int
    mfa_store_recovery_set (mfa_store_t *self, const char *user_id, const char *code_hash,
                            int64_t now);
//  1 when code_hash is the user's recovery code (constant-time compare), 0 if not.
int
    mfa_store_recovery_check (mfa_store_t *self, const char *user_id, const char *code_hash);

//  ---------------------------------------------------------------------------
//  otp authenticators: the secret is stored sealed by the caller (never in
//  clear), with the last time step it accepted

typedef struct {
    char id [64];
    uint8_t sealed [128];
    size_t sealed_size;
    int64_t last_step;          //  -1 before the first code
    int active;
} mfa_totp_row_t;

//  New inactive otp authenticator holding the sealed secret. 0 or -1.
int
    mfa_store_totp_insert (mfa_store_t *self, const char *id, const char *user_id,
                           const uint8_t *sealed, size_t size, int64_t now);
//  The user's otp authenticator (the active one, else the newest): 1 and row
//  filled, 0 none, -1 error (or a stored secret too long to be ours).
int
    mfa_store_totp_get (mfa_store_t *self, const char *user_id, mfa_totp_row_t *row);
//  Records step as the authenticator's last used one, in one statement, if it
//  is later than the last: 1 recorded, 0 refused (used already, or older), -1 error.
int
    mfa_store_totp_use_step (mfa_store_t *self, const char *id, int64_t step);
//  Spends one otp guess of the mfa_token, in one statement: 1 granted, 0 the
//  token has had max already, -1 error.
int
    mfa_store_token_otp_attempt (mfa_store_t *self, const char *token_hash, int max);

//  ---------------------------------------------------------------------------
//  Challenges: state sending -> pending -> used, or superseded / void

typedef struct {
    int64_t id;
    char user_id [257];
    char authenticator_id [64];
    char token_hash [65];       //  the mfa_token that asked for it
    char state [16];
    int64_t expires_at;
    int attempts;
} mfa_challenge_t;

//  New challenge in state (pending once a mailer holds its code, void when
//  none took it); returns its id, or -1.
int64_t
    mfa_store_challenge_insert (mfa_store_t *self, const char *oob_hash, const char *user_id,
                                const char *authenticator_id, const char *token_hash,
                                const char *code_hmac, const char *state, int64_t expires_at,
                                int64_t now);
//  1 found (challenge filled), 0 unknown, -1 error.
int
    mfa_store_challenge_get (mfa_store_t *self, const char *oob_hash, mfa_challenge_t *challenge);
//  Moves challenge id from state `from` to `to`: 1 moved, 0 it was not in `from`.
int
    mfa_store_challenge_move (mfa_store_t *self, int64_t id, const char *from, const char *to);
//  Supersedes the authenticator's pending challenges other than except_id (S7).
//  Returns how many, or -1.
int
    mfa_store_challenge_supersede (mfa_store_t *self, const char *authenticator_id,
                                   int64_t except_id);
//  Spends one attempt of a pending, unexpired challenge with fewer than max
//  attempts, in one statement (S4). 1 and code_hmac filled when granted, 0 when
//  refused, -1 on error.
int
    mfa_store_challenge_attempt (mfa_store_t *self, int64_t id, int max, int64_t now,
                                 char code_hmac [65]);

//  ---------------------------------------------------------------------------
//  Per-user token buckets

//  Pure bucket arithmetic: brings (level, stamp) forward to now under rule.
void
    mfa_bucket_advance (const mfa_bucket_rule_t *rule, int *level, int64_t *stamp, int64_t now);

//  Tokens left in the user's bucket now (full for a new user); -1 on error.
//  *retry_after_s (if given) is the wait in seconds for the next token when empty.
int
    mfa_store_bucket_level (mfa_store_t *self, const char *user_id, const char *kind,
                            const mfa_bucket_rule_t *rule, int64_t now, int *retry_after_s);
//  Takes one token: 1 taken, 0 empty (then *retry_after_s is set), -1 error.
int
    mfa_store_bucket_take (mfa_store_t *self, const char *user_id, const char *kind,
                           const mfa_bucket_rule_t *rule, int64_t now, int *retry_after_s);
//  Fills the user's bucket to capacity.
int
    mfa_store_bucket_fill (mfa_store_t *self, const char *user_id, const char *kind,
                           const mfa_bucket_rule_t *rule, int64_t now);

//  ---------------------------------------------------------------------------
//  Mail jobs (state only: the message, which holds the code, never lands here)

#define MFA_JOB_STATE_SIZE  16

//  The job of challenge_id, for user_id, in state; when the mailer's result
//  was recorded first (mfa_store_job_result_first) its row keeps that result
//  and gains the challenge and user. held gets the state the row holds after;
//  *detail_p (if given) its detail, caller frees. 0, or -1 on error.
int
    mfa_store_job_put (mfa_store_t *self, const char *job_id, int64_t challenge_id,
                       const char *user_id, const char *state, int64_t now,
                       char held [MFA_JOB_STATE_SIZE], char **detail_p);
//  A mailer's result for a job whose challenge is not recorded yet
//  (mfa_job_id_settling): a row with no challenge and no user, which
//  mfa_store_job_put completes. A row already there is left as it is. 0 or -1.
int
    mfa_store_job_result_first (mfa_store_t *self, const char *job_id, const char *state,
                                const char *detail, int64_t now);
//  Sets the job's state and detail; *user_id_p (if given) gets the job's user,
//  caller frees. 1 updated, 0 unknown job, -1 error.
int
    mfa_store_job_update (mfa_store_t *self, const char *job_id, const char *state,
                          const char *detail, int64_t now, char **user_id_p);

//  ---------------------------------------------------------------------------
//  Audit log

int
    mfa_store_audit (mfa_store_t *self, const mfa_audit_t *event, int64_t now);
//  The `fn` event (a failed notification) of user_id's mail job that ended in
//  state, with the mailer's detail: only for failed and expired (sent and
//  cancelled are no failure). 0, or -1 on error.
int
    mfa_store_audit_mail_end (mfa_store_t *self, const char *user_id, const char *state,
                              const char *detail, int64_t now);

//  Unix ms as UTC ISO 8601 with milliseconds ("2024-01-15T10:30:00.000Z"), the
//  form of audit times and of the Management API's created_at.
#define MFA_ISO8601_SIZE    40
void
    mfa_store_iso8601 (int64_t ms, char out [MFA_ISO8601_SIZE]);
//  Number of audit rows of type (NULL: all) for user (NULL: all); -1 on error.
int
    mfa_store_audit_count (mfa_store_t *self, const char *type, const char *user_id);
//  The audit rows filter asks for (pst_logs.h), as pst_logs_row makes them
//  (tagged PST_LOGS_TAG_MFA), into *rows_p, and the count of all that match
//  when filter->totals. 0, or -1 on error.
int
    mfa_store_audit_page (mfa_store_t *self, const pst_logs_filter_t *filter, json_t **rows_p,
                          int64_t *total_p);

//  ---------------------------------------------------------------------------
//  Reply cache for retried requests (S26): the reply is stored sealed.

//  Claims request_id: 1 claimed (run the operation), 0 someone has it (look it up).
//  A claim older than stale_ms is taken over. -1 on error.
int
    mfa_store_reply_claim (mfa_store_t *self, const char *request_id, const char *op,
                           int64_t now, int64_t stale_ms);
//  1 done (*sealed_p, *size_p: caller frees), 0 still running, -2 no such claim,
//  -1 error.
int
    mfa_store_reply_lookup (mfa_store_t *self, const char *request_id, const char *op,
                            uint8_t **sealed_p, size_t *size_p);
int
    mfa_store_reply_save (mfa_store_t *self, const char *request_id, const char *op,
                          const uint8_t *sealed, size_t size);
//  Keeps a reply for a request id nobody claimed (a refusal given before the
//  run wrote anything); a claim or reply already there wins. 0 or -1.
int
    mfa_store_reply_put (mfa_store_t *self, const char *request_id, const char *op,
                         const uint8_t *sealed, size_t size, int64_t now);
//  Forgets a claim so a retry runs the operation again.
int
    mfa_store_reply_release (mfa_store_t *self, const char *request_id, const char *op);

//  Rows of each table one prune deletes at most, so a backlog (a database from
//  before retention, a shortened retention, a day of a million sign-ins after
//  a pause) goes in slices over the next sign-ins instead of holding the write
//  lock through one long delete.
#define MFA_PRUNE_BATCH         1000

//  Deletes expired tokens, old challenges, old mail jobs, old cached replies and
//  audit rows older than audit_retention_days (0: keeps every audit row).
int
    mfa_store_prune (mfa_store_t *self, int64_t now, int audit_retention_days);

//  ---------------------------------------------------------------------------
//  Mail checks (mail.check, S22)

//  1 when the job's code can still complete its challenge: the challenge is
//  pending and expires_at is after now. 0 when it cannot (used, superseded,
//  void, expired, or no such job), -1 on error. *known_p: 1 when the job has
//  a row, 0 when not (the caller tells a job not recorded yet from one never
//  ours: mfa_job_id_settling).
int
    mfa_store_job_live (mfa_store_t *self, const char *job_id, int64_t now, int *known_p);

//  ---------------------------------------------------------------------------
//  Mail as data: the Management API's email templates and email provider, each
//  kept as a JSON document with a generation that counts its saves (0: none
//  stored), so that a reader knows with one cheap read whether its copy is
//  still current, whichever instance saved

//  The generations of the stored template `name` and of the provider, in one
//  read (0 for one not stored). 0 or -1.
int
    mfa_store_mail_generations (mfa_store_t *self, const char *name,
                                int64_t *template_generation, int64_t *provider_generation);
//  The stored template's document (caller decrefs), *generation_p its
//  generation; NULL when none is stored, or on error (then *failed_p is 1).
json_t *
    mfa_store_template_get (mfa_store_t *self, const char *name, int64_t *generation_p,
                            int *failed_p);
//  Stores document as template `name`, replacing the one there, and counts its
//  generation up, in one statement. 0 or -1.
int
    mfa_store_template_put (mfa_store_t *self, const char *name, const json_t *document,
                            int64_t now);
//  The provider's document (caller decrefs) and generation, and its sealed
//  password when sealed_p is given (*sealed_p NULL when none; caller frees).
//  NULL when none is stored, or on error (*failed_p 1).
json_t *
    mfa_store_provider_get (mfa_store_t *self, int64_t *generation_p, uint8_t **sealed_p,
                            size_t *sealed_size_p, int *failed_p);
//  Stores the provider's document and its sealed password (NULL, 0: none),
//  counting the generation up. insert 1: only when none is stored (1 stored,
//  0 one was there); 0: only over the stored one (1 stored, 0 none there).
//  -1 on error.
int
    mfa_store_provider_put (mfa_store_t *self, int insert, const json_t *document,
                            const uint8_t *sealed, size_t sealed_size, int64_t now);

#endif
