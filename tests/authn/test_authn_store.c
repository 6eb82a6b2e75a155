//  authn_store and authn_config: the schema, the lookups the token endpoint relies
//  on, the Management API's resources, the signing keys' rotation, sign-in
//  throttling, and configuration from the environment.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "authn_admin.h"
#include "authn_config.h"
#include "authn_store.h"
#include "authn_store_sql.h"
#include "pst_crypto.h"
#include "test_db.h"

static char s_dir [64];
static char s_path [128];
static char *s_location;        //  s_path, or a PostgreSQL database in the pg run

//  A connection of the test's own, to look at what the store wrote: a store
//  of its own, whose engine the test reaches through authn_store_sql.h
static authn_store_t *
s_look (void)
{
    authn_store_t *look = authn_store_new (s_location);
    assert_non_null (look);
    return look;
}

//  Runs SQL without rows on a connection of the test's own
static void
s_look_exec (const char *sql)
{
    authn_store_t *look = s_look ();
    assert_int_equal (pst_sql_exec (look->sql, sql), 0);
    authn_store_destroy (&look);
}

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-authn-store-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/authn.db", s_dir);
    s_location = test_db_location (s_path);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    free (s_location);
    s_location = NULL;
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  The row of kid in a signing key list; NULL when it is not there
static json_t *
s_key_in (json_t *list, const char *kid)
{
    size_t index;
    json_t *key;
    json_array_foreach (list, index, key)
        if (strcmp (json_string_value (json_object_get (key, "kid")), kid) == 0)
            return key;
    return NULL;
}

static int
s_flag (json_t *list, const char *kid, const char *flag)
{
    json_t *key = s_key_in (list, kid);
    assert_non_null (key);
    return json_is_true (json_object_get (key, flag));
}

static int
s_look_int (const char *sql)
{
    authn_store_t *look = s_look ();
    pst_sql_stmt_t *stmt = pst_sql_query (look->sql, sql, NULL);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_step (stmt), 1);
    int value = (int) pst_sql_int64 (stmt, 0);
    pst_sql_done (stmt);
    authn_store_destroy (&look);
    return value;
}

//  A stored key: made by the caller, kept with its certificate and JWK
static int
s_add_key (authn_store_t *store, const char *kid)
{
    char jwk [64];
    snprintf (jwk, sizeof jwk, "{\"kid\":\"%s\"}", kid);
    return authn_store_signing_add (store, kid, "PEM-OF-KEY", "CERT", jwk, 100);
}

