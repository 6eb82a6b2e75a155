//  authn_store's Management API resources: what a row shows and in which
//  order, list order and filters, partial updates, deletes, and constraints
//  answered as conflicts.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "authn_store.h"
#include "authn_store_sql.h"
#include "pst_crypto.h"
#include "test_db.h"

static char s_dir [64];
static char s_path [128];
static char *s_location;        //  s_path, or a PostgreSQL database in the pg run
static authn_store_t *s_store;

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-authn-resources-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/authn.db", s_dir);
    s_location = test_db_location (s_path);
    s_store = authn_store_new (s_location);
    assert_non_null (s_store);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    authn_store_destroy (&s_store);
    assert_null (s_store);
    free (s_location);
    s_location = NULL;
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  Runs SQL on a connection of the test's own: a store of its own, whose
//  engine the test reaches through authn_store_sql.h
static void
s_exec (const char *sql)
{
    authn_store_t *look = authn_store_new (s_location);
    assert_non_null (look);
    assert_int_equal (pst_sql_exec (look->sql, sql), 0);
    authn_store_destroy (&look);
}

static int
s_insert (authn_resource_t resource, json_t *row)
{
    assert_non_null (row);
    int rc = authn_store_insert (s_store, resource, row);
    json_decref (row);
    return rc;
}

static int
s_update (authn_resource_t resource, const char *id, json_t *changes)
{
    assert_non_null (changes);
    int rc = authn_store_update (s_store, resource, id, changes);
    json_decref (changes);
    return rc;
}

//  The row's JSON, compact, members in the order shown
static char *
s_shown (authn_resource_t resource, const char *id)
{
    json_t *row = authn_store_get (s_store, resource, id);
    assert_non_null (row);
    char *text = json_dumps (row, JSON_COMPACT);
    json_decref (row);
    return text;
}

static void
s_client (const char *client_id, const char *secret_hash)
{
    assert_int_equal (s_insert (AUTHN_CLIENTS, json_pack ("{s:s, s:s, s:s, s:s?, s:s, s:[s], s:b}",
        "client_id", client_id, "name", "App", "app_type", "regular_web",
        "secret_hash", secret_hash, "token_endpoint_auth_method", secret_hash? "client_secret_post": "none",
        "grant_types", "client_credentials", "is_system", 0)), 0);
}

static void
s_api (const char *id, const char *identifier)
{
    assert_int_equal (s_insert (AUTHN_RESOURCE_SERVERS, json_pack ("{s:s, s:s, s:s, s:[{s:s}], s:i, s:b}",
        "id", id, "identifier", identifier, "name", "API", "scopes", "value", "read:a",
        "token_lifetime", 600, "allow_offline_access", 0)), 0);
}

static void
s_user (const char *user_id, const char *email)
{
    assert_int_equal (s_insert (AUTHN_USERS, json_pack ("{s:s, s:s, s:s, s:b}",
        "user_id", user_id, "email", email, "password_hash", "$argon2id$x", "email_verified", 0)), 0);
}

