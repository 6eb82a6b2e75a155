//  authn_store and authn_config: the schema, the lookups the token endpoint relies
//  on, the signing key's lifecycle, sign-in throttling, and configuration from
//  the environment.
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
#include "pst_crypto.h"
#include "pst_db.h"

static char s_dir [64];
static char s_path [128];

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-authn-store-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/authn.db", s_dir);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

static void
test_signing_key_created_once (void **state)
{
    (void) state;
    sqlite3 *db = authn_store_open (s_path);
    assert_non_null (db);
    char *kid = NULL, *pem = NULL;
    assert_int_equal (authn_store_signing_key (db, &kid, &pem), 0);
    assert_non_null (strstr (pem, "BEGIN PRIVATE KEY"));
    pst_db_close (&db);

    //  a second connection, as after a restart, finds the same key
    db = authn_store_open (s_path);
    char *kid2 = NULL, *pem2 = NULL;
    assert_int_equal (authn_store_signing_key (db, &kid2, &pem2), 0);
    assert_string_equal (kid, kid2);
    assert_string_equal (pem, pem2);
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT count(*) FROM signing_keys");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (stmt, 0), 1);
    sqlite3_finalize (stmt);
    pst_db_close (&db);
    free (kid); free (pem); free (kid2); free (pem2);
}

static void
test_clients_and_grants (void **state)
{
    (void) state;
    sqlite3 *db = authn_store_open (s_path);
    json_t *grants = json_pack ("[s, s]", "password", "client_credentials");
    char *client_id = NULL, *secret = NULL;
    assert_int_equal (authn_admin_insert_client (db, "App", "regular_web", "client_secret_post",
                                                 grants, 0, &client_id, &secret), 0);
    json_decref (grants);
    assert_int_equal (strlen (client_id), 32);
    assert_int_equal (strlen (secret), 64);

    authn_client_t *client = authn_store_client (db, client_id);
    assert_non_null (client);
    assert_string_equal (client->name, "App");
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
    assert_null (authn_store_client (db, "no-such-client"));

    //  a public client has no secret at all
    grants = json_pack ("[s]", "password");
    char *public_id = NULL, *public_secret = NULL;
    assert_int_equal (authn_admin_insert_client (db, "SPA", "spa", "none", grants, 0,
                                                 &public_id, &public_secret), 0);
    json_decref (grants);
    assert_null (public_secret);
    client = authn_store_client (db, public_id);
    assert_null (client->secret_hash);
    authn_client_destroy (&client);

    assert_int_equal (pst_db_exec (db,
        "INSERT INTO resource_servers (id, identifier, name, scopes, token_lifetime, created_at)"
        " VALUES ('rs1', 'https://api.example', 'API', '[]', 600, 0)"), 0);
    authn_api_t *api = authn_store_api (db, "https://api.example");
    assert_non_null (api);
    assert_int_equal (api->token_lifetime, 600);
    authn_api_destroy (&api);
    assert_null (authn_store_api (db, "https://api.example/"));

    assert_null (authn_store_client_grant_scopes (db, client_id, "https://api.example"));
    char sql [512];
    snprintf (sql, sizeof sql, "INSERT INTO client_grants (id, client_id, audience, scope, created_at)"
              " VALUES ('g1', '%s', 'https://api.example', '[\"read:a\",\"write:b\"]', 0)", client_id);
    assert_int_equal (pst_db_exec (db, sql), 0);
    json_t *scopes = authn_store_client_grant_scopes (db, client_id, "https://api.example");
    assert_non_null (scopes);
    assert_int_equal (json_array_size (scopes), 2);
    json_decref (scopes);

    //  deleting the client deletes its grants (foreign keys are on)
    snprintf (sql, sizeof sql, "DELETE FROM clients WHERE client_id = '%s'", client_id);
    assert_int_equal (pst_db_exec (db, sql), 0);
    assert_null (authn_store_client_grant_scopes (db, client_id, "https://api.example"));
    pst_db_close (&db);
    free (client_id); free (secret); free (public_id);
}

static void
test_users (void **state)
{
    (void) state;
    sqlite3 *db = authn_store_open (s_path);
    char *hash = pst_password_hash ("a fine password");
    char sql [512];
    snprintf (sql, sizeof sql, "INSERT INTO users (user_id, email, password_hash, email_verified,"
              " created_at, updated_at) VALUES ('auth0|1', 'Mixed@Example.com', '%s', 1, 0, 0)", hash);
    assert_int_equal (pst_db_exec (db, sql), 0);

    //  addresses compare case-insensitively, as with Auth0's database connection
    authn_user_t *user = authn_store_user_by_email (db, "mixed@example.com");
    assert_non_null (user);
    assert_string_equal (user->user_id, "auth0|1");
    assert_true (user->email_verified);
    assert_int_equal (pst_password_verify (user->password_hash, "a fine password"), 0);
    authn_user_destroy (&user);
    assert_null (authn_store_user_by_email (db, "other@example.com"));

    user = authn_store_user_by_id (db, "auth0|1");
    assert_non_null (user);
    authn_user_destroy (&user);

    //  login records the time and, when given, a new hash
    assert_int_equal (authn_store_user_login (db, "auth0|1", NULL, 1234), 0);
    user = authn_store_user_by_id (db, "auth0|1");
    assert_string_equal (user->password_hash, hash);
    authn_user_destroy (&user);
    assert_int_equal (authn_store_user_login (db, "auth0|1", "$argon2id$new", 1235), 0);
    user = authn_store_user_by_id (db, "auth0|1");
    assert_string_equal (user->password_hash, "$argon2id$new");
    authn_user_destroy (&user);
    free (hash);
    pst_db_close (&db);
}