//  Auth0's rotation: current and next, then next becomes current, current
//  previous, previous revoked with its private half erased; every change
//  raises the generation another connection reads
static void
test_signing_keys_rotation (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);
    assert_non_null (store);
    char *kid = NULL, *pem = NULL;
    int64_t generation = 0;
    assert_int_equal (authn_store_signing_missing (store), 2);
    assert_int_equal (authn_store_signing_current (store, &kid, &pem, &generation), -1);
    int64_t start = authn_store_signing_generation (store);
    assert_true (start > 0);

    assert_int_equal (s_add_key (store, "key-a"), 0);
    assert_int_equal (authn_store_signing_missing (store), 1);
    assert_int_equal (s_add_key (store, "key-b"), 0);
    assert_int_equal (authn_store_signing_missing (store), 0);
    assert_int_equal (s_add_key (store, "key-c"), 1);
    assert_int_equal (authn_store_signing_generation (store), start + 2);
    assert_int_equal (authn_store_signing_current (store, &kid, &pem, &generation), 0);
    assert_string_equal (kid, "key-a");
    assert_string_equal (pem, "PEM-OF-KEY");
    assert_int_equal (generation, start + 2);
    free (kid);
    free (pem);
    json_t *list = authn_store_signing_list (store);
    assert_int_equal (json_array_size (list), 2);
    assert_true (s_flag (list, "key-a", "current"));
    assert_true (s_flag (list, "key-b", "next"));
    assert_false (s_flag (list, "key-b", "current"));
    assert_string_equal (json_string_value (json_object_get (s_key_in (list, "key-a"), "cert")), "CERT");
    assert_string_equal (json_string_value (json_object_get (json_object_get (
        s_key_in (list, "key-a"), "jwk"), "kid")), "key-a");
    assert_int_equal (json_integer_value (json_object_get (s_key_in (list, "key-a"), "current_since")), 100);
    assert_true (json_is_null (json_object_get (s_key_in (list, "key-b"), "current_since")));
    assert_null (json_object_get (s_key_in (list, "key-a"), "private_pem"));
    json_decref (list);

    assert_int_equal (authn_store_signing_rotate (store, "key-c", "PEM-C", "CERT-C", "{}", 1000), 0);
    assert_int_equal (authn_store_signing_generation (store), start + 3);
    list = authn_store_signing_list (store);
    //  Published first: current, next, previous
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "kid")), "key-b");
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 1), "kid")), "key-c");
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 2), "kid")), "key-a");
    assert_true (s_flag (list, "key-b", "current"));
    assert_true (s_flag (list, "key-c", "next"));
    assert_true (s_flag (list, "key-a", "previous"));
    assert_false (s_flag (list, "key-a", "revoked"));
    assert_int_equal (json_integer_value (json_object_get (s_key_in (list, "key-a"), "current_until")), 1000);
    assert_int_equal (json_integer_value (json_object_get (s_key_in (list, "key-b"), "current_since")), 1000);
    json_decref (list);

    //  Another connection, as another worker, sees the rotation at once
    authn_store_t *other = authn_store_new (s_location);
    assert_int_equal (authn_store_signing_generation (other), start + 3);
    assert_int_equal (authn_store_signing_current (other, &kid, &pem, &generation), 0);
    assert_string_equal (kid, "key-b");
    free (kid);
    free (pem);

    assert_int_equal (authn_store_signing_rotate (store, "key-d", "PEM-D", "CERT-D", "{}", 2000), 0);
    list = authn_store_signing_list (other);
    assert_int_equal (json_array_size (list), 4);
    assert_true (s_flag (list, "key-a", "revoked"));
    assert_false (s_flag (list, "key-a", "previous"));
    assert_int_equal (json_integer_value (json_object_get (s_key_in (list, "key-a"), "revoked_at")), 2000);
    assert_true (s_flag (list, "key-b", "previous"));
    assert_true (s_flag (list, "key-c", "current"));
    assert_true (s_flag (list, "key-d", "next"));
    json_decref (list);
    //  A revoked key can never sign again: its private half is gone
    assert_int_equal (s_look_int ("SELECT length (private_pem) FROM signing_keys WHERE kid = 'key-a'"), 0);

    //  The last three revoked keys are kept
    const char *more [] = { "key-e", "key-f", "key-g", "key-h" };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (authn_store_signing_rotate (store, more [i], "PEM", "CERT", "{}",
                                                      3000 + (int64_t) i), 0);
    list = authn_store_signing_list (store);
    assert_int_equal (json_array_size (list), 6);
    assert_null (s_key_in (list, "key-a"));
    assert_null (s_key_in (list, "key-b"));
    assert_true (s_flag (list, "key-c", "revoked"));
    assert_true (s_flag (list, "key-f", "previous"));
    assert_true (s_flag (list, "key-g", "current"));
    assert_true (s_flag (list, "key-h", "next"));
    json_decref (list);
    authn_store_destroy (&other);

    //  A key from before certificates (as after the migration): found, then certified
    s_look_exec ("UPDATE signing_keys SET cert_pem = NULL, jwk = NULL WHERE is_current = 1");
    assert_int_equal (authn_store_signing_uncertified (store, &kid, &pem), 0);
    assert_string_equal (kid, "key-g");
    assert_string_equal (pem, "PEM");
    int64_t before = authn_store_signing_generation (store);
    assert_int_equal (authn_store_signing_certify (store, kid, "CERT-G", "{\"kid\":\"key-g\"}"), 0);
    assert_true (authn_store_signing_generation (store) > before);
    free (kid);
    free (pem);
    assert_int_equal (authn_store_signing_uncertified (store, &kid, &pem), 1);
    assert_null (kid);
    authn_store_destroy (&store);
}

