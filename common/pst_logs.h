/*  pst_logs - the Management API's log events (GET /api/v2/logs and
    /api/v2/users/{id}/logs) as data: the query Auth0 documents, the filter a
    service's audit table is read with, the log_id, and each row as Auth0's
    log event object.

    Two services keep audit rows (authn: sign-ins and token exchanges; mfa:
    the second factor), each in its own table. A log_id is therefore the
    event's date in Unix ms (13 digits), the service's tag (one digit) and the
    row's id (19 digits), all decimal and fixed-width: log_ids sort as the
    events do, across both tables, and a checkpoint names a place in both.
    Two services' events of the same millisecond sort authn's first, although
    when one request makes both, mfa's happened first.

    The query (Auth0's two ways of reading):
    - by checkpoint: from (a log_id) and take (1 to 100, default 50): the
      events after it in log_id order, oldest first; every other member is
      ignored, as Auth0 ignores them. Events of the last PST_LOGS_SETTLE_MS are
      left for the next read, so that a row written late (a commit still on
      its way) is never skipped by a reader that already passed its date.
    - by search: q (Lucene's syntax, the subset below), page (from 0),
      per_page (0 to 100, default 50), sort (date:1 or date:-1, the default),
      include_totals, fields and include_fields. Only the first 1000 events of
      a search can be reached (page * per_page + per_page at most 1000), as
      with Auth0.
    search (what Auth0's newer SDKs send) is read as q; not both.
    q: terms joined by blanks or AND, each field:value (value bare or in
    double quotes) for the fields type, user_id and client_id, or
    date:[a TO b] (a, b: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z, or *;
    both ends included). Anything else is 400 invalid_query_string
    "Query validation error: ...".
*/
#ifndef PST_LOGS_H_INCLUDED
#define PST_LOGS_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>
#include <stdint.h>

#define PST_LOGS_PER_PAGE       50
#define PST_LOGS_PER_PAGE_MAX   100
#define PST_LOGS_TAKE_MAX       100
#define PST_LOGS_WINDOW         1000    //  the events a search can reach
#define PST_LOGS_SETTLE_MS      2000    //  a checkpoint read leaves the newest this long
#define PST_LOGS_ID_SIZE        34      //  13 + 1 + 19 digits and the null

//  The services' tags in a log_id
#define PST_LOGS_TAG_AUTHN      1
#define PST_LOGS_TAG_MFA        2

typedef struct {
    char type [64];             //  "" for any
    char user_id [257];
    char client_id [257];
    int64_t date_from;          //  Unix ms, both ends included
    int64_t date_to;
    int checkpoint;             //  1 when from was given
    char from [PST_LOGS_ID_SIZE];
    int take;
    int order;                  //  1 oldest first, -1 newest first
    int64_t page;
    int per_page;
    int totals;                 //  include_totals
    json_t *fields;             //  names to keep (include_fields) or drop; NULL: all
    int include_fields;
} pst_logs_query_t;

//  Reads query (the request's query string members, NULL for none) into
//  logs; user_id, when given (the users route), restricts it to that user and
//  the route's own members (page, per_page, sort, include_totals). 0, or -1
//  after failing reply; either way pst_logs_query_clear frees what it holds.
int
    pst_logs_query_read (pst_msg_t *reply, const json_t *query, const char *user_id,
                         pst_logs_query_t *logs);
void
    pst_logs_query_clear (pst_logs_query_t *logs);

//  What a service is asked for (the body of its logs.list): query's filter,
//  rows offset to offset + limit in its order, only their log_ids when
//  keys_only, the count of all matching when totals; a checkpoint read stops
//  at until (Unix ms). NULL when out of memory.
json_t *
    pst_logs_request (const pst_logs_query_t *logs, int64_t offset, int64_t limit,
                      int keys_only, int totals, int64_t until);

//  That body as a service's store reads it: rows matching every filter set,
//  after (after_date, after_id) in (created_at, id) order, from date_from to
//  date_to, in order, offset and limit rows of them.
typedef struct {
    const char *type;           //  NULL: any (borrowed from the body)
    const char *user_id;
    const char *client_id;
    int64_t date_from;
    int64_t date_to;
    int64_t after_date;         //  -1 with after_id -1: from the first
    int64_t after_id;
    int order;
    int64_t offset;
    int64_t limit;
    int keys_only;
    int totals;
} pst_logs_filter_t;

//  Reads body for the service tagged tag (its rows' place after a checkpoint
//  of another service's row follows from the tags). 0, or -1 when body is not
//  one pst_logs_request makes.
int
    pst_logs_filter_read (const json_t *body, int tag, pst_logs_filter_t *filter);

//  One audit row as a service hands it on
typedef struct {
    int64_t id;
    int64_t date;               //  Unix ms
    const char *type;
    const char *user_id;        //  the rest may be NULL
    const char *user_name;
    const char *client_id;
    const char *ip;
    const char *user_agent;
    const char *result;         //  "success" or "failure"
    const char *detail;
} pst_logs_row_t;

//  The row as JSON for the bus: {log_id, date, type, ...}; with keys_only
//  the log_id string alone. NULL when out of memory.
json_t *
    pst_logs_row (int tag, const pst_logs_row_t *row, int keys_only);

//  The log_id of a service's row.
void
    pst_logs_id (char out [PST_LOGS_ID_SIZE], int64_t date, int tag, int64_t id);
//  0 with its parts, or -1 when text is not a log_id.
int
    pst_logs_id_parse (const char *text, int64_t *date_p, int *tag_p, int64_t *id_p);

//  Two arrays of rows (or of log_ids), each in order, as one: count of them
//  from the skip-th on. New references; NULL when out of memory.
json_t *
    pst_logs_merge (const json_t *a, const json_t *b, int order, int64_t skip, int64_t count);

//  How many of the first count members of merged (log_ids) are in a.
int64_t
    pst_logs_count_in (const json_t *merged, int64_t count, const json_t *a);

//  A bus row as Auth0's log event: log_id, date (ISO 8601), type,
//  description, client_id, ip, user_agent, user_id, user_name, details
//  (result, and what happened in words). New object; NULL when out of memory.
json_t *
    pst_logs_event (const json_t *row);

//  Auth0's description of an event type code; NULL for a code not listed.
const char *
    pst_logs_describe (const char *type);

//  Keeps or drops event members as query's fields say.
void
    pst_logs_fields (const pst_logs_query_t *logs, json_t *event);

#endif
