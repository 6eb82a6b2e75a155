#include "authn_bootstrap.h"
#include "authn_admin.h"
#include "authn_keys.h"
#include "authn_store.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The MFA API's tokens live ten minutes, fixed, as Auth0's do (contract.md):
//  one may change a user's authenticators
#define MFA_API_LIFETIME_S  600

static json_t *
s_scope_array (const char *const *scopes)
{
    json_t *array = json_array ();
    for (; *scopes; scopes++)
        json_array_append_new (array, json_string (*scopes));
    return array;
}

//  The Management API and the MFA API are resource servers like any other, but
//  system ones: they cannot be changed or deleted through the API. One that is
//  there already is brought up to date at every start: its scopes are the
//  catalogue's, and its token lifetime the fixed one when lifetime_fixed (both:
//  a database made before held 86400 on each).
static int
s_ensure_system_api (authn_store_t *store, const char *identifier, const char *name,
                     const char *const *scopes, int lifetime, int lifetime_fixed)
{
    json_t *list = json_array ();
    for (const char *const *scope = scopes; *scope; scope++)
        json_array_append_new (list, json_pack ("{s:s, s:s}", "value", *scope, "description", *scope));
    char id [32];
    pst_random_hex (id, 25, 12);
    json_t *row = json_pack ("{s:s, s:s, s:s, s:O, s:i, s:b, s:b}", "id", id,
        "identifier", identifier, "name", name, "scopes", list,
        "token_lifetime", lifetime, "allow_offline_access", 0, "is_system", 1);
    //  Looked up rather than inserted and refused: this runs in the bootstrap's
    //  transaction, which a refused statement ends on PostgreSQL
    json_t *existing = authn_store_get (store, AUTHN_RESOURCE_SERVERS, identifier);
    int rc = existing? 1: row? authn_store_insert (store, AUTHN_RESOURCE_SERVERS, row): -1;
    json_decref (existing);
    json_decref (row);
    if (rc == 1) {
        json_t *changes = json_pack ("{s:O}", "scopes", list);
        if (changes && lifetime_fixed)
            json_object_set_new (changes, "token_lifetime", json_integer (lifetime));
        rc = changes? authn_store_update (store, AUTHN_RESOURCE_SERVERS, identifier, changes): -1;
        json_decref (changes);
    }
    json_decref (list);
    return rc == 0? 0: -1;
}

//  Writes the bootstrap credentials atomically, readable by the owner only.
static int
s_write_bootstrap (const authn_config_t *config, const char *audience,
                   const char *client_id, const char *client_secret)
{
    char token_endpoint [512];
    snprintf (token_endpoint, sizeof token_endpoint, "%soauth/token", config->issuer);
    json_t *doc = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "domain", config->domain,
        "token_endpoint", token_endpoint, "audience", audience,
        "client_id", client_id, "client_secret", client_secret);
    char *text = json_dumps (doc, JSON_INDENT (2));
    json_decref (doc);
    char *temporary = NULL;
    int rc = -1;
    if (text && asprintf (&temporary, "%s.tmp", config->bootstrap_path) >= 0) {
        //  A leftover or planted .tmp (a symlink to elsewhere, a file others can
        //  read) must never receive the secret: remove it, then create afresh
        unlink (temporary);
        int fd = open (temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            pst_log (PST_LOG_ERROR, "bootstrap_write_failed", "path", temporary,
                     "reason", strerror (errno), NULL);
        if (fd >= 0) {
            size_t size = strlen (text);
            rc = fchmod (fd, 0600) == 0
              && write (fd, text, size) == (ssize_t) size && write (fd, "\n", 1) == 1
              && fsync (fd) == 0? 0: -1;
            close (fd);
            if (rc == 0)
                rc = rename (temporary, config->bootstrap_path);
        }
    }
    if (text) {
        sodium_memzero (text, strlen (text));
        free (text);
    }
    free (temporary);
    return rc;
}