static void
test_clients_and_grants (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);
    json_t *grants = json_pack ("[s, s]", "password", "client_credentials");
    char *client_id = NULL, *secret = NULL;
    assert_int_equal (authn_admin_insert_client (store, "App", "regular_web", "client_secret_post",
                                                 grants, 0, &client_id, &secret), 0);
    json_decref (grants);
    assert_int_equal (strlen (client_id), 32);
    assert_int_equal (strlen (secret), 64);

    authn_client_t *client = authn_store_client (store, client_id);
    assert_non_null (client);
    assert_string_equal (client->name, "App");
    assert_false (client->is_system);
    assert_true (authn_client_allows (client, "password"));
    assert_true (authn_client_allows (client, "client_credentials"));
    assert_false (authn_client_allows (client, "http://auth0.com/oauth/grant-type/mfa-oob"));
    assert_false (authn_client_allows (client, "pass"));
    //  the secret is stored only as its SHA-256
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    assert_string_equal (client->secret_hash, hash);
    authn_client_destroy (&client);
    assert_null (client);
    assert_null (authn_store_client (store, "no-such-client"));

    //  a public client has no secret at all
    grants = json_pack ("[s]", "password");
    char *public_id = NULL, *public_secret = NULL;
    assert_int_equal (authn_admin_insert_client (store, "SPA", "spa", "none", grants, 0,
                                                 &public_id, &public_secret), 0);
    json_decref (grants);
    assert_null (public_secret);
    client = authn_store_client (store, public_id);
    assert_null (client->secret_hash);
    authn_client_destroy (&client);

    json_t *row = json_pack ("{s:s, s:s, s:s, s:[], s:i}", "id", "rs1",
        "identifier", "https://api.example", "name", "API", "scopes", "token_lifetime", 600);
    assert_int_equal (authn_store_insert (store, AUTHN_RESOURCE_SERVERS, row), 0);
    json_decref (row);
    authn_api_t *api = authn_store_api (store, "https://api.example");
    assert_non_null (api);
    assert_int_equal (api->token_lifetime, 600);
    authn_api_destroy (&api);
    assert_null (authn_store_api (store, "https://api.example/"));

    assert_null (authn_store_client_grant_scopes (store, client_id, "https://api.example"));
    row = json_pack ("{s:s, s:s, s:s, s:[s, s]}", "id", "g1", "client_id", client_id,
                     "audience", "https://api.example", "scope", "read:a", "write:b");
    assert_int_equal (authn_store_insert (store, AUTHN_CLIENT_GRANTS, row), 0);
    json_decref (row);
    json_t *scopes = authn_store_client_grant_scopes (store, client_id, "https://api.example");
    assert_non_null (scopes);
    assert_int_equal (json_array_size (scopes), 2);
    json_decref (scopes);

    //  deleting the client deletes its grants (foreign keys are on)
    assert_int_equal (authn_store_delete (store, AUTHN_CLIENTS, client_id), 1);
    assert_null (authn_store_client_grant_scopes (store, client_id, "https://api.example"));
    assert_int_equal (s_look_int ("SELECT count(*) FROM client_grants"), 0);
    authn_store_destroy (&store);
    free (client_id); free (secret); free (public_id);
}

static void
test_users (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);
    char *hash = pst_password_hash ("a fine password");
    json_t *row = json_pack ("{s:s, s:s, s:s, s:b}", "user_id", "auth0|1",
        "email", "Mixed@Example.com", "password_hash", hash, "email_verified", 1);
    assert_int_equal (authn_store_insert (store, AUTHN_USERS, row), 0);
    json_decref (row);

    //  addresses compare case-insensitively, as with Auth0's database connection
    authn_user_t *user = authn_store_user_by_email (store, "mixed@example.com");
    assert_non_null (user);
    assert_string_equal (user->user_id, "auth0|1");
    assert_true (user->email_verified);
    assert_int_equal (pst_password_verify (user->password_hash, "a fine password"), 0);
    authn_user_destroy (&user);
    assert_null (authn_store_user_by_email (store, "other@example.com"));

    user = authn_store_user_by_id (store, "auth0|1");
    assert_non_null (user);
    authn_user_destroy (&user);

    //  login records the time and, when given, a new hash
    assert_int_equal (authn_store_user_login (store, "auth0|1", NULL, 1234), 0);
    user = authn_store_user_by_id (store, "auth0|1");
    assert_string_equal (user->password_hash, hash);
    authn_user_destroy (&user);
    assert_int_equal (authn_store_user_login (store, "auth0|1", "$argon2id$new", 1235), 0);
    user = authn_store_user_by_id (store, "auth0|1");
    assert_string_equal (user->password_hash, "$argon2id$new");
    authn_user_destroy (&user);
    free (hash);
    authn_store_destroy (&store);
}

