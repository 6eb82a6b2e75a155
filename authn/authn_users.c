#include "authn_users.h"
#include "authn_fields.h"
#include "authn_metadata.h"
#include "authn_search.h"
#include "authn_mfa.h"
#include "authn_store.h"
#include "authn_worker.h"
#include "pst_crypto.h"
#include "pst_email.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_payload.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMAIL_MAX_LEN       PST_EMAIL_MAX
#define PROVIDER            "auth0|"
//  A caller's user_id is the part after PROVIDER: the whole id stays within
//  the 256 bytes every service keeps for a user id
#define BARE_ID_MAX_LEN     249
#define BARE_ID_CHARS       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.@+=:~"

static authn_store_t *
s_store (void *worker)
{
    return ((authn_worker_t *) worker)->store;
}

//  The Management API's body and path id. An op whose row in pst_ops.def lists
//  "data" or "id" only runs with them present (pst_catalogue_check).
static json_t *
s_data (const pst_msg_t *request)
{
    json_t *data = json_object_get (pst_msg_body (request), "data");
    return json_is_object (data)? data: NULL;
}

static const char *
s_id (const pst_msg_t *request)
{
    return pst_json_str (pst_msg_body (request), "id");
}

//  A member of changes when value is given
static void
s_change (json_t *changes, const char *key, const char *value)
{
    if (value)
        json_object_set_new (changes, key, json_string (value));
}

//  The new user's id: "auth0|" and the caller's user_id, as Auth0 makes the id
//  of a database connection's user (a migration keeps every sub), or 24 random
//  hex digits. 0, or -1 after failing reply.
static int
s_new_user_id (pst_msg_t *reply, const json_t *data, char *user_id, size_t size)
{
    json_t *given = json_object_get (data, "user_id");
    if (!given) {
        snprintf (user_id, size, PROVIDER);
        pst_random_hex (user_id + strlen (PROVIDER), size - strlen (PROVIDER), 12);
        return 0;
    }
    const char *bare = json_string_value (given);
    size_t length = bare? strlen (bare): 0;
    //  Given whole, it would become "auth0|auth0|..." as Auth0 makes it: refused
    //  instead, since no migration wants that
    if (bare && strchr (bare, '|'))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: user_id is "
            "given without its provider: \"abc\" becomes \"" PROVIDER "abc\"");
    if (length == 0 || length > BARE_ID_MAX_LEN || strspn (bare, BARE_ID_CHARS) != length)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: user_id must "
            "be 1 to %d characters of A-Z a-z 0-9 - _ . @ + = : ~", BARE_ID_MAX_LEN);
    snprintf (user_id, size, PROVIDER "%s", bare);
    return 0;
}

//  The metadata members a user has, each merged on its own (authn_metadata)
static const char *s_metadata [] = { "app_metadata", "user_metadata" };
#define METADATA_COUNT  (sizeof s_metadata / sizeof s_metadata [0])

//  Checks the metadata members of data: 0 with changes [i] (borrowed, NULL
//  when absent) for each of s_metadata, or -1 after failing reply
static int
s_metadata_changes (pst_msg_t *reply, const json_t *data, json_t **changes)
{
    for (size_t index = 0; index < METADATA_COUNT; index++)
        if (authn_metadata_check (reply, data, s_metadata [index], &changes [index]))
            return -1;
    return 0;
}

//  Sets on row each metadata member that changes asks for, merged into what
//  current (a user as shown; NULL for a new one) holds. 0, or -1 after failing
//  reply.
static int
s_metadata_merge (pst_msg_t *reply, json_t *row, const json_t *current, json_t **changes)
{
    for (size_t index = 0; index < METADATA_COUNT; index++) {
        if (!changes [index])
            continue;
        const char *key = s_metadata [index];
        json_t *merged = authn_metadata_merge (reply, key, json_object_get (current, key),
                                               changes [index]);
        if (!merged || json_object_set_new (row, key, merged))
            return -1;
    }
    return 0;
}

//  The members each payload may hold (pst_payload_only). An update may name
//  the connection, as Auth0 asks of a password change; it must be this one.
static const char *const s_create_members [] = { "email", "connection", "password",
    "email_verified", "user_id", "app_metadata", "user_metadata", NULL };