//  Every resource shows its members in the order the API has always given
//  them, without the members it never shows (secrets, password hashes).
static void
test_rows_as_shown (void **state)
{
    (void) state;
    s_client ("c1", "ab12");
    char *text = s_shown (AUTHN_CLIENTS, "c1");
    assert_string_equal (text, "{\"client_id\":\"c1\",\"name\":\"App\",\"app_type\":\"regular_web\","
        "\"token_endpoint_auth_method\":\"client_secret_post\",\"grant_types\":[\"client_credentials\"],"
        "\"is_first_party\":true,\"web_origins\":[],\"allowed_origins\":[]}");
    free (text);

    s_api ("rs1", "https://api.example/");
    text = s_shown (AUTHN_RESOURCE_SERVERS, "rs1");
    assert_string_equal (text, "{\"id\":\"rs1\",\"identifier\":\"https://api.example/\",\"name\":\"API\","
        "\"scopes\":[{\"value\":\"read:a\"}],\"token_lifetime\":600,\"allow_offline_access\":false,"
        "\"is_system\":false,\"signing_alg\":\"RS256\"}");
    free (text);
    //  a resource server is also named by its identifier
    text = s_shown (AUTHN_RESOURCE_SERVERS, "https://api.example/");
    assert_non_null (strstr (text, "\"id\":\"rs1\""));
    free (text);

    assert_int_equal (s_insert (AUTHN_CLIENT_GRANTS, json_pack ("{s:s, s:s, s:s, s:[s]}", "id", "g1",
        "client_id", "c1", "audience", "https://api.example/", "scope", "read:a")), 0);
    json_t *list = authn_store_list (s_store, AUTHN_CLIENT_GRANTS, NULL);
    assert_int_equal (json_array_size (list), 1);
    text = json_dumps (json_array_get (list, 0), JSON_COMPACT);
    assert_string_equal (text, "{\"id\":\"g1\",\"client_id\":\"c1\",\"audience\":\"https://api.example/\","
        "\"scope\":[\"read:a\"]}");
    free (text);
    json_decref (list);

    s_user ("auth0|u1", "one@example.com");
    s_exec ("UPDATE users SET created_at = 0, updated_at = 86400, last_login = NULL");
    text = s_shown (AUTHN_USERS, "auth0|u1");
    assert_string_equal (text, "{\"user_id\":\"auth0|u1\",\"email\":\"one@example.com\","
        "\"email_verified\":false,\"identities\":[{\"connection\":\"Username-Password-Authentication\","
        "\"user_id\":\"u1\",\"provider\":\"auth0\",\"isSocial\":false}],"
        "\"created_at\":\"1970-01-01T00:00:00.000Z\",\"updated_at\":\"1970-01-02T00:00:00.000Z\","
        "\"last_login\":null}");
    free (text);

    assert_null (authn_store_get (s_store, AUTHN_USERS, "auth0|none"));
    assert_null (authn_store_get (s_store, AUTHN_CLIENTS, NULL));
}

//  Lists come in creation order, then by id; a filter narrows them, an absent
//  or empty one does not, and members that are no filter are ignored.
static void
test_lists (void **state)
{
    (void) state;
    s_client ("c2", NULL);
    s_client ("c1", NULL);
    s_client ("c3", NULL);
    s_exec ("UPDATE clients SET created_at = 5 WHERE client_id = 'c3';"
            "UPDATE clients SET created_at = 9 WHERE client_id <> 'c3'");
    json_t *query = json_pack ("{s:s}", "name", "App");
    json_t *list = authn_store_list (s_store, AUTHN_CLIENTS, query);
    json_decref (query);
    assert_int_equal (json_array_size (list), 3);
    const char *order [] = { "c3", "c1", "c2" };
    for (size_t index = 0; index < 3; index++)
        assert_string_equal (json_string_value (json_object_get (json_array_get (list, index),
                             "client_id")), order [index]);
    json_decref (list);

    s_api ("rs1", "https://one/");
    s_api ("rs2", "https://two/");
    const char *grants [][3] = {
        { "g1", "c1", "https://one/" }, { "g2", "c1", "https://two/" }, { "g3", "c2", "https://one/" }
    };
    for (size_t index = 0; index < 3; index++)
        assert_int_equal (s_insert (AUTHN_CLIENT_GRANTS, json_pack ("{s:s, s:s, s:s, s:[]}",
            "id", grants [index][0], "client_id", grants [index][1],
            "audience", grants [index][2], "scope")), 0);
    query = json_pack ("{s:s}", "client_id", "c1");
    list = authn_store_list (s_store, AUTHN_CLIENT_GRANTS, query);
    assert_int_equal (json_array_size (list), 2);
    json_decref (list);
    json_object_set_new (query, "audience", json_string ("https://one/"));
    list = authn_store_list (s_store, AUTHN_CLIENT_GRANTS, query);
    assert_int_equal (json_array_size (list), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "id")), "g1");
    json_decref (list);
    json_object_set_new (query, "client_id", json_string (""));
    list = authn_store_list (s_store, AUTHN_CLIENT_GRANTS, query);
    assert_int_equal (json_array_size (list), 2);
    json_decref (list);
    json_decref (query);

    //  emails compare without case, as they are unique
    s_user ("auth0|u1", "One@Example.com");
    s_user ("auth0|u2", "two@example.com");
    query = json_pack ("{s:s}", "email", "one@example.COM");
    list = authn_store_list (s_store, AUTHN_USERS, query);
    json_decref (query);
    assert_int_equal (json_array_size (list), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "user_id")),
                         "auth0|u1");
    json_decref (list);
    list = authn_store_list (s_store, AUTHN_USERS, NULL);
    assert_int_equal (json_array_size (list), 2);
    json_decref (list);
}