//  A key's count, or -1 when the key has no row
static int
s_attempts (const char *key)
{
    authn_store_t *look = s_look ();
    int attempts = (int) pst_sql_scalar (look->sql, -1,
        "SELECT failures FROM login_failures WHERE key = ?", "t", key);
    authn_store_destroy (&look);
    return attempts;
}

//  Sign-in throttling reserves an attempt before the password is tried: with a
//  limit of 3, three are reserved and the fourth refused (the caller then never
//  verifies). A refusal counts nothing and moves no window; giving back a
//  reservation (the right password) frees one attempt, within its own window.
static void
test_login_reservations (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);
    int64_t window = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1000 + attempt, &window), 0);
        assert_int_equal (window, 1000);
    }
    assert_int_equal (s_attempts ("ip:a"), 3);
    for (int attempt = 0; attempt < 5; attempt++) {
        window = 0;
        assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1100 + attempt, &window), 1);
        assert_int_equal (window, 1000);
    }
    assert_int_equal (s_attempts ("ip:a"), 3);
    //  Other keys are their own
    assert_int_equal (authn_store_login_reserve (store, "ip:b", 3, 900, 1100, &window), 0);
    assert_int_equal (s_attempts ("ip:b"), 1);

    //  A success gives its attempt back: exactly one more may be tried
    assert_int_equal (authn_store_login_release (store, "ip:a", 1000), 0);
    assert_int_equal (s_attempts ("ip:a"), 2);
    assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1200, &window), 0);
    assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1200, &window), 1);
    //  A release for a window that is not the key's cancels nothing
    assert_int_equal (authn_store_login_release (store, "ip:a", 999), 0);
    assert_int_equal (s_attempts ("ip:a"), 3);

    //  The block ends with the window (1000 + 900), however often it was tried
    assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1899, &window), 1);
    assert_int_equal (window, 1000);
    assert_int_equal (authn_store_login_reserve (store, "ip:a", 3, 900, 1900, &window), 0);
    assert_int_equal (window, 1900);
    assert_int_equal (s_attempts ("ip:a"), 1);
    //  A late release from the old window leaves the new one alone
    assert_int_equal (authn_store_login_release (store, "ip:a", 1000), 0);
    assert_int_equal (s_attempts ("ip:a"), 1);
    //  Never below zero
    assert_int_equal (authn_store_login_release (store, "ip:a", 1900), 0);
    assert_int_equal (authn_store_login_release (store, "ip:a", 1900), 0);
    assert_int_equal (s_attempts ("ip:a"), 0);

    //  A success forgets a user key altogether
    assert_int_equal (authn_store_login_succeeded (store, "ip:b"), 0);
    assert_int_equal (s_attempts ("ip:b"), -1);
    authn_store_destroy (&store);
}

#define RACERS          4
#define RACER_ATTEMPTS  40
#define RACE_LIMIT      50

static void *
s_racer (void *args)
{
    int *reserved = (int *) args;
    authn_store_t *store = authn_store_new (s_location);
    for (int attempt = 0; store && attempt < RACER_ATTEMPTS; attempt++) {
        int64_t window = 0;
        if (authn_store_login_reserve (store, "user:raced", RACE_LIMIT, 900, 5000, &window) == 0)
            (*reserved)++;
    }
    authn_store_destroy (&store);
    return NULL;
}

//  Connections reserving at once (as the workers do) never take more than the
//  limit between them: the count and the check are one statement.
static void
test_login_reservations_race (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);     //  migrated before the race
    pthread_t threads [RACERS];
    int reserved [RACERS] = { 0 };
    for (int index = 0; index < RACERS; index++)
        assert_int_equal (pthread_create (&threads [index], NULL, s_racer, &reserved [index]), 0);
    int total = 0;
    for (int index = 0; index < RACERS; index++) {
        assert_int_equal (pthread_join (threads [index], NULL), 0);
        total += reserved [index];
    }
    assert_int_equal (total, RACE_LIMIT);
    assert_int_equal (s_attempts ("user:raced"), RACE_LIMIT);
    authn_store_destroy (&store);
}

