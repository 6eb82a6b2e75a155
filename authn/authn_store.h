/*  authn_store - authn.db: the schema, its migrations and every SQL statement
    of authn, with the mapping between rows and the JSON the API shows.

    authn.db holds clients, resource servers (APIs), client grants, users, the
    signing keys, the sign-in throttle, the revocations and the refresh tokens
    (as SHA-256, never the token). Client secrets are stored as SHA-256
    (they are random, 384-bit), user passwords as argon2id PHC strings; callers
    hash, the store only keeps and compares.

    One store per thread (a connection is not shared). Callers never see the
    engine: they speak records, JSON members and ids, and get 0/1/-1 back.

    Implemented by authn_store.c (open, migrations, transactions),
    authn_store_keys.c (the signing keys),
    authn_store_records.c (the records sign-in reads), authn_store_resources.c
    (the Management API resources, described as tables),
    authn_store_throttle.c (sign-in attempt counts),
    authn_store_revocations.c (tokens stopped by deletions) and
    authn_store_refresh.c (refresh tokens, by their hash), over authn_store_sql.c
    (the engine: connection and statement helpers). Only these files speak SQL.
*/
#ifndef AUTHN_STORE_H_INCLUDED
#define AUTHN_STORE_H_INCLUDED

#include "pst_logs.h"
#include <jansson.h>
#include <stdint.h>

#define AUTHN_CONNECTION "Username-Password-Authentication"

typedef struct _authn_store_t authn_store_t;

//  Opens (creating and migrating) the database at location: a SQLite file
//  path, or a postgres:// or postgresql:// URL (tables in the schema "authn"
//  of that database). NULL on failure (logged, never with the location).
authn_store_t *
    authn_store_new (const char *location);
void
    authn_store_destroy (authn_store_t **self_p);
//  The clock the generic inserts and updates stamp created_at and updated_at
//  with, in seconds, as authn_config's now_s (a test's clock); NULL, the
//  default: the wall clock.
void
    authn_store_set_clock (authn_store_t *self, int64_t (*now_s) (void));

//  BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or -1 (on PostgreSQL the begin also
//  queues on authn's lock, so writers of every process take turns). A rollback
//  after the engine already rolled back (after some errors) is a no-op. On
//  PostgreSQL a failed statement ends the transaction: roll back after one.
int
    authn_store_begin (authn_store_t *self);
int
    authn_store_commit (authn_store_t *self);
int
    authn_store_rollback (authn_store_t *self);

//  ---------------------------------------------------------------------------
//  Signing keys, rotated as Auth0 rotates them. The current key signs; the
//  next is published ahead of its turn, so verifiers hold it before it signs;
//  the previous (current before the last rotation) stays published until the
//  rotation after, which revokes it and erases its private half. A key is
//  stored with its certificate and its public JWK (JSON text, what the JWKS
//  shows); the store makes no key itself. Each write below is its own
//  transaction and raises the keys' generation.

//  How many of the current and next keys are missing: 0, 1 or 2; -1 on error.
int
    authn_store_signing_missing (authn_store_t *self);
//  Adds a key as the current one when there is none, else as the next one.
//  0 added, 1 both taken (nothing added), -1 error.
int
    authn_store_signing_add (authn_store_t *self, const char *kid, const char *private_pem,
                             const char *cert_pem, const char *jwk, int64_t now);
//  A published key that has no certificate yet (made before there were any):
//  its kid and private PEM (caller frees both). 0, 1 when there is none, -1
//  on error.
int
    authn_store_signing_uncertified (authn_store_t *self, char **kid_p, char **pem_p);
//  Sets a key's certificate and JWK. 0 or -1.
int
    authn_store_signing_certify (authn_store_t *self, const char *kid, const char *cert_pem,
                                 const char *jwk);
//  The current key: its kid and private PEM (caller frees both), and the
//  generation they belong to. 0, or -1 when there is none (or on error).
int
    authn_store_signing_current (authn_store_t *self, char **kid_p, char **pem_p,
                                 int64_t *generation_p);
//  The keys' generation (one row read), -1 on error.
int64_t
    authn_store_signing_generation (authn_store_t *self);