//  A fresh secret for an existing management application whose credentials file
//  is gone: the secret is only stored hashed, so it cannot be written out again.
static char *
s_rotate_secret (authn_store_t *store, const char *client_id)
{
    char secret [80];
    pst_random_token (secret, sizeof secret, 48);
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    int rc = authn_store_client_set_secret (store, client_id, hash);
    char *copy = rc == 0? strdup (secret): NULL;
    sodium_memzero (secret, sizeof secret);
    return copy;
}

//  The management application's grant holds every scope of the Management API,
//  brought up to date at every start like the system APIs: a data directory
//  from before a Management operation gains its scope, so the bootstrap
//  credentials reach everything this version serves.
static int
s_ensure_management_grant (authn_store_t *store, const char *client_id,
                           const char *management, const char *const *scopes)
{
    json_t *current = authn_store_get (store, AUTHN_CLIENT_GRANTS, "cgr_management");
    json_t *row = current?
        json_pack ("{s:o}", "scope", s_scope_array (scopes)):
        json_pack ("{s:s, s:s, s:s, s:o}", "id", "cgr_management", "client_id", client_id,
                   "audience", management, "scope", s_scope_array (scopes));
    int rc = -1;
    if (row)
        rc = current? authn_store_update (store, AUTHN_CLIENT_GRANTS, "cgr_management", row):
                      authn_store_insert (store, AUTHN_CLIENT_GRANTS, row);
    json_decref (current);
    json_decref (row);
    return rc == 0? 0: -1;
}

static int
s_bootstrap (const authn_config_t *config, authn_store_t *store,
             const char *const *management_scopes, const char *const *mfa_scopes)
{
    char management [512], mfa_api [512];
    snprintf (management, sizeof management, "%sapi/v2/", config->issuer);
    snprintf (mfa_api, sizeof mfa_api, "%smfa/", config->issuer);
    if (s_ensure_system_api (store, management, "Postern Management API", management_scopes,
                             config->mgmt_token_lifetime_s, 1)
    ||  s_ensure_system_api (store, mfa_api, "Postern MFA API", mfa_scopes, MFA_API_LIFETIME_S, 1))
        return -1;

    char *client_id = authn_store_system_client (store);
    char *client_secret = NULL;
    if (!client_id) {
        json_t *grants = json_pack ("[s]", "client_credentials");
        int rc = authn_admin_insert_client (store, "Postern Management", "non_interactive",
                                            "client_secret_post", grants, 1, &client_id, &client_secret);
        json_decref (grants);
        if (rc != 0)
            return -1;
    }
    else
    if (access (config->bootstrap_path, F_OK) != 0) {
        client_secret = s_rotate_secret (store, client_id);
        pst_log (PST_LOG_WARN, "bootstrap_secret_rotated", "client_id", client_id,
                 "reason", "credentials file missing", NULL);
    }
    int rc = s_ensure_management_grant (store, client_id, management, management_scopes);
    if (rc == 0 && client_secret) {
        rc = s_write_bootstrap (config, management, client_id, client_secret);
        pst_log (rc == 0? PST_LOG_INFO: PST_LOG_ERROR, "bootstrap_credentials_written",
                 "path", config->bootstrap_path, "client_id", client_id, NULL);
        sodium_memzero (client_secret, strlen (client_secret));
    }
    free (client_secret);
    free (client_id);
    return rc;
}

int
authn_bootstrap_run (const authn_config_t *config, const char *const *management_scopes,
                     const char *const *mfa_scopes)
{
    authn_store_t *store = authn_store_new (config->db_path);
    if (!store)
        return -1;
    authn_store_set_clock (store, config->now_s);
    int rc = authn_keys_prepare (store, config);
    if (rc == 0 && authn_store_begin (store) == 0) {
        rc = s_bootstrap (config, store, management_scopes, mfa_scopes);
        if (rc == 0)
            rc = authn_store_commit (store);
        else
            authn_store_rollback (store);
    }
    authn_store_destroy (&store);
    return rc;
}