//  Keys whose window has ended are deleted; the others keep their counts.
static void
test_login_prune (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);
    int64_t window = 0;
    assert_int_equal (authn_store_login_reserve (store, "user:old", 3, 900, 100, &window), 0);
    assert_int_equal (authn_store_login_reserve (store, "user:ending", 3, 900, 1000, &window), 0);
    assert_int_equal (authn_store_login_reserve (store, "ip:live", 3, 900, 1001, &window), 0);
    assert_int_equal (authn_store_login_reserve (store, "ip:live", 3, 900, 1500, &window), 0);

    assert_int_equal (authn_store_login_prune (store, 1899, 900), 0);
    assert_int_equal (s_attempts ("user:old"), -1);
    assert_int_equal (s_attempts ("user:ending"), 1);
    //  The window of "user:ending" ends at 1000 + 900
    assert_int_equal (authn_store_login_prune (store, 1900, 900), 0);
    assert_int_equal (s_attempts ("user:ending"), -1);
    assert_int_equal (s_attempts ("ip:live"), 2);
    authn_store_destroy (&store);
}

//  The prune is served by the index on window_start, not a scan of every key
//  (SQLite's query plan; PostgreSQL's migration makes the same index)
static void
test_login_prune_uses_index (void **state)
{
    (void) state;
    authn_store_t *look = s_look ();
    pst_sql_stmt_t *stmt = pst_sql_query (look->sql,
        "EXPLAIN QUERY PLAN DELETE FROM login_failures WHERE window_start <= 0", NULL);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_step (stmt), 1);
    assert_non_null (strstr (pst_sql_text (stmt, 3), "login_failures_window_start"));
    pst_sql_done (stmt);
    authn_store_destroy (&look);
}

#define KEY_RACERS      4

static void *
s_key_racer (void *args)
{
    int *added = (int *) args;
    authn_store_t *store = authn_store_new (s_location);
    char kid [32];
    snprintf (kid, sizeof kid, "key-%p", args);
    //  Each tries until it learns that both roles are taken
    int rc = 0;
    for (int attempt = 0; store && rc == 0 && attempt < 3; attempt++) {
        char attempt_kid [48];
        snprintf (attempt_kid, sizeof attempt_kid, "%s-%d", kid, attempt);
        rc = authn_store_signing_add (store, attempt_kid, "PEM", "CERT", "{}", 100);
        if (rc == 0)
            (*added)++;
    }
    authn_store_destroy (&store);
    return NULL;
}

//  Connections adding keys at once (as authn processes starting together do)
//  add exactly a current and a next key between them, and every one learns
//  that both are taken rather than failing: adding reads the roles, then
//  writes, in one transaction, which queues the writers of every process (a
//  unique index alone would only refuse the second current key as an error)
static void
test_signing_add_race (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);     //  migrated before the race
    pthread_t threads [KEY_RACERS];
    int added [KEY_RACERS] = { 0 };
    for (int index = 0; index < KEY_RACERS; index++)
        assert_int_equal (pthread_create (&threads [index], NULL, s_key_racer, &added [index]), 0);
    int total = 0;
    for (int index = 0; index < KEY_RACERS; index++) {
        assert_int_equal (pthread_join (threads [index], NULL), 0);
        total += added [index];
    }
    assert_int_equal (total, 2);
    assert_int_equal (authn_store_signing_missing (store), 0);
    assert_int_equal (s_look_int ("SELECT count(*) FROM signing_keys"), 2);
    authn_store_destroy (&store);
}

#define THROTTLE_RACERS 2
#define THROTTLE_TRIES  60
#define THROTTLE_LIMIT  45

static void *
s_throttle_racer (void *args)
{
    int *reserved = (int *) args;
    authn_store_t *store = authn_store_new (s_location);
    for (int attempt = 0; store && attempt < THROTTLE_TRIES; attempt++) {
        //  As authn_throttle_reserve: the address, then the user, in one
        //  transaction; a refusal of either rolls both back
        int64_t window = 0;
        if (authn_store_begin (store) != 0)
            continue;
        int ip = authn_store_login_reserve (store, "ip:shared", 1000, 900, 5000, &window);
        int user = ip == 0? authn_store_login_reserve (store, "user:shared", THROTTLE_LIMIT, 900,
                                                        5000, &window): -1;
        if (ip == 0 && user == 0 && authn_store_commit (store) == 0)
            (*reserved)++;
        else
            authn_store_rollback (store);
    }
    authn_store_destroy (&store);
    return NULL;
}