//  Every key kept, the published ones first (current, next, previous), then
//  the revoked ones (the last three), newest first, without private halves:
//  [{kid, cert, jwk (object, or null before its certificate), current, next,
//  previous, revoked (booleans), current_since, current_until, revoked_at
//  (Unix s, or null)}]. NULL on error.
json_t *
    authn_store_signing_list (authn_store_t *self);
//  Rotates: the previous key is revoked and its private half erased (revoked
//  keys past the last three are deleted), the current becomes the previous
//  (current_until now), the next the current (current_since now), and the
//  key given the next. 0, 1 when there is no next key to rotate to, -1 error.
int
    authn_store_signing_rotate (authn_store_t *self, const char *kid, const char *private_pem,
                                const char *cert_pem, const char *jwk, int64_t now);

//  ---------------------------------------------------------------------------
//  Records read by sign-in and the token endpoint

typedef struct {
    char *client_id;
    char *name;
    char *app_type;
    char *secret_hash;          //  hex SHA-256, NULL for public clients
    char *auth_method;          //  none, client_secret_post, client_secret_basic
    json_t *grant_types;        //  array of strings
    int is_system;              //  the management application
} authn_client_t;

typedef struct {
    char *id;
    char *identifier;
    int token_lifetime;
    int allow_offline_access;
    int is_system;              //  created by Postern itself (Management and MFA APIs)
    json_t *scopes;             //  [{"value": ..., "description": ...}]
} authn_api_t;

typedef struct {
    char *user_id;
    char *email;
    char *password_hash;
    int email_verified;
    char *updated_at;           //  ISO 8601 in UTC, as the Management API shows it
} authn_user_t;

authn_client_t *
    authn_store_client (authn_store_t *self, const char *client_id);
void
    authn_client_destroy (authn_client_t **self_p);
//  The clients that list origins (web_origins or allowed_origins), of
//  client_ids above after ("" or NULL: from the first) in byte order:
//  [{client_id, origins: web_origins then allowed_origins}], at most limit
//  of them and stopping after the one that brings their text to max_bytes.
//  *last_p is the last client_id listed (caller frees; NULL when none),
//  *more_p 1 when the list stopped short. NULL on error.
json_t *
    authn_store_origins (authn_store_t *self, const char *after, size_t max_bytes, int limit,
                         char **last_p, int *more_p);
//  True when grant_type is in the client's grant_types.
int
    authn_client_allows (const authn_client_t *self, const char *grant_type);
//  True when a token_endpoint_auth_method names a public client: one without
//  a secret ("none").
int
    authn_auth_method_is_public (const char *auth_method);
//  True when the client is public.
int
    authn_client_is_public (const authn_client_t *self);

authn_api_t *
    authn_store_api (authn_store_t *self, const char *identifier);
void
    authn_api_destroy (authn_api_t **self_p);
//  1 when the API defines scope word as one of its scopes.
int
    authn_api_defines_scope (const authn_api_t *self, const char *word);

//  Scopes granted to client_id for audience, as a JSON array; NULL when no grant.
json_t *
    authn_store_client_grant_scopes (authn_store_t *self, const char *client_id,
                                     const char *audience);

authn_user_t *
    authn_store_user_by_email (authn_store_t *self, const char *email);
authn_user_t *
    authn_store_user_by_id (authn_store_t *self, const char *user_id);
void
    authn_user_destroy (authn_user_t **self_p);
//  Replaces a user's password hash (rehash on login) and records the login time.
int
    authn_store_user_login (authn_store_t *self, const char *user_id, const char *new_hash,
                            int64_t now);

//  The management application's client_id, or NULL when there is none yet.
//  Caller frees.
char *
    authn_store_system_client (authn_store_t *self);
//  Replaces a client's secret hash, set or not (a resource update only ever
//  sets a missing one). 0 or -1.
int
    authn_store_client_set_secret (authn_store_t *self, const char *client_id,
                                   const char *secret_hash);

//  ---------------------------------------------------------------------------
//  Management API resources. Each is a table whose rows the API shows as JSON
//  objects; the store knows which member is which column.
//
//  Rows written (insert, update) are JSON objects too, with members named as
//  the API names them, plus members the API never shows: a client's
//  secret_hash and is_system, a user's password_hash. Text members take
//  strings (null for none), numbers integers, flags booleans, lists arrays,
//  objects objects (null for none).
//  Creation and update times are the store's to set.

