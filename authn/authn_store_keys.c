//  authn_store: the signing keys and their rotation. A key's role is one of
//  three flags (is_current, is_next, is_previous; a unique index keeps each to
//  one key) or none once revoked_at is set. signing_generation's one row counts
//  the changes, so that a worker can tell with one read that it must reload.
#include "authn_store.h"
#include "authn_store_sql.h"
#include <stdlib.h>
#include <string.h>

#define REVOKED_KEPT    "3"     //  revoked keys kept and listed, as Auth0's dashboard lists them

//  Runs the statements of a change of the keys in one transaction that also
//  raises the generation. change returns 0 done, 1 refused (rolled back), -1 error.
typedef int (change_fn) (authn_store_t *self, void *args);

static int
s_change (authn_store_t *self, change_fn *change, void *args)
{
    if (authn_store_begin (self) != 0)
        return -1;
    int rc = change (self, args);
    if (rc == 0)
        rc = authn_store_sql_run (self,
            "UPDATE signing_generation SET generation = generation + 1 WHERE id = 1", NULL) == 0
           ? 0: -1;
    if (rc == 0)
        rc = authn_store_commit (self) == 0? 0: -1;
    if (rc != 0)
        authn_store_rollback (self);
    return rc;
}

int
authn_store_signing_missing (authn_store_t *self)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT 2 - (SELECT count(*) FROM signing_keys WHERE is_current = 1)"
        "         - (SELECT count(*) FROM signing_keys WHERE is_next = 1)", NULL);
    int missing = stmt && sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int (stmt, 0): -1;
    sqlite3_finalize (stmt);
    return missing;
}

typedef struct {
    const char *kid;
    const char *private_pem;
    const char *cert_pem;
    const char *jwk;
    int64_t now;
} key_args_t;

static int
s_add (authn_store_t *self, void *args)
{
    key_args_t *key = (key_args_t *) args;
    int missing = authn_store_signing_missing (self);
    if (missing <= 0)
        return missing == 0? 1: -1;
    return authn_store_sql_run (self,
        "INSERT INTO signing_keys (kid, private_pem, cert_pem, jwk, is_current, is_next,"
        " current_since, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, 1 - ?5, CASE WHEN ?5 = 1 THEN ?6 END, ?6)",
        "ttttni", key->kid, key->private_pem, key->cert_pem, key->jwk, missing == 2? 1: 0,
        key->now) == 0? 0: -1;
}

int
authn_store_signing_add (authn_store_t *self, const char *kid, const char *private_pem,
                         const char *cert_pem, const char *jwk, int64_t now)
{
    key_args_t key = { kid, private_pem, cert_pem, jwk, now };
    return s_change (self, s_add, &key);
}

int
authn_store_signing_uncertified (authn_store_t *self, char **kid_p, char **pem_p)
{
    *kid_p = *pem_p = NULL;
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT kid, private_pem FROM signing_keys"
        " WHERE cert_pem IS NULL AND (is_current = 1 OR is_next = 1 OR is_previous = 1)"
        " LIMIT 1", NULL);
    if (!stmt)
        return -1;
    int step = sqlite3_step (stmt);
    int rc = step == SQLITE_DONE? 1: step == SQLITE_ROW? 0: -1;
    if (rc == 0) {
        *kid_p = pst_db_column_strdup (stmt, 0);
        *pem_p = pst_db_column_strdup (stmt, 1);
        if (!*kid_p || !*pem_p) {
            free (*kid_p);
            free (*pem_p);
            *kid_p = *pem_p = NULL;
            rc = -1;
        }
    }
    sqlite3_finalize (stmt);
    return rc;
}

static int
s_certify (authn_store_t *self, void *args)
{
    key_args_t *key = (key_args_t *) args;
    return authn_store_sql_run (self,
        "UPDATE signing_keys SET cert_pem = ?, jwk = ? WHERE kid = ?",
        "ttt", key->cert_pem, key->jwk, key->kid) == 0? 0: -1;
}

int
authn_store_signing_certify (authn_store_t *self, const char *kid, const char *cert_pem,
                             const char *jwk)
{
    key_args_t key = { kid, NULL, cert_pem, jwk, 0 };
    return s_change (self, s_certify, &key);
}

int
authn_store_signing_current (authn_store_t *self, char **kid_p, char **pem_p,
                             int64_t *generation_p)
{
    *kid_p = *pem_p = NULL;
    //  One statement, so that the key and its generation cannot disagree
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT kid, private_pem, (SELECT generation FROM signing_generation WHERE id = 1)"
        " FROM signing_keys WHERE is_current = 1", NULL);
    if (!stmt)
        return -1;
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        *kid_p = pst_db_column_strdup (stmt, 0);
        *pem_p = pst_db_column_strdup (stmt, 1);
        *generation_p = sqlite3_column_int64 (stmt, 2);
        rc = *kid_p && *pem_p? 0: -1;
    }
    sqlite3_finalize (stmt);
    if (rc != 0) {
        free (*kid_p);
        free (*pem_p);
        *kid_p = *pem_p = NULL;
    }
    return rc;
}