//  Two connections (two authn processes) reserving sign-in attempts for one
//  user at once, each reservation a transaction over two keys: the user's
//  count ends exactly at the limit, and the address counted exactly the
//  reservations that stood (a refused user's attempt rolled back its address's)
static void
test_login_reservations_two_connections (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_location);     //  migrated before the race
    pthread_t threads [THROTTLE_RACERS];
    int reserved [THROTTLE_RACERS] = { 0 };
    for (int index = 0; index < THROTTLE_RACERS; index++)
        assert_int_equal (pthread_create (&threads [index], NULL, s_throttle_racer,
                                          &reserved [index]), 0);
    int total = 0;
    for (int index = 0; index < THROTTLE_RACERS; index++) {
        assert_int_equal (pthread_join (threads [index], NULL), 0);
        total += reserved [index];
    }
    assert_int_equal (total, THROTTLE_LIMIT);
    assert_int_equal (s_attempts ("user:shared"), THROTTLE_LIMIT);
    assert_int_equal (s_attempts ("ip:shared"), THROTTLE_LIMIT);
    authn_store_destroy (&store);
}

static int64_t s_fixed_now (void) { return 42; }

static void
test_config_from_env (void **state)
{
    (void) state;
    setenv ("POSTERN_DATA_DIR", s_dir, 1);
    setenv ("POSTERN_DOMAIN", "id.example.org", 1);
    setenv ("POSTERN_AUTHN_WORKERS", "3", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "not a number", 1);
    unsetenv ("POSTERN_AUTHN_DB");
    authn_config_t *config = authn_config_from_env ();
    assert_non_null (config);
    assert_string_equal (config->issuer, "https://id.example.org/");
    assert_int_equal (config->workers, 3);
    assert_int_equal (config->mfa_timeout_ms, 2000);
    char expected [128];
    snprintf (expected, sizeof expected, "%s/authn.db", s_dir);
    assert_string_equal (config->db_path, expected);
    //  The bus defaults to ipc sockets in the data directory: no port opens
    snprintf (expected, sizeof expected, "ipc://%s/bus/authn.sock", s_dir);
    assert_string_equal (config->endpoint, expected);
    snprintf (expected, sizeof expected, "ipc://%s/bus/mfa.sock", s_dir);
    assert_string_equal (config->mfa_endpoint, expected);
    snprintf (expected, sizeof expected, "%s/keys", s_dir);
    assert_string_equal (config->keys_dir, expected);
    assert_string_equal (config->key_name, "authn");
    assert_true (authn_config_now (config) > 1700000000);
    config->now_s = s_fixed_now;
    assert_int_equal (authn_config_now (config), 42);
    authn_config_destroy (&config);
    assert_null (config);
    unsetenv ("POSTERN_BUS_TIMEOUT_MS");
    unsetenv ("POSTERN_AUTHN_WORKERS");

    //  A PostgreSQL URL is the location as it is: not a file in the data directory
    setenv ("POSTERN_AUTHN_DB", "postgresql://postern:secret@db.internal:5432/postern", 1);
    config = authn_config_from_env ();
    assert_non_null (config);
    assert_string_equal (config->db_path, "postgresql://postern:secret@db.internal:5432/postern");
    authn_config_destroy (&config);
    unsetenv ("POSTERN_AUTHN_DB");
}

int
main (void)
{
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_signing_keys_rotation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_clients_and_grants, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_users, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_reservations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_reservations_race, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_reservations_two_connections, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_signing_add_race, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_from_env, s_setup, s_teardown),
    };
    //  What only a SQLite file has: its query plans
    const struct CMUnitTest sqlite_tests [] = {
        cmocka_unit_test_setup_teardown (test_login_prune_uses_index, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (!test_db_is_postgres ())
        failed += cmocka_run_group_tests (sqlite_tests, NULL, NULL);
    return failed;
}