typedef enum {
    AUTHN_CLIENTS,              //  client_id; shows client_id, name, app_type,
                                //  token_endpoint_auth_method, grant_types, is_first_party
    AUTHN_CLIENT_GRANTS,        //  id; shows id, client_id, audience, scope;
                                //  lists by client_id and audience
    AUTHN_RESOURCE_SERVERS,     //  id or identifier; shows id, identifier, name, scopes,
                                //  token_lifetime, allow_offline_access, is_system, signing_alg
    AUTHN_USERS                 //  user_id; shows user_id, email, email_verified, identities,
                                //  created_at, updated_at, last_login, and user_metadata and
                                //  app_metadata when set (objects; null written clears);
                                //  lists by email (without case) and user_id
} authn_resource_t;

//  Up to 1000 rows in creation order, as a JSON array; query members that the
//  resource lists by (strings) narrow it, others are ignored. NULL on error.
json_t *
    authn_store_list (authn_store_t *self, authn_resource_t resource, const json_t *query);
//  A page of that list: the rows after the first offset, at most limit of
//  them. *total_p, when asked, is how many rows match in all. NULL on error.
json_t *
    authn_store_page (authn_store_t *self, authn_resource_t resource, const json_t *query,
                      int64_t offset, int limit, int64_t *total_p);
//  The row id names, as JSON; NULL when there is none (or on error).
json_t *
    authn_store_get (authn_store_t *self, authn_resource_t resource, const char *id);
//  0 inserted, 1 refused by a constraint (a duplicate, a missing reference),
//  -1 error.
int
    authn_store_insert (authn_store_t *self, authn_resource_t resource, const json_t *row);
//  Sets the members of changes on the row id names; members it lacks keep
//  their value, and a client's secret_hash is only ever set when missing.
//  0 (also when no row matched), 1 refused by a constraint, -1 error.
int
    authn_store_update (authn_store_t *self, authn_resource_t resource, const char *id,
                        const json_t *changes);
//  Rows deleted (0 when none matched), or -1 on error. Client grants go with
//  their client and their resource server.
int
    authn_store_delete (authn_store_t *self, authn_resource_t resource, const char *id);

//  ---------------------------------------------------------------------------
//  Sign-in throttling. A key (a user and address pair, or an address) counts
//  sign-in attempts in a fixed window of window_s seconds from its first; the
//  window keeps its start however often the key is tried, so a block always
//  ends with it.

//  Reserves one attempt for key before the password is checked, counting it at
//  once: parallel attempts cannot all pass a check made before any of them was
//  counted. The reservation stands as a failure unless released. When key
//  already holds max_attempts in its window the attempt is refused and not
//  counted, so refusals neither raise the count nor move the window.
//  0 reserved, 1 refused, -1 error; either way *window_start_p is the start of
//  key's window (the window ends at *window_start_p + window_s).
int
    authn_store_login_reserve (authn_store_t *self, const char *key, int max_attempts,
                               int window_s, int64_t now, int64_t *window_start_p);
//  Gives back one attempt reserved in the window that started at window_start:
//  never below zero, and not at all once another window has begun. 0 or -1.
int
    authn_store_login_release (authn_store_t *self, const char *key, int64_t window_start);
//  Forgets key's attempts. 0 or -1.
int
    authn_store_login_succeeded (authn_store_t *self, const char *key);
//  Deletes the keys whose window has ended (window_start + window_s <= now):
//  they count nothing any more. 0 or -1.
int
    authn_store_login_prune (authn_store_t *self, int64_t now, int window_s);

//  ---------------------------------------------------------------------------
//  Revocations: the tokens a deleted client or client grant had been given
//  stop at the gateway, which verifies them itself and never asks authn. A
//  revocation covers the tokens of client_id for audience (NULL: for every
//  audience) issued at or before revoked_at (Unix ms).

//  Records a revocation; one already there for the same client and audience
//  keeps the later time. Revocations older than keep_from (Unix ms), which no
//  token still valid can match, are deleted. 0 or -1.
int
    authn_store_revoke (authn_store_t *self, const char *client_id, const char *audience,
                        int64_t revoked_at, int64_t keep_from);