int64_t
authn_store_signing_generation (authn_store_t *self)
{
    sqlite3_stmt *stmt = pst_db_cache_prepare (self->cache,
        "SELECT generation FROM signing_generation WHERE id = 1");
    int64_t generation = stmt && sqlite3_step (stmt) == SQLITE_ROW
                       ? sqlite3_column_int64 (stmt, 0): -1;
    pst_db_cache_done (self->cache, stmt);
    return generation;
}

static json_t *
s_time_or_null (sqlite3_stmt *stmt, int column)
{
    return sqlite3_column_type (stmt, column) == SQLITE_NULL
         ? json_null (): json_integer ((json_int_t) sqlite3_column_int64 (stmt, column));
}

static json_t *
s_key_row (sqlite3_stmt *stmt)
{
    const char *jwk_text = (const char *) sqlite3_column_text (stmt, 2);
    json_t *jwk = jwk_text? json_loads (jwk_text, 0, NULL): NULL;
    return json_pack ("{s:s?, s:s?, s:o, s:b, s:b, s:b, s:b, s:o, s:o, s:o}",
        "kid", (const char *) sqlite3_column_text (stmt, 0),
        "cert", (const char *) sqlite3_column_text (stmt, 1),
        "jwk", jwk? jwk: json_null (),
        "current", sqlite3_column_int (stmt, 3), "next", sqlite3_column_int (stmt, 4),
        "previous", sqlite3_column_int (stmt, 5),
        "revoked", sqlite3_column_type (stmt, 8) != SQLITE_NULL,
        "current_since", s_time_or_null (stmt, 6), "current_until", s_time_or_null (stmt, 7),
        "revoked_at", s_time_or_null (stmt, 8));
}

json_t *
authn_store_signing_list (authn_store_t *self)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT kid, cert_pem, jwk, is_current, is_next, is_previous, current_since,"
        " current_until, revoked_at FROM signing_keys"
        " ORDER BY is_current DESC, is_next DESC, is_previous DESC, revoked_at DESC, rowid DESC",
        NULL);
    if (!stmt)
        return NULL;
    json_t *keys = json_array ();
    int rc = SQLITE_DONE;
    while (keys && (rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        json_t *key = s_key_row (stmt);
        if (!key || json_array_append_new (keys, key)) {
            json_decref (keys);
            keys = NULL;
        }
    }
    sqlite3_finalize (stmt);
    if (keys && rc != SQLITE_DONE) {
        json_decref (keys);
        keys = NULL;
    }
    return keys;
}

static int
s_rotate (authn_store_t *self, void *args)
{
    key_args_t *key = (key_args_t *) args;
    int missing = authn_store_signing_missing (self);
    if (missing != 0)
        return missing > 0? 1: -1;
    //  In this order, so that no unique index sees two keys in one role
    static const char *const steps [] = {
        "UPDATE signing_keys SET is_previous = 0, revoked_at = ?1, private_pem = ''"
        " WHERE is_previous = 1",
        "UPDATE signing_keys SET is_current = 0, is_previous = 1, current_until = ?1"
        " WHERE is_current = 1",
        "UPDATE signing_keys SET is_next = 0, is_current = 1, current_since = ?1"
        " WHERE is_next = 1",
        NULL
    };
    for (const char *const *step = steps; *step; step++)
        if (authn_store_sql_run (self, *step, "i", key->now) != 0)
            return -1;
    if (authn_store_sql_run (self,
            "DELETE FROM signing_keys WHERE revoked_at IS NOT NULL AND kid NOT IN"
            " (SELECT kid FROM signing_keys WHERE revoked_at IS NOT NULL"
            "  ORDER BY revoked_at DESC, rowid DESC LIMIT " REVOKED_KEPT ")", NULL) != 0)
        return -1;
    return authn_store_sql_run (self,
        "INSERT INTO signing_keys (kid, private_pem, cert_pem, jwk, is_next, created_at)"
        " VALUES (?, ?, ?, ?, 1, ?)",
        "tttti", key->kid, key->private_pem, key->cert_pem, key->jwk, key->now) == 0? 0: -1;
}

int
authn_store_signing_rotate (authn_store_t *self, const char *kid, const char *private_pem,
                            const char *cert_pem, const char *jwk, int64_t now)
{
    key_args_t key = { kid, private_pem, cert_pem, jwk, now };
    return s_change (self, s_rotate, &key);
}