static const char *const s_update_members [] = { "email", "connection", "password",
    "email_verified", "app_metadata", "user_metadata", NULL };

AUTHN_HANDLER (authn_users_create)
{
    json_t *data = s_data (request);
    const char *email, *password, *connection;
    int verified = 0;
    if (pst_payload_only (reply, data, s_create_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "email", EMAIL_MAX_LEN, NULL, &email)
    ||  authn_fields_string (reply, data, "connection", 128, NULL, &connection)
    ||  authn_fields_password (reply, data, &password)
    ||  authn_fields_bool (reply, data, "email_verified", &verified))
        return -1;
    if (strcmp (connection, AUTHN_CONNECTION) != 0)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The connection does not exist.");
    if (!email || !pst_email_valid (email))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid email");
    char user_id [sizeof PROVIDER + BARE_ID_MAX_LEN];
    json_t *metadata [METADATA_COUNT];
    if (s_new_user_id (reply, data, user_id, sizeof user_id)
    ||  s_metadata_changes (reply, data, metadata))
        return -1;
    char *hash = pst_password_hash (password);
    if (!hash)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not hash the password");
    json_t *row = json_pack ("{s:s, s:s, s:s, s:b}", "user_id", user_id, "email", email,
                             "password_hash", hash, "email_verified", verified);
    free (hash);
    if (!row || s_metadata_merge (reply, row, NULL, metadata)) {
        json_decref (row);
        return pst_msg_is_error (reply)? -1:
               pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the user");
    }
    int rc = authn_store_insert (s_store (worker), AUTHN_USERS, row);
    json_decref (row);
    if (rc == 1)
        return pst_msg_fail (reply, PST_ERR_CONFLICT, "The user already exists.");
    if (rc != 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not store the user");
    pst_log (PST_LOG_INFO, "user_created", "user_id", user_id, "by", pst_msg_caller (request), NULL);
    json_t *user = authn_store_get (s_store (worker), AUTHN_USERS, user_id);
    if (!user)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not read the user back");
    pst_msg_set_body (reply, &user);
    return 0;
}

//  Auth0's list and search of users (authn_search): an array, or with
//  include_totals {users, start, limit, length, total}
AUTHN_HANDLER (authn_users_list)
{
    authn_search_t search;
    if (authn_search_read (reply, json_object_get (pst_msg_body (request), "query"), &search)) {
        authn_search_clear (&search);
        return -1;
    }
    int64_t start = search.page * search.per_page, total = 0;
    json_t *users = authn_store_page (s_store (worker), AUTHN_USERS, search.filters, start,
                                      search.per_page, search.totals? &total: NULL);
    authn_search_clear (&search);
    if (!users)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    json_t *body = search.totals
        ? json_pack ("{s:o, s:I, s:i, s:I, s:I}", "users", users, "start", (json_int_t) start,
                     "limit", search.per_page, "length", (json_int_t) json_array_size (users),
                     "total", (json_int_t) total)
        : json_pack ("{s:o}", "result", users);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    //  A page is one bus message (PST_MSG_MAX_SIZE): one that would not fit is
    //  refused in words, not lost on the way
    uint8_t *encoded = NULL;
    size_t size = 0;
    if (pst_msg_encode (reply, &encoded, &size) != 0) {
        json_t *empty = json_object ();
        pst_msg_set_body (reply, &empty);
        return pst_msg_fail (reply, PST_ERR_INVALID_QUERY_STRING, "Query validation error: "
            "the users of this page are more than one answer carries (%d KiB); ask for a "
            "smaller per_page", PST_MSG_MAX_SIZE / 1024);
    }
    free (encoded);
    return 0;
}

//  Auth0's users-by-email: the address compares without case (the column's
//  collation), as Auth0 stores its users' addresses in lower case
AUTHN_HANDLER (authn_users_by_email)
{
    const json_t *query = json_object_get (pst_msg_body (request), "query");
    json_t *filters = json_pack ("{s:s}", "email", pst_json_str (query, "email"));
    json_t *users = filters? authn_store_list (s_store (worker), AUTHN_USERS, filters): NULL;
    json_decref (filters);
    if (!users)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    json_t *body = json_pack ("{s:o}", "result", users);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}

AUTHN_HANDLER (authn_users_get)
{
    json_t *user = authn_store_get (s_store (worker), AUTHN_USERS, s_id (request));
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    pst_msg_set_body (reply, &user);
    return 0;
}

//  The metadata is read and written in one transaction, so that two updates of
//  different members both stand
AUTHN_HANDLER (authn_users_update)
{
    const char *id = s_id (request);
    json_t *data = s_data (request);
    const char *email, *password, *connection;
    int verified = -1;
    json_t *metadata [METADATA_COUNT];
    if (pst_payload_only (reply, data, s_update_members, PST_PAYLOAD_NAME_PRINTABLE)
    ||  authn_fields_string (reply, data, "connection", 128, NULL, &connection)
    ||  authn_fields_string (reply, data, "email", EMAIL_MAX_LEN, NULL, &email)
    ||  authn_fields_password (reply, data, &password)
    ||  authn_fields_bool (reply, data, "email_verified", &verified)
    ||  s_metadata_changes (reply, data, metadata))
        return -1;
    if (connection && strcmp (connection, AUTHN_CONNECTION) != 0)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "The connection does not exist.");
    if (email && !pst_email_valid (email))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid email");
    //  Hashed before the transaction: argon2id must not hold the write lock
    char *hash = password? pst_password_hash (password): NULL;
    if (password && !hash)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not hash the password");
    json_t *changes = json_object ();
    s_change (changes, "email", email);
    s_change (changes, "password_hash", hash);
    free (hash);
    if (verified >= 0)
        json_object_set_new (changes, "email_verified", json_boolean (verified));

    authn_store_t *store = s_store (worker);
    if (authn_store_begin (store) != 0) {
        json_decref (changes);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the user");
    }
    json_t *current = authn_store_get (store, AUTHN_USERS, id);
    int rc = current? 0: pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    if (rc == 0)
        rc = s_metadata_merge (reply, changes, current, metadata);
    if (rc == 0) {
        rc = authn_store_update (store, AUTHN_USERS, id, changes);
        if (rc == 1)
            pst_msg_fail (reply, PST_ERR_CONFLICT, "The specified new email already exists");
    }
    if (rc == 0 && authn_store_commit (store) != 0)
        rc = -1;
    if (rc != 0)
        authn_store_rollback (store);
    json_decref (current);
    json_decref (changes);
    if (rc != 0)
        return pst_msg_is_error (reply)? -1:
               pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not update the user");
    return authn_users_get (worker, request, reply);
}