//  An update sets what it names and leaves the rest; a secret is only ever
//  added, never replaced; a user's update time moves with every update.
static void
test_updates (void **state)
{
    (void) state;
    s_client ("confidential", "old-hash");
    s_client ("public", NULL);
    assert_int_equal (s_update (AUTHN_CLIENTS, "confidential", json_pack ("{s:s, s:s}",
        "name", "Renamed", "secret_hash", "new-hash")), 0);
    authn_client_t *client = authn_store_client (s_store, "confidential");
    assert_string_equal (client->name, "Renamed");
    assert_string_equal (client->app_type, "regular_web");
    assert_string_equal (client->secret_hash, "old-hash");
    authn_client_destroy (&client);
    assert_int_equal (s_update (AUTHN_CLIENTS, "public", json_pack ("{s:s, s:s}",
        "token_endpoint_auth_method", "client_secret_basic", "secret_hash", "first-hash")), 0);
    client = authn_store_client (s_store, "public");
    assert_string_equal (client->secret_hash, "first-hash");
    assert_string_equal (client->auth_method, "client_secret_basic");
    assert_string_equal (client->name, "App");
    authn_client_destroy (&client);
    //  The rotation of the management application's secret does replace it
    assert_int_equal (authn_store_client_set_secret (s_store, "public", "rotated"), 0);
    client = authn_store_client (s_store, "public");
    assert_string_equal (client->secret_hash, "rotated");
    authn_client_destroy (&client);
    //  Nothing to change, or no such row: nothing happens, and that is no error
    assert_int_equal (s_update (AUTHN_CLIENTS, "public", json_object ()), 0);
    assert_int_equal (s_update (AUTHN_CLIENTS, "nobody", json_pack ("{s:s}", "name", "X")), 0);
    assert_null (authn_store_get (s_store, AUTHN_CLIENTS, "nobody"));

    s_api ("rs1", "https://one/");
    assert_int_equal (s_update (AUTHN_RESOURCE_SERVERS, "https://one/", json_pack ("{s:i, s:b, s:[]}",
        "token_lifetime", 60, "allow_offline_access", 1, "scopes")), 0);
    json_t *api = authn_store_get (s_store, AUTHN_RESOURCE_SERVERS, "rs1");
    assert_int_equal (json_integer_value (json_object_get (api, "token_lifetime")), 60);
    assert_true (json_is_true (json_object_get (api, "allow_offline_access")));
    assert_int_equal (json_array_size (json_object_get (api, "scopes")), 0);
    assert_string_equal (json_string_value (json_object_get (api, "name")), "API");
    json_decref (api);

    s_user ("auth0|u1", "one@example.com");
    s_exec ("UPDATE users SET updated_at = 0");
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_object ()), 0);
    json_t *user = authn_store_get (s_store, AUTHN_USERS, "auth0|u1");
    assert_string_not_equal (json_string_value (json_object_get (user, "updated_at")),
                             "1970-01-01T00:00:00.000Z");
    json_decref (user);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:s, s:b}",
        "password_hash", "$argon2id$y", "email_verified", 1)), 0);
    authn_user_t *record = authn_store_user_by_id (s_store, "auth0|u1");
    assert_string_equal (record->password_hash, "$argon2id$y");
    assert_true (record->email_verified);
    assert_string_equal (record->email, "one@example.com");
    authn_user_destroy (&record);
}

