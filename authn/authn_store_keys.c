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
    return (int) pst_sql_scalar (self->sql, -1,
        "SELECT 2 - (SELECT count(*) FROM signing_keys WHERE is_current = 1)"
        "         - (SELECT count(*) FROM signing_keys WHERE is_next = 1)", NULL);
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
    //  One text per role rather than arithmetic on a parameter: PostgreSQL
    //  gives a parameter one type, and `1 - ?` would make it a 32-bit one
    const char *sql = missing == 2
        ? "INSERT INTO signing_keys (kid, private_pem, cert_pem, jwk, is_current, is_next,"
          " current_since, created_at) VALUES (?1, ?2, ?3, ?4, 1, 0, ?5, ?5)"
        : "INSERT INTO signing_keys (kid, private_pem, cert_pem, jwk, is_current, is_next,"
          " current_since, created_at) VALUES (?1, ?2, ?3, ?4, 0, 1, NULL, ?5)";
    return authn_store_sql_run (self, sql, "tttti", key->kid, key->private_pem, key->cert_pem,
                                key->jwk, key->now) == 0? 0: -1;
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
    //  Ordered, so that both engines pick the same key when several lack one
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT kid, private_pem FROM signing_keys"
        " WHERE cert_pem IS NULL AND (is_current = 1 OR is_next = 1 OR is_previous = 1)"
        " ORDER BY created_at, kid LIMIT 1", NULL);
    if (!stmt)
        return -1;
    int step = pst_sql_step (stmt);
    int rc = step == 0? 1: step == 1? 0: -1;
    if (rc == 0) {
        *kid_p = pst_sql_strdup (stmt, 0);
        *pem_p = pst_sql_strdup (stmt, 1);
        if (!*kid_p || !*pem_p) {
            free (*kid_p);
            free (*pem_p);
            *kid_p = *pem_p = NULL;
            rc = -1;
        }
    }
    pst_sql_done (stmt);
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
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT kid, private_pem, (SELECT generation FROM signing_generation WHERE id = 1)"
        " FROM signing_keys WHERE is_current = 1", NULL);
    if (!stmt)
        return -1;
    int rc = -1;
    if (pst_sql_step (stmt) == 1) {
        *kid_p = pst_sql_strdup (stmt, 0);
        *pem_p = pst_sql_strdup (stmt, 1);
        *generation_p = pst_sql_int64 (stmt, 2);
        rc = *kid_p && *pem_p? 0: -1;
    }
    pst_sql_done (stmt);
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
    return pst_sql_scalar (self->sql, -1,
        "SELECT generation FROM signing_generation WHERE id = 1", NULL);
}

static json_t *
s_time_or_null (pst_sql_stmt_t *stmt, int column)
{
    return pst_sql_is_null (stmt, column)
         ? json_null (): json_integer ((json_int_t) pst_sql_int64 (stmt, column));
}

static json_t *
s_key_row (pst_sql_stmt_t *stmt)
{
    const char *jwk_text = pst_sql_text (stmt, 2);
    json_t *jwk = jwk_text? json_loads (jwk_text, 0, NULL): NULL;
    return json_pack ("{s:s?, s:s?, s:o, s:b, s:b, s:b, s:b, s:o, s:o, s:o}",
        "kid", pst_sql_text (stmt, 0),
        "cert", pst_sql_text (stmt, 1),
        "jwk", jwk? jwk: json_null (),
        "current", pst_sql_int64 (stmt, 3) != 0, "next", pst_sql_int64 (stmt, 4) != 0,
        "previous", pst_sql_int64 (stmt, 5) != 0,
        "revoked", !pst_sql_is_null (stmt, 8),
        "current_since", s_time_or_null (stmt, 6), "current_until", s_time_or_null (stmt, 7),
        "revoked_at", s_time_or_null (stmt, 8));
}

json_t *
authn_store_signing_list (authn_store_t *self)
{
    //  NULLS LAST as SQLite has it under DESC (PostgreSQL would put them
    //  first); the latest made first among keys revoked together
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT kid, cert_pem, jwk, is_current, is_next, is_previous, current_since,"
        " current_until, revoked_at FROM signing_keys"
        " ORDER BY is_current DESC, is_next DESC, is_previous DESC, revoked_at DESC NULLS LAST,"
        " created_at DESC, kid DESC", NULL);
    if (!stmt)
        return NULL;
    json_t *keys = json_array ();
    int rc = 0;
    while (keys && (rc = pst_sql_step (stmt)) == 1) {
        json_t *key = s_key_row (stmt);
        if (!key || json_array_append_new (keys, key)) {
            json_decref (keys);
            keys = NULL;
        }
    }
    pst_sql_done (stmt);
    if (keys && rc != 0) {
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
            "  ORDER BY revoked_at DESC, created_at DESC, kid DESC LIMIT " REVOKED_KEPT ")",
            NULL) != 0)
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