//  A key's count, or -1 when the key has no row
static int
s_attempts (sqlite3 *db, const char *key)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT failures FROM login_failures WHERE key = ?");
    assert_non_null (stmt);
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    int attempts = sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int (stmt, 0): -1;
    sqlite3_finalize (stmt);
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
    sqlite3 *db = authn_store_open (s_path);
    int64_t window = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1000 + attempt, &window), 0);
        assert_int_equal (window, 1000);
    }
    assert_int_equal (s_attempts (db, "ip:a"), 3);
    for (int attempt = 0; attempt < 5; attempt++) {
        window = 0;
        assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1100 + attempt, &window), 1);
        assert_int_equal (window, 1000);
    }
    assert_int_equal (s_attempts (db, "ip:a"), 3);
    //  Other keys are their own
    assert_int_equal (authn_store_login_reserve (db, "ip:b", 3, 900, 1100, &window), 0);
    assert_int_equal (s_attempts (db, "ip:b"), 1);

    //  A success gives its attempt back: exactly one more may be tried
    assert_int_equal (authn_store_login_release (db, "ip:a", 1000), 0);
    assert_int_equal (s_attempts (db, "ip:a"), 2);
    assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1200, &window), 0);
    assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1200, &window), 1);
    //  A release for a window that is not the key's cancels nothing
    assert_int_equal (authn_store_login_release (db, "ip:a", 999), 0);
    assert_int_equal (s_attempts (db, "ip:a"), 3);

    //  The block ends with the window (1000 + 900), however often it was tried
    assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1899, &window), 1);
    assert_int_equal (window, 1000);
    assert_int_equal (authn_store_login_reserve (db, "ip:a", 3, 900, 1900, &window), 0);
    assert_int_equal (window, 1900);
    assert_int_equal (s_attempts (db, "ip:a"), 1);
    //  A late release from the old window leaves the new one alone
    assert_int_equal (authn_store_login_release (db, "ip:a", 1000), 0);
    assert_int_equal (s_attempts (db, "ip:a"), 1);
    //  Never below zero
    assert_int_equal (authn_store_login_release (db, "ip:a", 1900), 0);
    assert_int_equal (authn_store_login_release (db, "ip:a", 1900), 0);
    assert_int_equal (s_attempts (db, "ip:a"), 0);

    //  A success forgets a user key altogether
    assert_int_equal (authn_store_login_succeeded (db, "ip:b"), 0);
    assert_int_equal (s_attempts (db, "ip:b"), -1);
    pst_db_close (&db);
}

#define RACERS          4
#define RACER_ATTEMPTS  40
#define RACE_LIMIT      50

static void *
s_racer (void *args)
{
    int *reserved = (int *) args;
    sqlite3 *db = authn_store_open (s_path);
    for (int attempt = 0; db && attempt < RACER_ATTEMPTS; attempt++) {
        int64_t window = 0;
        if (authn_store_login_reserve (db, "user:raced", RACE_LIMIT, 900, 5000, &window) == 0)
            (*reserved)++;
    }
    pst_db_close (&db);
    return NULL;
}

//  Connections reserving at once (as the workers do) never take more than the
//  limit between them: the count and the check are one statement.
static void
test_login_reservations_race (void **state)
{
    (void) state;
    sqlite3 *db = authn_store_open (s_path);        //  migrated before the race
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
    assert_int_equal (s_attempts (db, "user:raced"), RACE_LIMIT);
    pst_db_close (&db);
}

//  Keys whose window has ended are deleted; the others keep their counts.
static void
test_login_prune (void **state)
{
    (void) state;
    sqlite3 *db = authn_store_open (s_path);
    int64_t window = 0;
    assert_int_equal (authn_store_login_reserve (db, "user:old", 3, 900, 100, &window), 0);
    assert_int_equal (authn_store_login_reserve (db, "user:ending", 3, 900, 1000, &window), 0);
    assert_int_equal (authn_store_login_reserve (db, "ip:live", 3, 900, 1001, &window), 0);
    assert_int_equal (authn_store_login_reserve (db, "ip:live", 3, 900, 1500, &window), 0);

    assert_int_equal (authn_store_login_prune (db, 1899, 900), 0);
    assert_int_equal (s_attempts (db, "user:old"), -1);
    assert_int_equal (s_attempts (db, "user:ending"), 1);
    //  The window of "user:ending" ends at 1000 + 900
    assert_int_equal (authn_store_login_prune (db, 1900, 900), 0);
    assert_int_equal (s_attempts (db, "user:ending"), -1);
    assert_int_equal (s_attempts (db, "ip:live"), 2);

    //  The prune is served by the index on window_start, not a scan of every key
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "EXPLAIN QUERY PLAN DELETE FROM login_failures WHERE window_start <= 0");
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_non_null (strstr ((const char *) sqlite3_column_text (stmt, 3),
                             "login_failures_window_start"));
    sqlite3_finalize (stmt);
    pst_db_close (&db);
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
    assert_string_equal (config->endpoint, "tcp://127.0.0.1:5601");
    assert_true (authn_config_now (config) > 1700000000);
    config->now_s = s_fixed_now;
    assert_int_equal (authn_config_now (config), 42);
    authn_config_destroy (&config);
    assert_null (config);
    unsetenv ("POSTERN_BUS_TIMEOUT_MS");
    unsetenv ("POSTERN_AUTHN_WORKERS");
}

int
main (void)
{
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_signing_key_created_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_clients_and_grants, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_users, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_reservations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_reservations_race, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_login_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_from_env, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