//  What a constraint refuses comes back as 1, for the API's 409, and
//  changes nothing.
static void
test_conflicts (void **state)
{
    (void) state;
    s_client ("c1", NULL);
    s_api ("rs1", "https://one/");
    assert_int_equal (s_insert (AUTHN_RESOURCE_SERVERS, json_pack ("{s:s, s:s, s:s, s:[], s:i}",
        "id", "rs2", "identifier", "https://one/", "name", "Again", "scopes", "token_lifetime", 1)), 1);
    assert_null (authn_store_get (s_store, AUTHN_RESOURCE_SERVERS, "rs2"));

    json_t *grant = json_pack ("{s:s, s:s, s:s, s:[]}", "id", "g1", "client_id", "c1",
                               "audience", "https://one/", "scope");
    assert_int_equal (authn_store_insert (s_store, AUTHN_CLIENT_GRANTS, grant), 0);
    json_object_set_new (grant, "id", json_string ("g2"));
    assert_int_equal (authn_store_insert (s_store, AUTHN_CLIENT_GRANTS, grant), 1);
    //  a grant for a client or an API that is not there
    json_object_set_new (grant, "client_id", json_string ("nobody"));
    assert_int_equal (authn_store_insert (s_store, AUTHN_CLIENT_GRANTS, grant), 1);
    json_object_set_new (grant, "client_id", json_string ("c1"));
    json_object_set_new (grant, "audience", json_string ("https://nowhere/"));
    assert_int_equal (authn_store_insert (s_store, AUTHN_CLIENT_GRANTS, grant), 1);
    json_decref (grant);
    json_t *list = authn_store_list (s_store, AUTHN_CLIENT_GRANTS, NULL);
    assert_int_equal (json_array_size (list), 1);
    json_decref (list);

    s_user ("auth0|u1", "one@example.com");
    s_user ("auth0|u2", "two@example.com");
    assert_int_equal (s_insert (AUTHN_USERS, json_pack ("{s:s, s:s, s:s, s:b}", "user_id", "auth0|u3",
        "email", "ONE@example.com", "password_hash", "x", "email_verified", 0)), 1);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u2", json_pack ("{s:s}", "email", "One@Example.com")), 1);
    authn_user_t *user = authn_store_user_by_id (s_store, "auth0|u2");
    assert_string_equal (user->email, "two@example.com");
    authn_user_destroy (&user);
}

//  A delete says how many rows went; a resource server goes by id or
//  identifier, and takes its grants along.
static void
test_deletes (void **state)
{
    (void) state;
    s_client ("c1", NULL);
    s_api ("rs1", "https://one/");
    assert_int_equal (s_insert (AUTHN_CLIENT_GRANTS, json_pack ("{s:s, s:s, s:s, s:[]}", "id", "g1",
        "client_id", "c1", "audience", "https://one/", "scope")), 0);
    assert_int_equal (authn_store_delete (s_store, AUTHN_RESOURCE_SERVERS, "https://one/"), 1);
    assert_int_equal (authn_store_delete (s_store, AUTHN_RESOURCE_SERVERS, "rs1"), 0);
    assert_int_equal (authn_store_delete (s_store, AUTHN_CLIENT_GRANTS, "g1"), 0);
    json_t *client = authn_store_get (s_store, AUTHN_CLIENTS, "c1");
    assert_non_null (client);
    json_decref (client);
    assert_int_equal (authn_store_delete (s_store, AUTHN_CLIENTS, "c1"), 1);
    assert_null (authn_store_get (s_store, AUTHN_CLIENTS, "c1"));

    s_user ("auth0|u1", "one@example.com");
    assert_int_equal (authn_store_delete (s_store, AUTHN_USERS, "auth0|u2"), 0);
    assert_int_equal (authn_store_delete (s_store, AUTHN_USERS, "auth0|u1"), 1);
    assert_null (authn_store_user_by_id (s_store, "auth0|u1"));
    assert_int_equal (authn_store_delete (s_store, AUTHN_USERS, NULL), -1);
}

