//  authn_store: the audit log of sign-ins and token exchanges.
#include "authn_store.h"
#include "authn_store_sql.h"

int
authn_store_audit_insert (authn_store_t *self, const authn_audit_row_t *row)
{
    return authn_store_sql_run (self,
        "INSERT INTO audit (type, user_id, user_name, client_id, ip, result, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ttttttti", row->type, row->user_id, row->user_name,
        row->client_id, row->ip, row->result? row->result: "success", row->detail,
        row->created_at) == 0? 0: -1;
}

//  The filter's WHERE, shared by the page (in either order) and the count
#define AUDIT_WHERE \
    " WHERE (CAST(?1 AS TEXT) IS NULL OR type = ?1) AND (CAST(?2 AS TEXT) IS NULL OR user_id = ?2)" \
    " AND (CAST(?3 AS TEXT) IS NULL OR client_id = ?3) AND created_at >= ?4 AND created_at <= ?5"
#define AUDIT_PAGE(order) \
    "SELECT id, created_at, type, user_id, user_name, client_id, ip, result, detail FROM audit" \
    AUDIT_WHERE " AND (created_at > ?6 OR (created_at = ?6 AND id > ?7))" \
    " ORDER BY created_at " order ", id " order " LIMIT ?8 OFFSET ?9"

int
authn_store_audit_page (authn_store_t *self, const pst_logs_filter_t *filter, json_t **rows_p,
                        int64_t *total_p)
{
    *total_p = 0;
    if (filter->totals
    &&  (*total_p = pst_sql_scalar (self->sql, 0, "SELECT count(*) FROM audit" AUDIT_WHERE,
                        "tttii", filter->type, filter->user_id, filter->client_id,
                        filter->date_from, filter->date_to)) < 0)
        return -1;
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        filter->order > 0? AUDIT_PAGE ("ASC"): AUDIT_PAGE ("DESC"), "tttiiiiii",
        filter->type, filter->user_id, filter->client_id, filter->date_from, filter->date_to,
        filter->after_date, filter->after_id, filter->limit, filter->offset);
    json_t *rows = stmt? json_array (): NULL;
    int rc = rows? pst_sql_step (stmt): -1;
    for (; rc == 1; rc = pst_sql_step (stmt)) {
        pst_logs_row_t row = {
            .id = pst_sql_int64 (stmt, 0), .date = pst_sql_int64 (stmt, 1),
            .type = pst_sql_text (stmt, 2), .user_id = pst_sql_text (stmt, 3),
            .user_name = pst_sql_text (stmt, 4), .client_id = pst_sql_text (stmt, 5),
            .ip = pst_sql_text (stmt, 6), .result = pst_sql_text (stmt, 7),
            .detail = pst_sql_text (stmt, 8)
        };
        if (json_array_append_new (rows, pst_logs_row (PST_LOGS_TAG_AUTHN, &row,
                                                       filter->keys_only)))
            rc = -1;
    }
    pst_sql_done (stmt);
    if (rc != 0) {
        json_decref (rows);
        return -1;
    }
    *rows_p = rows;
    return 0;
}

int
authn_store_audit_prune (authn_store_t *self, int64_t cutoff, int limit)
{
    return pst_sql_run (self->sql,
        "DELETE FROM audit WHERE id IN"
        " (SELECT id FROM audit WHERE created_at < ? ORDER BY created_at LIMIT ?)",
        "in", cutoff, limit);
}
