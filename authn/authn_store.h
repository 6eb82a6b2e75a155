/*  authn_store - authn's SQLite schema and the lookups the token endpoint needs.

    authn.db holds clients, resource servers (APIs), client grants, users and the
    signing keys. Client secrets are stored as SHA-256 (they are random, 384-bit),
    user passwords as argon2id PHC strings.
*/
#ifndef AUTHN_STORE_H_INCLUDED
#define AUTHN_STORE_H_INCLUDED

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#define AUTHN_CONNECTION "Username-Password-Authentication"

typedef struct {
    char *client_id;
    char *name;
    char *app_type;
    char *secret_hash;          //  hex SHA-256, NULL for public clients
    char *auth_method;          //  none, client_secret_post, client_secret_basic
    json_t *grant_types;        //  array of strings
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
} authn_user_t;

//  Opens and migrates authn.db.
sqlite3 *
    authn_store_open (const char *path);

authn_client_t *
    authn_store_client (sqlite3 *db, const char *client_id);
void
    authn_client_destroy (authn_client_t **self_p);
//  True when grant_type is in the client's grant_types.
int
    authn_client_allows (const authn_client_t *self, const char *grant_type);

authn_api_t *
    authn_store_api (sqlite3 *db, const char *identifier);
void
    authn_api_destroy (authn_api_t **self_p);

//  1 when the API defines scope word as one of its scopes.
int
    authn_api_defines_scope (const authn_api_t *self, const char *word);

//  Scopes granted to client_id for audience, as a JSON array; NULL when no grant.
json_t *
    authn_store_client_grant_scopes (sqlite3 *db, const char *client_id, const char *audience);

authn_user_t *
    authn_store_user_by_email (sqlite3 *db, const char *email);
authn_user_t *
    authn_store_user_by_id (sqlite3 *db, const char *user_id);
void
    authn_user_destroy (authn_user_t **self_p);
//  Replaces a user's password hash (rehash on login) and records the login time.
int
    authn_store_user_login (sqlite3 *db, const char *user_id, const char *new_hash, int64_t now);

//  The current signing key, created on first use. Caller frees both strings.
int
    authn_store_signing_key (sqlite3 *db, char **kid_p, char **pem_p);

//  Sign-in throttling. A key (a user and address pair, or an address) counts
//  sign-in attempts in a fixed window of window_s seconds from its first; the
//  window keeps its start however often the key is tried, so a block always
//  ends with it.
//
//  Reserves one attempt for key before the password is checked, counting it at
//  once: parallel attempts cannot all pass a check made before any of them was
//  counted. The reservation stands as a failure unless released. When key
//  already holds max_attempts in its window the attempt is refused and not
//  counted, so refusals neither raise the count nor move the window.
//  0 reserved, 1 refused, -1 error; either way *window_start_p is the start of
//  key's window (the window ends at *window_start_p + window_s).
int
    authn_store_login_reserve (sqlite3 *db, const char *key, int max_attempts, int window_s,
                               int64_t now, int64_t *window_start_p);
//  Gives back one attempt reserved in the window that started at window_start:
//  never below zero, and not at all once another window has begun. 0 or -1.
int
    authn_store_login_release (sqlite3 *db, const char *key, int64_t window_start);
//  Forgets key's attempts. 0 or -1.
int
    authn_store_login_succeeded (sqlite3 *db, const char *key);
//  Deletes the keys whose window has ended (window_start + window_s <= now):
//  they count nothing any more. 0 or -1.
int
    authn_store_login_prune (sqlite3 *db, int64_t now, int window_s);

#endif