//  A row may only carry members the resource writes, each of its own type:
//  anything else is a mistake of the caller, refused before the database.
static void
test_refuses_what_is_not_written (void **state)
{
    (void) state;
    s_user ("auth0|u1", "one@example.com");
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:[]}", "identities")), -1);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:s}", "created_at", "x")), -1);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:s}", "bogus", "x")), -1);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:i}", "email", 1)), -1);
    assert_int_equal (s_insert (AUTHN_RESOURCE_SERVERS, json_pack ("{s:s, s:s, s:s, s:[], s:s}",
        "id", "rs1", "identifier", "https://one/", "name", "API", "scopes", "token_lifetime", "60")), -1);
    assert_int_equal (s_insert (AUTHN_RESOURCE_SERVERS, json_pack ("{s:s, s:s, s:s, s:s, s:i}",
        "id", "rs1", "identifier", "https://one/", "name", "API", "scopes", "read:a", "token_lifetime", 60)), -1);
    assert_int_equal (s_insert (AUTHN_CLIENTS, json_pack ("{s:s, s:s}", "client_id", "c1",
        "signing_alg", "none")), -1);
    assert_null (authn_store_get (s_store, AUTHN_RESOURCE_SERVERS, "rs1"));
    assert_null (authn_store_get (s_store, AUTHN_CLIENTS, "c1"));
    assert_int_equal (authn_store_insert (s_store, AUTHN_USERS, NULL), -1);
    assert_int_equal (authn_store_insert (s_store, (authn_resource_t) 42, NULL), -1);
    assert_null (authn_store_list (s_store, (authn_resource_t) 42, NULL));
}

//  A user's metadata: objects as given, shown after the rest and only when
//  there is some; null written clears one and leaves the other; nothing but
//  an object (or null) is written, and a stored text that is no object is
//  not shown.
static void
test_user_metadata (void **state)
{
    (void) state;
    assert_int_equal (s_insert (AUTHN_USERS, json_pack ("{s:s, s:s, s:s, s:b, s:{s:s}, s:{s:[i,i]}}",
        "user_id", "auth0|u1", "email", "one@example.com", "password_hash", "$argon2id$x",
        "email_verified", 0, "app_metadata", "plan", "full", "user_metadata", "lucky", 7, 13)), 0);
    s_exec ("UPDATE users SET created_at = 0, updated_at = 0");
    char *text = s_shown (AUTHN_USERS, "auth0|u1");
    assert_non_null (strstr (text, "\"last_login\":null,\"user_metadata\":{\"lucky\":[7,13]},"
                                   "\"app_metadata\":{\"plan\":\"full\"}}"));
    free (text);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:n}", "user_metadata")), 0);
    json_t *user = authn_store_get (s_store, AUTHN_USERS, "auth0|u1");
    assert_null (json_object_get (user, "user_metadata"));
    assert_string_equal (json_string_value (json_object_get (json_object_get (user, "app_metadata"),
                         "plan")), "full");
    json_decref (user);
    //  listed as got
    json_t *list = authn_store_list (s_store, AUTHN_USERS, NULL);
    assert_non_null (json_object_get (json_array_get (list, 0), "app_metadata"));
    json_decref (list);

    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:[]}", "app_metadata")), -1);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:s}", "app_metadata", "{}")), -1);
    s_exec ("UPDATE users SET app_metadata = '[1]', user_metadata = 'not json'");
    user = authn_store_get (s_store, AUTHN_USERS, "auth0|u1");
    assert_non_null (user);
    assert_null (json_object_get (user, "app_metadata"));
    assert_null (json_object_get (user, "user_metadata"));
    json_decref (user);
}

