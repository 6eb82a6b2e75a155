//  authn_store and authn_config: the schema, the lookups the token endpoint relies
//  on, the signing key's lifecycle, and configuration from the environment.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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
        cmocka_unit_test_setup_teardown (test_config_from_env, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