//  A deleted user's authenticators and recovery code go first: left behind, they
//  would be secrets nobody can reach or remove. If mfa cannot do it now, the user
//  stays and the caller gets 503 and may retry.
AUTHN_HANDLER (authn_users_delete)
{
    const char *id = s_id (request);
    authn_user_t *user = authn_store_user_by_id (s_store (worker), id);
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    authn_user_destroy (&user);
    json_t *body = json_pack ("{s:s}", "id", id);
    pst_msg_t *answer = authn_mfa_call_as ((authn_worker_t *) worker, request, reply,
        "authentication_methods.delete_all", "delete:authentication_methods", &body);
    if (!answer)
        return -1;
    int failed = pst_msg_is_error (answer);
    if (failed)
        authn_mfa_relay_error (reply, answer);
    pst_msg_destroy (&answer);
    if (failed)
        return -1;
    //  Its refresh tokens go before it: a user made again with the same id
    //  must not inherit them
    if (authn_store_refresh_forget_user (s_store (worker), id))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not delete the user");
    int deleted = authn_store_delete (s_store (worker), AUTHN_USERS, id);
    if (deleted < 0)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not delete the user");
    if (deleted == 0)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    return 0;
}

//  mfa alone would answer an unknown user with an empty list, and cannot tell a
//  mistyped user id from a user without authenticators
AUTHN_HANDLER (authn_users_mfa)
{
    const char *id = s_id (request);
    authn_user_t *user = authn_store_user_by_id (s_store (worker), id);
    if (!user)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    authn_user_destroy (&user);
    return authn_mfa_forward ((authn_worker_t *) worker, request, reply);
}