//  The clients' origins, for the gateway's CORS: only clients that list some,
//  in client_id order, page by page
static void
test_origins (void **state)
{
    (void) state;
    s_client ("c0", NULL);
    s_client ("c1", NULL);
    s_client ("c2", NULL);
    s_client ("c3", NULL);
    assert_int_equal (s_update (AUTHN_CLIENTS, "c1", json_pack ("{s:[s], s:[s]}",
        "web_origins", "https://a.test", "allowed_origins", "https://b.test")), 0);
    assert_int_equal (s_update (AUTHN_CLIENTS, "c3", json_pack ("{s:[s]}",
        "allowed_origins", "https://*.c.test")), 0);
    char *last = NULL;
    int more = 0;
    json_t *all = authn_store_origins (s_store, NULL, 1000, 10, &last, &more);
    char *text = json_dumps (all, JSON_COMPACT);
    assert_string_equal (text, "[{\"client_id\":\"c1\",\"origins\":[\"https://a.test\",\"https://b.test\"]},"
                               "{\"client_id\":\"c3\",\"origins\":[\"https://*.c.test\"]}]");
    free (text);
    json_decref (all);
    assert_string_equal (last, "c3");
    assert_false (more);
    free (last);
    //  a page of one, then the rest
    json_t *page = authn_store_origins (s_store, "", 1000, 1, &last, &more);
    assert_int_equal (json_array_size (page), 1);
    assert_string_equal (last, "c1");
    assert_true (more);
    json_decref (page);
    free (last);
    last = NULL;
    page = authn_store_origins (s_store, "c1", 1000, 1, &last, &more);
    assert_int_equal (json_array_size (page), 1);
    assert_string_equal (last, "c3");
    json_decref (page);
    free (last);
    //  a page ends once its text reaches the bytes asked for
    page = authn_store_origins (s_store, NULL, 10, 10, &last, &more);
    assert_int_equal (json_array_size (page), 1);
    assert_true (more);
    json_decref (page);
    free (last);
    page = authn_store_origins (s_store, "c3", 1000, 10, &last, &more);
    assert_int_equal (json_array_size (page), 0);
    assert_null (last);
    assert_false (more);
    json_decref (page);
}

//  A SQLite file from before the metadata columns gets them, its users kept
static void
test_metadata_migration (void **state)
{
    (void) state;
    s_user ("auth0|old", "old@example.com");
    authn_store_destroy (&s_store);
    //  Back to version 4: the metadata columns and everything after them gone
    s_exec ("ALTER TABLE users DROP COLUMN app_metadata;"
            "ALTER TABLE users DROP COLUMN user_metadata;"
            "DROP INDEX signing_keys_current;"
            "DROP INDEX signing_keys_next;"
            "DROP INDEX signing_keys_previous;"
            "ALTER TABLE signing_keys DROP COLUMN is_next;"
            "ALTER TABLE signing_keys DROP COLUMN is_previous;"
            "ALTER TABLE signing_keys DROP COLUMN current_since;"
            "ALTER TABLE signing_keys DROP COLUMN current_until;"
            "ALTER TABLE signing_keys DROP COLUMN revoked_at;"
            "ALTER TABLE signing_keys DROP COLUMN cert_pem;"
            "ALTER TABLE signing_keys DROP COLUMN jwk;"
            "DROP TABLE signing_generation;"
            "ALTER TABLE clients DROP COLUMN web_origins;"
            "ALTER TABLE clients DROP COLUMN allowed_origins;"
            "DROP TABLE refresh_tokens;"
            "DROP TABLE audit;"
            "PRAGMA user_version = 4");
    s_store = authn_store_new (s_location);
    assert_non_null (s_store);
    assert_int_equal (s_update (AUTHN_USERS, "auth0|old", json_pack ("{s:{s:b}}",
        "user_metadata", "migrated", 1)), 0);
    json_t *user = authn_store_get (s_store, AUTHN_USERS, "auth0|old");
    assert_string_equal (json_string_value (json_object_get (user, "email")), "old@example.com");
    assert_true (json_is_true (json_object_get (json_object_get (user, "user_metadata"), "migrated")));
    json_decref (user);
}