//  Up to limit revocations no older than keep_from, of ids above after, in id
//  order: a JSON array of {client_id, audience (null: every audience),
//  revoked_at}. *last_p is the last id listed (after when none). NULL on error.
json_t *
    authn_store_revocations (authn_store_t *self, int64_t after, int64_t keep_from, int limit,
                             int64_t *last_p);
//  revoked_at of the revocation for exactly client_id and audience; 0 when
//  there is none, -1 on error.
int64_t
    authn_store_revoked_at (authn_store_t *self, const char *client_id, const char *audience);
//  The longest token lifetime of the system APIs (the tokens the gateway
//  verifies), in seconds; -1 on error.
int
    authn_store_system_lifetime_max (authn_store_t *self);

//  ---------------------------------------------------------------------------
//  Refresh tokens, kept as the hex SHA-256 of the token (the caller hashes).
//  A family is every token rotated from one sign-in; they share its absolute
//  expiry and its scope.

typedef struct {
    char *family_id;
    char *user_id;
    char *client_id;
    char *audience;
    char *scope;
    int64_t auth_time;          //  when the password was checked, Unix s (0: unknown)
    int64_t created_at;         //  Unix s, as every time below
    int64_t last_used_at;
    int64_t expires_at;         //  absolute: the family's
    int64_t idle_expires_at;    //  unless used before
    int64_t rotated_at;         //  0 while it is its family's live token
    int64_t revoked_at;         //  0 unless its family was revoked
} authn_refresh_token_t;

void
    authn_refresh_token_destroy (authn_refresh_token_t **self_p);
//  Stores token under token_hash (rotated_at and revoked_at are not read). 0 or -1.
int
    authn_store_refresh_add (authn_store_t *self, const char *token_hash,
                             const authn_refresh_token_t *token);
//  The token stored under token_hash: 0 found (*token_p, caller destroys), 1
//  none, -1 error.
int
    authn_store_refresh_find (authn_store_t *self, const char *token_hash,
                              authn_refresh_token_t **token_p);
//  Marks a live token rotated (exchanged) at now. 0 done, 1 it was not live
//  (rotated or revoked already), -1 error.
int
    authn_store_refresh_rotate (authn_store_t *self, const char *token_hash, int64_t now);
//  Revokes every token of a family (those revoked already keep their time). 0 or -1.
int
    authn_store_refresh_revoke_family (authn_store_t *self, const char *family_id, int64_t now);
//  Deletes every token of a user (the user goes). 0 or -1.
int
    authn_store_refresh_forget_user (authn_store_t *self, const char *user_id);
//  Deletes the families that can no longer be used: past their absolute
//  expiry, or whose newest token is past its idle expiry. 0 or -1.
int
    authn_store_refresh_prune (authn_store_t *self, int64_t now);

//  ---------------------------------------------------------------------------
//  The audit log of sign-ins and token exchanges (authn_audit writes it,
//  authn_logs reads it). Never a secret in a row.

typedef struct {
    const char *type;           //  Auth0's event code: s, fp, seccft ...
    const char *user_id;        //  the rest may be NULL
    const char *user_name;
    const char *client_id;
    const char *ip;
    const char *result;         //  "success" or "failure"
    const char *detail;
    int64_t created_at;         //  Unix ms
} authn_audit_row_t;

//  Adds a row (inside the caller's transaction, if any). 0 or -1.
int
    authn_store_audit_insert (authn_store_t *self, const authn_audit_row_t *row);
//  The rows filter asks for (pst_logs.h), as pst_logs_row makes them (tagged
//  PST_LOGS_TAG_AUTHN), and the count of all that match when filter->totals.
//  0, or -1 on error.
int
    authn_store_audit_page (authn_store_t *self, const pst_logs_filter_t *filter,
                            json_t **rows_p, int64_t *total_p);
//  Deletes at most limit rows older than cutoff (Unix ms), oldest first: the
//  rows deleted, or -1.
int
    authn_store_audit_prune (authn_store_t *self, int64_t cutoff, int limit);

#endif
