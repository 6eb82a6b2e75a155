//  mfa_store: the tenant's MFA settings, factors and policies.
#include "mfa_store.h"
#include "mfa_store_sql.h"

//  ---------------------------------------------------------------------------
//  Factors and policies

int
mfa_store_factor_enabled (mfa_store_t *self, const char *name)
{
    int64_t enabled = mfa_store_sql_scalar (self, -1,
        "SELECT enabled FROM factors WHERE name = ?", "t", name);
    return enabled < 0? -1: enabled? 1: 0;
}

int
mfa_store_factor_set (mfa_store_t *self, const char *name, int enabled)
{
    int changes = mfa_store_sql_run (self,
        "UPDATE factors SET enabled = ? WHERE name = ?", "nt", enabled? 1: 0, name);
    return changes == 1? 0: -1;
}

json_t *
mfa_store_factors (mfa_store_t *self)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT name, enabled FROM factors ORDER BY position", "");
    if (!stmt)
        return NULL;
    json_t *factors = json_array ();
    int rc;
    while ((rc = mfa_store_sql_step (self, stmt)) == 1)
        json_array_append_new (factors, json_pack ("{s:o, s:b}",
            "name", mfa_store_sql_json (stmt, 0), "enabled", (int) pst_sql_int64 (stmt, 1)));
    pst_sql_done (stmt);
    if (rc < 0)
        json_decref (factors);
    return rc < 0? NULL: factors;
}

json_t *
mfa_store_policies (mfa_store_t *self)
{
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self, "SELECT name FROM policies ORDER BY name", "");
    if (!stmt)
        return NULL;
    json_t *policies = json_array ();
    int rc;
    while ((rc = mfa_store_sql_step (self, stmt)) == 1)
        json_array_append_new (policies, mfa_store_sql_json (stmt, 0));
    pst_sql_done (stmt);
    if (rc < 0)
        json_decref (policies);
    return rc < 0? NULL: policies;
}

int
mfa_store_policies_set (mfa_store_t *self, const json_t *names)
{
    if (!json_is_array (names) || mfa_store_sql_run (self, "DELETE FROM policies", "") < 0)
        return -1;
    size_t index;
    json_t *name;
    json_array_foreach (names, index, name) {
        if (!json_is_string (name)
        ||  mfa_store_sql_run (self, "INSERT INTO policies (name) VALUES (?)"
                               " ON CONFLICT DO NOTHING",
                               "t", json_string_value (name)) < 0)
            return -1;
    }
    return 0;
}

int
mfa_store_policy_has (mfa_store_t *self, const char *name)
{
    return (int) mfa_store_sql_scalar (self, 0, "SELECT 1 FROM policies WHERE name = ?", "t", name);
}