//  A page of a list: the rows after offset, at most limit, and how many match
//  in all; users list by user_id too (exactly), and by email without case
static void
test_pages (void **state)
{
    (void) state;
    char user_id [32], email [64];
    //  Created in one second, they list as they came, not by id: a page
    //  follows the order of creation
    for (int index = 0; index < 5; index++) {
        snprintf (user_id, sizeof user_id, "auth0|u%d", index == 3? 9: index);
        snprintf (email, sizeof email, "user%d@example.com", index);
        s_user (user_id, email);
    }
    int64_t total = -1;
    json_t *page = authn_store_page (s_store, AUTHN_USERS, NULL, 1, 2, &total);
    assert_int_equal (total, 5);
    assert_int_equal (json_array_size (page), 2);
    assert_string_equal (json_string_value (json_object_get (json_array_get (page, 0), "user_id")),
                         "auth0|u1");
    assert_string_equal (json_string_value (json_object_get (json_array_get (page, 1), "user_id")),
                         "auth0|u2");
    json_decref (page);
    page = authn_store_page (s_store, AUTHN_USERS, NULL, 4, 2, NULL);
    assert_int_equal (json_array_size (page), 1);
    json_decref (page);
    page = authn_store_page (s_store, AUTHN_USERS, NULL, 50, 2, &total);
    assert_int_equal (json_array_size (page), 0);
    assert_int_equal (total, 5);
    json_decref (page);
    page = authn_store_page (s_store, AUTHN_USERS, NULL, 0, 0, &total);
    assert_int_equal (json_array_size (page), 0);
    json_decref (page);

    s_exec ("UPDATE users SET created_at = 1000");
    page = authn_store_page (s_store, AUTHN_USERS, NULL, 3, 2, NULL);
    assert_string_equal (json_string_value (json_object_get (json_array_get (page, 0), "user_id")),
                         "auth0|u9");
    assert_string_equal (json_string_value (json_object_get (json_array_get (page, 1), "user_id")),
                         "auth0|u4");
    json_decref (page);

    json_t *query = json_pack ("{s:s}", "user_id", "auth0|u9");
    page = authn_store_page (s_store, AUTHN_USERS, query, 0, 10, &total);
    assert_int_equal (total, 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (page, 0), "email")),
                         "user3@example.com");
    json_decref (page);
    json_object_set_new (query, "user_id", json_string ("AUTH0|U9"));
    page = authn_store_page (s_store, AUTHN_USERS, query, 0, 10, &total);
    assert_int_equal (total, 0);
    assert_int_equal (json_array_size (page), 0);
    json_decref (page);
    json_object_set_new (query, "user_id", json_string ("auth0|u9"));
    json_object_set_new (query, "email", json_string ("USER3@example.com"));
    page = authn_store_page (s_store, AUTHN_USERS, query, 0, 10, &total);
    assert_int_equal (total, 1);
    json_decref (page);
    json_object_set_new (query, "email", json_string ("user4@example.com"));
    page = authn_store_page (s_store, AUTHN_USERS, query, 0, 10, &total);
    assert_int_equal (total, 0);
    json_decref (page);
    json_decref (query);
    assert_null (authn_store_page (s_store, AUTHN_USERS, NULL, -1, 10, NULL));
    assert_null (authn_store_page (s_store, AUTHN_USERS, NULL, 0, -1, NULL));
}

//  created_at and updated_at follow the store's clock, the one authn's tests set
static int64_t
s_day_two (void)
{
    return 86400 + 3600;
}

static void
test_stamps_follow_the_clock (void **state)
{
    (void) state;
    authn_store_set_clock (s_store, s_day_two);
    s_user ("auth0|u1", "one@example.com");
    json_t *user = authn_store_get (s_store, AUTHN_USERS, "auth0|u1");
    assert_string_equal (json_string_value (json_object_get (user, "created_at")),
                         "1970-01-02T01:00:00.000Z");
    assert_string_equal (json_string_value (json_object_get (user, "updated_at")),
                         "1970-01-02T01:00:00.000Z");
    json_decref (user);
    s_exec ("UPDATE users SET updated_at = 0");
    assert_int_equal (s_update (AUTHN_USERS, "auth0|u1", json_pack ("{s:b}", "email_verified", 1)), 0);
    user = authn_store_get (s_store, AUTHN_USERS, "auth0|u1");
    assert_string_equal (json_string_value (json_object_get (user, "updated_at")),
                         "1970-01-02T01:00:00.000Z");
    json_decref (user);
    authn_store_set_clock (s_store, NULL);
}

int
main (void)
{
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_rows_as_shown, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lists, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_updates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_stamps_follow_the_clock, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_conflicts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_deletes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refuses_what_is_not_written, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_user_metadata, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_origins, s_setup, s_teardown),
    };
    //  What only a SQLite file has: a history of migrations to come up through
    const struct CMUnitTest sqlite_tests [] = {
        cmocka_unit_test_setup_teardown (test_metadata_migration, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (!test_db_is_postgres ())
        failed += cmocka_run_group_tests (sqlite_tests, NULL, NULL);
    return failed;
}
