//  authn_logs: the Management API's log events, authn's rows and mfa's merged.
#include "authn_logs.h"
#include "authn_audit.h"
#include "authn_mfa.h"
#include "authn_store.h"
#include "authn_worker.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_logs.h"
#include <stdlib.h>
#include <string.h>

//  One service's part: *rows_p and *total_p from authn's store or from mfa.
//  0, or -1 after failing reply.
static int
s_part (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply, int mine,
        json_t *body, json_t **rows_p, int64_t *total_p)
{
    *rows_p = NULL;
    *total_p = 0;
    if (mine) {
        pst_logs_filter_t filter;
        int rc = pst_logs_filter_read (body, PST_LOGS_TAG_AUTHN, &filter) == 0
              && authn_store_audit_page (worker->store, &filter, rows_p, total_p) == 0? 0: -1;
        json_decref (body);
        return rc? pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error"): 0;
    }
    pst_msg_t *answer = authn_mfa_call_as (worker, request, reply, "logs.list", "read:logs", &body);
    if (!answer)
        return -1;
    int rc = -1;
    json_t *rows = json_object_get (pst_msg_body (answer), "rows");
    if (pst_msg_is_error (answer))
        authn_mfa_relay_error (reply, answer);
    else
    if (!json_is_array (rows))
        pst_msg_fail (reply, PST_ERR_INTERNAL, "The MFA service gave an unreadable answer");
    else {
        *rows_p = json_incref (rows);
        *total_p = pst_msg_get_int (answer, "total", 0);
        rc = 0;
    }
    pst_msg_destroy (&answer);
    return rc;
}

//  Both parts of a request: authn's into parts [0], mfa's into parts [1]
static int
s_parts (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
         const pst_logs_query_t *logs, const int64_t offsets [2], int64_t limit, int keys_only,
         json_t *parts [2], int64_t *total_p)
{
    int64_t until = authn_config_now_ms (worker->config) - PST_LOGS_SETTLE_MS;
    int64_t totals [2] = { 0, 0 };
    parts [0] = parts [1] = NULL;
    for (int part = 0; part < 2; part++) {
        json_t *body = pst_logs_request (logs, offsets [part], limit, keys_only,
                                         total_p != NULL, until);
        if (!body)
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
        if (s_part (worker, request, reply, part == 0, body, &parts [part], &totals [part])) {
            json_decref (parts [0]);
            parts [0] = NULL;
            return -1;
        }
    }
    if (total_p)
        *total_p = totals [0] + totals [1];
    return 0;
}

//  name of id in table (clients or users), asked of the store once per id
static void
s_name (authn_worker_t *worker, json_t *cache, json_t *event, const char *id_key,
        const char *name_key, int user)
{
    const char *id = pst_json_str (event, id_key);
    if (!id || json_object_get (event, name_key))
        return;
    char key [300];
    snprintf (key, sizeof key, "%c%.290s", user? 'u': 'c', id);
    json_t *name = json_object_get (cache, key);
    if (!name) {
        char *found = NULL;
        if (user) {
            authn_user_t *record = authn_store_user_by_id (worker->store, id);
            found = record && record->email? strdup (record->email): NULL;
            authn_user_destroy (&record);
        }
        else {
            authn_client_t *record = authn_store_client (worker->store, id);
            found = record && record->name? strdup (record->name): NULL;
            authn_client_destroy (&record);
        }
        name = found? json_string (found): json_null ();
        free (found);
        json_object_set_new (cache, key, name);
    }
    if (json_is_string (name))
        json_object_set (event, name_key, name);
}

static int
s_answer (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
          const pst_logs_query_t *logs)
{
    //  What this process recorded until now is in the table before it is read
    authn_audit_flush (worker->audit);
    int64_t skip = logs->checkpoint? 0: logs->page * logs->per_page;
    int64_t count = logs->checkpoint? logs->take: logs->per_page;
    int64_t offsets [2] = { 0, 0 }, total = 0;
    json_t *parts [2];
    if (skip > 0) {
        //  Where the page begins in each part: how many of the first skip
        //  events, both parts together, are authn's
        if (s_parts (worker, request, reply, logs, offsets, skip, 1, parts, NULL))
            return -1;
        json_t *before = pst_logs_merge (parts [0], parts [1], logs->order, 0, skip);
        offsets [0] = before? pst_logs_count_in (before, skip, parts [0]): 0;
        offsets [1] = before? (int64_t) json_array_size (before) - offsets [0]: 0;
        json_decref (before);
        json_decref (parts [0]);
        json_decref (parts [1]);
    }
    if (s_parts (worker, request, reply, logs, offsets, count, 0, parts,
                 logs->totals? &total: NULL))
        return -1;
    json_t *rows = pst_logs_merge (parts [0], parts [1], logs->order, 0, count);
    json_decref (parts [0]);
    json_decref (parts [1]);
    json_t *events = json_array ();
    json_t *cache = json_object ();
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row) {
        json_t *event = events && cache? pst_logs_event (row): NULL;
        if (event) {
            s_name (worker, cache, event, "client_id", "client_name", 0);
            s_name (worker, cache, event, "user_id", "user_name", 1);
            pst_logs_fields (logs, event);
        }
        if (!event || json_array_append_new (events, event)) {
            json_decref (events);
            events = NULL;
        }
    }
    json_decref (cache);
    json_decref (rows);
    json_t *body = !events? NULL
        : logs->totals? json_pack ("{s:o, s:I, s:i, s:I, s:I}", "logs", events,
                                   "start", (json_int_t) skip, "limit", logs->per_page,
                                   "length", (json_int_t) json_array_size (events),
                                   "total", (json_int_t) total)
        : json_pack ("{s:o}", "result", events);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}

static int
s_handle (void *worker, const pst_msg_t *request, pst_msg_t *reply, const char *user_id)
{
    pst_logs_query_t logs;
    int rc = pst_logs_query_read (reply, json_object_get (pst_msg_body (request), "query"),
                                  user_id, &logs);
    if (rc == 0)
        rc = s_answer ((authn_worker_t *) worker, request, reply, &logs);
    pst_logs_query_clear (&logs);
    return rc;
}

int
authn_logs_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    return s_handle (worker, request, reply, NULL);
}

//  A user's events, whether or not the user is still there: an audit outlives
//  the account it tells about
int
authn_logs_user (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    const char *user_id = pst_json_str (pst_msg_body (request), "id");
    if (strlen (user_id) > 256)
        return pst_msg_fail (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    return s_handle (worker, request, reply, user_id);
}
