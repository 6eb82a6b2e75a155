/*  fuzz_logs - libFuzzer target for the Management API's log query (pst_logs):
    the members of GET /api/v2/logs as the gateway hands them on (a JSON object
    of strings), q's Lucene subset, and log_ids.

    Whatever the input, a query that is read must be within Auth0's bounds
    (take 1..100, per_page 0..100, no page past the first 1000 events, an
    order, a date range that is one), must make a service request, and a query
    that is refused must say why. A log_id that parses must print back as the
    same text.
*/
#include "pst_logs.h"
#include "pst_msg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_logs: check failed: %s\n", #condition); abort (); \
    } } while (0)

static void
s_check_query (const json_t *query, const char *user_id)
{
    pst_msg_t *request = pst_msg_new_request ("logs.search", 1000);
    CHECK (request);
    pst_msg_t *reply = pst_msg_new_reply (request);
    CHECK (reply);
    pst_logs_query_t logs;
    if (pst_logs_query_read (reply, query, user_id, &logs) == 0) {
        CHECK (!pst_msg_is_error (reply));
        CHECK (logs.order == 1 || logs.order == -1);
        CHECK (logs.date_from <= logs.date_to);
        if (logs.checkpoint) {
            CHECK (logs.take >= 1 && logs.take <= PST_LOGS_TAKE_MAX);
            int64_t date, id;
            int tag;
            CHECK (pst_logs_id_parse (logs.from, &date, &tag, &id) == 0);
        }
        else {
            CHECK (logs.per_page >= 0 && logs.per_page <= PST_LOGS_PER_PAGE_MAX);
            CHECK (logs.page >= 0);
            CHECK (logs.page * logs.per_page + logs.per_page <= PST_LOGS_WINDOW);
        }
        CHECK (strlen (logs.type) < sizeof logs.type);
        CHECK (strlen (logs.user_id) < sizeof logs.user_id);
        CHECK (strlen (logs.client_id) < sizeof logs.client_id);
        if (user_id)
            CHECK (strcmp (logs.user_id, user_id) == 0);
        json_t *body = pst_logs_request (&logs, 0, logs.checkpoint? logs.take: logs.per_page,
                                         0, logs.totals, 0);
        CHECK (body);
        pst_logs_filter_t filter;
        CHECK (pst_logs_filter_read (body, PST_LOGS_TAG_AUTHN, &filter) == 0);
        json_decref (body);
    }
    else {
        CHECK (pst_msg_is_error (reply));
        CHECK (pst_msg_error_text (reply) && *pst_msg_error_text (reply));
    }
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  The whole input as a log_id
    char *text = (char *) malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = '\0';
    int64_t date, id;
    int tag;
    if (pst_logs_id_parse (text, &date, &tag, &id) == 0) {
        char again [PST_LOGS_ID_SIZE];
        pst_logs_id (again, date, tag, id);
        CHECK (strcmp (again, text) == 0);
    }
    //  As a query's members (a JSON object), for both routes; else as q alone
    json_t *query = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object (query)) {
        s_check_query (query, NULL);
        s_check_query (query, "auth0|fuzz");
    }
    else {
        json_t *q = json_pack ("{s:s%}", "q", (const char *) data, size);
        if (q)
            s_check_query (q, NULL);
        json_decref (q);
    }
    json_decref (query);
    free (text);
    return 0;
}
