//  mfa_logs: mfa's audit rows for the Management API's log events.
#include "mfa_logs.h"
#include "mfa_store.h"
#include "mfa_worker.h"
#include "pst_error.h"
#include "pst_logs.h"

int
mfa_logs_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    pst_logs_filter_t filter;
    if (pst_logs_filter_read (pst_msg_body (request), PST_LOGS_TAG_MFA, &filter))
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Malformed log filter");
    json_t *rows = NULL;
    int64_t total = 0;
    if (mfa_store_audit_page (mfa_worker_store ((mfa_worker_t *) worker), &filter, &rows, &total))
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    json_t *body = json_pack ("{s:o, s:I}", "rows", rows, "total", (json_int_t) total);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}
