//  pst_logs: the Management API's log events (pst_logs.h says what each part is).
#include "pst_logs.h"
#include "pst_error.h"
#include "pst_json.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DATE_MAX    INT64_C(9999999999999)      //  the latest date 13 digits hold

//  ---------------------------------------------------------------------------
//  Event type codes: Auth0's, and the few of Postern's own (marked), which
//  name what Auth0 has no code for

static const struct {
    const char *type;
    const char *description;
} s_codes [] = {
    { "s",          "Success Login" },
    { "f",          "Failed Login" },
    { "fp",         "Incorrect Password" },
    { "fu",         "Invalid Email or Username" },
    { "limit_wc",   "Blocked Account" },
    { "seccft",     "Success Exchange: Client Credentials for Access Token" },
    { "feccft",     "Failed Exchange: Client Credentials for Access Token" },
    { "seoobft",    "Success Exchange: Password and OOB Challenge for Access Token" },
    { "feoobft",    "Failed Exchange: Password and OOB Challenge for Access Token" },
    { "seotpft",    "Success Exchange: Password and OTP Challenge for Access Token" },
    { "feotpft",    "Failed Exchange: Password and OTP Challenge for Access Token" },
    { "sercft",     "Success Exchange: Password and MFA Recovery code for Access Token" },
    { "fercft",     "Failed Exchange: Password and MFA Recovery code for Access Token" },
    { "sertft",     "Success Exchange: Refresh Token for Access Token" },
    { "fertft",     "Failed Exchange: Refresh Token for Access Token" },
    { "gd_start_auth", "Second factor authentication started" },
    { "gd_start_enroll", "Second factor enrollment started" },
    { "gd_enrollment_complete", "Second factor enrollment complete" },
    { "gd_auth_succeed", "Second factor authentication succeeded" },
    { "gd_auth_failed", "Second factor authentication failed" },
    { "gd_otp_rate_limit_exceed", "Too many second factor failures" },
    { "gd_recovery_succeed", "Recovery succeeded" },
    { "gd_recovery_failed", "Recovery failed" },
    { "gd_recovery_rate_limit_exceed", "Too many recovery failures" },
    { "gd_send_email", "Email sent" },
    { "gd_send_email_failure", "Email not sent" },
    { "gd_unenroll", "Authenticator deleted" },
    { "gd_update_device_account", "Recovery code regenerated" },
    { "gd_tenant_update", "Guardian tenant updated" },
    { "fn",         "Failed Sending Notification" },
    //  Postern's own
    { "gd_send_limit_exceed", "Too many codes sent (Postern)" },
    { "gd_challenge_refused", "Challenge refused (Postern)" },
    { NULL, NULL }
};

const char *
pst_logs_describe (const char *type)
{
    for (int index = 0; type && s_codes [index].type; index++)
        if (strcmp (s_codes [index].type, type) == 0)
            return s_codes [index].description;
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Reading the query

static int
s_fail (pst_msg_t *reply, const char *text)
{
    return pst_msg_fail (reply, PST_ERR_INVALID_QUERY_STRING, "Query validation error: %s", text);
}

//  A non-negative integer of at most 9 digits; -1 when text is not one
static int64_t
s_integer (const char *text)
{
    size_t length = strlen (text);
    if (length == 0 || length > 9 || strspn (text, "0123456789") != length)
        return -1;
    return strtoll (text, NULL, 10);
}

//  "true" 1, "false" 0, anything else -1
static int
s_boolean (const char *text)
{
    return strcmp (text, "true") == 0? 1: strcmp (text, "false") == 0? 0: -1;
}

//  A date of q's range: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z as Unix
//  ms; -1 when it is not one
static int64_t
s_date (const char *text, size_t length)
{
    char copy [32];
    if (length == 0 || length >= sizeof copy)
        return -1;
    memcpy (copy, text, length);
    copy [length] = 0;
    struct tm tm = { 0 };
    int ms = 0, used = 0;
    if (length == 10) {
        if (sscanf (copy, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) != 3)
            return -1;
    }
    else
    if (sscanf (copy, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) == 6) {
        if (copy [used] == '.' && strspn (copy + used + 1, "0123456789") == 3) {
            ms = atoi (copy + used + 1);
            used += 4;
        }
        if (copy [used++] != 'Z')
            return -1;
    }
    else
        return -1;
    if ((size_t) used != length || tm.tm_year < 1970 || tm.tm_year > 9999
    ||  tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31
    ||  tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t seconds = timegm (&tm);
    return seconds < 0? -1: (int64_t) seconds * 1000 + ms;
}

//  date:[a TO b] at *at_p (after "date:"); moves *at_p past it
static int
s_range (pst_msg_t *reply, const char **at_p, pst_logs_query_t *logs)
{
    const char *at = *at_p;
    const char *text = "date is a range, date:[2026-01-01 TO 2026-01-31T23:59:59Z] "
                       "(both ends included; * for an open end)";
    if (*at++ != '[')
        return s_fail (reply, text);
    int64_t ends [2] = { 0, DATE_MAX };
    for (int end = 0; end < 2; end++) {
        while (*at == ' ')
            at++;
        size_t length = strcspn (at, " ]");
        if (length == 1 && *at == '*')
            ;
        else
        if ((ends [end] = s_date (at, length)) < 0)
            return s_fail (reply, text);
        //  Past the last date a log_id holds (year 2286) no event can be: the
        //  same as an open end for the services, which refuse larger dates
        if (ends [end] > DATE_MAX)
            ends [end] = DATE_MAX;
        at += length;
        while (*at == ' ')
            at++;
        if (end == 0 && strncmp (at, "TO ", 3) != 0)
            return s_fail (reply, text);
        at += end == 0? 3: 0;
    }
    if (*at++ != ']')
        return s_fail (reply, text);
    logs->date_from = ends [0];
    logs->date_to = ends [1];
    *at_p = at;
    return 0;
}

//  A term's value at *at_p, bare or quoted, into value; moves *at_p past it
static int
s_value (pst_msg_t *reply, const char **at_p, char *value, size_t size)
{
    const char *at = *at_p;
    size_t length = 0;
    if (*at == '"') {
        for (at++; *at && *at != '"'; at++) {
            if (*at == '\\' && at [1])
                at++;
            if (length + 1 == size)
                return s_fail (reply, "a value in q is too long");
            value [length++] = *at;
        }
        if (*at++ != '"')
            return s_fail (reply, "q opens a quote it does not close");
    }
    else
        for (; *at && *at != ' '; at++) {
            if (strchr ("\"+!(){}[]^~*?:\\/", *at) || (*at == '-' && length == 0))
                return s_fail (reply, "q holds Lucene syntax Postern does not search with "
                                      "(wildcards, groups, OR, NOT); quote a value to find "
                                      "it as written");
            if (length + 1 == size)
                return s_fail (reply, "a value in q is too long");
            value [length++] = *at;
        }
    value [length] = 0;
    if (length == 0)
        return s_fail (reply, "a term of q names no value");
    *at_p = at;
    return 0;
}

static int
s_read_q (pst_msg_t *reply, const char *q, pst_logs_query_t *logs)
{
    const char *at = q;
    int terms = 0;
    while (*at) {
        while (*at == ' ')
            at++;
        if (!*at)
            break;
        if (terms && strncmp (at, "AND ", 4) == 0) {
            at += 4;
            continue;
        }
        if (strncmp (at, "OR ", 3) == 0 || strncmp (at, "NOT ", 4) == 0 || *at == '-' || *at == '(')
            return s_fail (reply, "Postern joins the terms of q with AND only (no OR, NOT "
                                  "or groups)");
        const char *colon = strchr (at, ':');
        size_t name_size = colon? (size_t) (colon - at): 0;
        char *target = NULL;
        size_t size = 0;
        if (name_size == 4 && strncmp (at, "type", 4) == 0)
            target = logs->type, size = sizeof logs->type;
        else
        if (name_size == 7 && strncmp (at, "user_id", 7) == 0)
            target = logs->user_id, size = sizeof logs->user_id;
        else
        if (name_size == 9 && strncmp (at, "client_id", 9) == 0)
            target = logs->client_id, size = sizeof logs->client_id;
        else
        if (!(name_size == 4 && strncmp (at, "date", 4) == 0))
            return s_fail (reply, "q searches the fields type, user_id, client_id and date, "
                                  "joined by AND (type:\"fp\" AND user_id:\"auth0|abc\")");
        at = colon + 1;
        if (target && *target)
            return s_fail (reply, "q names a field twice; Postern joins terms with AND only");
        if (target? s_value (reply, &at, target, size): s_range (reply, &at, logs))
            return -1;
        if (*at && *at != ' ')
            return s_fail (reply, "terms of q are separated by blanks or AND");
        terms++;
    }
    return 0;
}

static const char *const s_fields [] = {
    "log_id", "date", "type", "description", "client_id", "client_name", "ip",
    "user_agent", "user_id", "user_name", "details", NULL
};

static int
s_read_fields (pst_msg_t *reply, const char *text, pst_logs_query_t *logs)
{
    logs->fields = json_array ();
    char *copy = strdup (text);
    char *saveptr = NULL;
    int rc = logs->fields && copy? 0: pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    for (char *name = rc? NULL: strtok_r (copy, ",", &saveptr); name;
         name = strtok_r (NULL, ",", &saveptr)) {
        int known = 0;
        for (int index = 0; s_fields [index]; index++)
            known |= strcmp (s_fields [index], name) == 0;
        if (!known) {
            rc = s_fail (reply, "fields names members of a log event (log_id, date, type, "
                                "description, client_id, client_name, ip, user_agent, user_id, "
                                "user_name, details)");
            break;
        }
        json_array_append_new (logs->fields, json_string (name));
    }
    free (copy);
    return rc;
}

int
pst_logs_query_read (pst_msg_t *reply, const json_t *query, const char *user_id,
                     pst_logs_query_t *logs)
{
    memset (logs, 0, sizeof *logs);
    logs->date_to = DATE_MAX;
    logs->order = -1;
    logs->per_page = PST_LOGS_PER_PAGE;
    logs->take = PST_LOGS_PER_PAGE;
    logs->include_fields = 1;
    const char *from = user_id? NULL: pst_json_str (query, "from");
    const char *text = user_id? NULL: pst_json_str (query, "take");
    int64_t value;
    if (text && ((value = s_integer (text)) < 1 || value > PST_LOGS_TAKE_MAX))
        return s_fail (reply, "take must be an integer from 1 to 100");
    if (text)
        logs->take = (int) value;
    if (from) {
        //  Auth0: with from, every other member is ignored
        int64_t date, id;
        int tag;
        if (pst_logs_id_parse (from, &date, &tag, &id))
            return s_fail (reply, "from must be a log_id");
        snprintf (logs->from, sizeof logs->from, "%s", from);
        logs->checkpoint = 1;
        logs->order = 1;
        return 0;
    }
    if ((text = pst_json_str (query, "page")) && (logs->page = s_integer (text)) < 0)
        return s_fail (reply, "page must be an integer from 0");
    text = pst_json_str (query, "per_page");
    value = text? s_integer (text): PST_LOGS_PER_PAGE;
    if (value < 0 || value > PST_LOGS_PER_PAGE_MAX)
        return s_fail (reply, "per_page must be an integer from 0 to 100");
    logs->per_page = (int) value;
    if (logs->page * logs->per_page + logs->per_page > PST_LOGS_WINDOW)
        return s_fail (reply, "a search reaches its first 1000 events only; narrow q, "
                              "or read by checkpoint (from and take)");
    if ((text = pst_json_str (query, "sort"))) {
        if (strcmp (text, "date:1") != 0 && strcmp (text, "date:-1") != 0)
            return s_fail (reply, "sort is date:1 (oldest first) or date:-1 (newest first)");
        logs->order = strcmp (text, "date:1") == 0? 1: -1;
    }
    if ((text = pst_json_str (query, "include_totals"))
    &&  (logs->totals = s_boolean (text)) < 0)
        return s_fail (reply, "include_totals must be true or false");
    if ((text = user_id? NULL: pst_json_str (query, "include_fields"))
    &&  (logs->include_fields = s_boolean (text)) < 0)
        return s_fail (reply, "include_fields must be true or false");
    if ((text = user_id? NULL: pst_json_str (query, "fields")) && s_read_fields (reply, text, logs))
        return -1;
    //  search: what Auth0's newer SDKs send for q, read the same way
    if (!user_id && pst_json_str (query, "q") && pst_json_str (query, "search"))
        return s_fail (reply, "q and search are one criterion; give one of them");
    if (!user_id && !(text = pst_json_str (query, "q")))
        text = pst_json_str (query, "search");
    if (!user_id && text && s_read_q (reply, text, logs))
        return -1;
    if (user_id)
        snprintf (logs->user_id, sizeof logs->user_id, "%s", user_id);
    if (logs->date_from > logs->date_to)
        return s_fail (reply, "date's range ends before it starts");
    return 0;
}

void
pst_logs_query_clear (pst_logs_query_t *logs)
{
    json_decref (logs->fields);
    logs->fields = NULL;
}

//  ---------------------------------------------------------------------------
//  Between the route's owner and the services

json_t *
pst_logs_request (const pst_logs_query_t *logs, int64_t offset, int64_t limit, int keys_only,
                  int totals, int64_t until)
{
    json_t *body = json_pack ("{s:I, s:I, s:i, s:I, s:I, s:b, s:b}",
        "date_from", (json_int_t) logs->date_from,
        "date_to", (json_int_t) (logs->checkpoint && until < logs->date_to? until: logs->date_to),
        "order", logs->order, "offset", (json_int_t) offset, "limit", (json_int_t) limit,
        "keys_only", keys_only, "totals", totals);
    const char *const names [] = { "type", "user_id", "client_id", "from" };
    const char *const values [] = { logs->type, logs->user_id, logs->client_id, logs->from };
    for (size_t index = 0; body && index < 4; index++)
        if (*values [index] && json_object_set_new (body, names [index], json_string (values [index]))) {
            json_decref (body);
            body = NULL;
        }
    return body;
}

static int64_t
s_member (const json_t *body, const char *name, int64_t low, int64_t high, int *bad)
{
    json_t *value = json_object_get (body, name);
    int64_t number = json_is_integer (value)? (int64_t) json_integer_value (value): low - 1;
    if (number < low || number > high)
        *bad = 1;
    return number;
}

int
pst_logs_filter_read (const json_t *body, int tag, pst_logs_filter_t *filter)
{
    memset (filter, 0, sizeof *filter);
    int bad = 0;
    filter->date_from = s_member (body, "date_from", 0, DATE_MAX, &bad);
    filter->date_to = s_member (body, "date_to", 0, DATE_MAX, &bad);
    filter->order = (int) s_member (body, "order", -1, 1, &bad);
    filter->offset = s_member (body, "offset", 0, PST_LOGS_WINDOW, &bad);
    filter->limit = s_member (body, "limit", 0, PST_LOGS_WINDOW, &bad);
    filter->keys_only = json_is_true (json_object_get (body, "keys_only"));
    filter->totals = json_is_true (json_object_get (body, "totals"));
    filter->type = pst_json_str (body, "type");
    filter->user_id = pst_json_str (body, "user_id");
    filter->client_id = pst_json_str (body, "client_id");
    filter->after_date = -1;
    filter->after_id = -1;
    const char *from = pst_json_str (body, "from");
    if (from) {
        int from_tag;
        if (pst_logs_id_parse (from, &filter->after_date, &from_tag, &filter->after_id))
            return -1;
        //  Rows after (date, from_tag, id): at the same date, all of a service
        //  tagged after it, none of one tagged before
        if (tag > from_tag)
            filter->after_id = -1;
        else
        if (tag < from_tag)
            filter->after_id = INT64_MAX;
    }
    return bad || filter->order == 0? -1: 0;
}

void
pst_logs_id (char out [PST_LOGS_ID_SIZE], int64_t date, int tag, int64_t id)
{
    //  Each part is in range, so the whole is 33 digits; a wider buffer
    //  tells the compiler so
    char text [64];
    snprintf (text, sizeof text, "%013" PRId64 "%01u%019" PRId64,
              date < 0? 0: date > DATE_MAX? DATE_MAX: date, (unsigned) tag % 10, id < 0? 0: id);
    memcpy (out, text, PST_LOGS_ID_SIZE - 1);
    out [PST_LOGS_ID_SIZE - 1] = 0;
}

int
pst_logs_id_parse (const char *text, int64_t *date_p, int *tag_p, int64_t *id_p)
{
    if (!text || strlen (text) != PST_LOGS_ID_SIZE - 1
    ||  strspn (text, "0123456789") != PST_LOGS_ID_SIZE - 1)
        return -1;
    char date [14], id [20];
    memcpy (date, text, 13);
    date [13] = 0;
    memcpy (id, text + 14, 19);
    id [19] = 0;
    *date_p = strtoll (date, NULL, 10);
    *tag_p = text [13] - '0';
    errno = 0;
    *id_p = strtoll (id, NULL, 10);
    return errno? -1: 0;
}

json_t *
pst_logs_row (int tag, const pst_logs_row_t *row, int keys_only)
{
    char log_id [PST_LOGS_ID_SIZE];
    pst_logs_id (log_id, row->date, tag, row->id);
    if (keys_only)
        return json_string (log_id);
    json_t *object = json_pack ("{s:s, s:I, s:s}", "log_id", log_id,
                                "date", (json_int_t) row->date, "type", row->type);
    const char *const names [] = {
        "user_id", "user_name", "client_id", "ip", "user_agent", "result", "detail"
    };
    const char *const values [] = {
        row->user_id, row->user_name, row->client_id, row->ip, row->user_agent, row->result,
        row->detail
    };
    for (size_t index = 0; object && index < sizeof names / sizeof names [0]; index++)
        if (values [index] && json_object_set_new (object, names [index], json_string (values [index]))) {
            json_decref (object);
            object = NULL;
        }
    return object;
}

static const char *
s_key (const json_t *row)
{
    return json_is_string (row)? json_string_value (row): pst_json_str (row, "log_id");
}

json_t *
pst_logs_merge (const json_t *a, const json_t *b, int order, int64_t skip, int64_t count)
{
    json_t *merged = json_array ();
    size_t ia = 0, ib = 0, na = json_array_size (a), nb = json_array_size (b);
    for (int64_t position = 0; merged && position < skip + count && (ia < na || ib < nb);
         position++) {
        const char *ka = ia < na? s_key (json_array_get (a, ia)): NULL;
        const char *kb = ib < nb? s_key (json_array_get (b, ib)): NULL;
        int take_a = ka && (!kb || (order > 0? strcmp (ka, kb) <= 0: strcmp (ka, kb) >= 0));
        json_t *next = take_a? json_array_get (a, ia++): json_array_get (b, ib++);
        if (position >= skip && json_array_append (merged, next)) {
            json_decref (merged);
            merged = NULL;
        }
    }
    return merged;
}

int64_t
pst_logs_count_in (const json_t *merged, int64_t count, const json_t *a)
{
    //  Both in one order: walk a alongside
    int64_t found = 0;
    size_t ia = 0, na = json_array_size (a);
    for (size_t index = 0; index < json_array_size (merged) && (int64_t) index < count; index++)
        if (ia < na && strcmp (s_key (json_array_get (merged, index)),
                               s_key (json_array_get (a, ia))) == 0) {
            ia++;
            found++;
        }
    return found;
}

json_t *
pst_logs_event (const json_t *row)
{
    json_int_t ms = json_integer_value (json_object_get (row, "date"));
    time_t seconds = (time_t) (ms / 1000);
    struct tm utc;
    char date [40] = "1970-01-01T00:00:00.000Z";
    if (gmtime_r (&seconds, &utc)) {
        size_t size = strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
        snprintf (date + size, sizeof date - size, ".%03dZ", (int) (ms % 1000));
    }
    const char *type = pst_json_str (row, "type");
    const char *detail = pst_json_str (row, "detail");
    const char *described = pst_logs_describe (type);
    json_t *event = json_pack ("{s:O?, s:s, s:O?, s:s, s:{s:O?}}",
        "log_id", json_object_get (row, "log_id"), "date", date,
        "type", json_object_get (row, "type"),
        "description", detail? detail: described? described: "",
        "details", "result", json_object_get (row, "result"));
    const char *const names [] = { "client_id", "ip", "user_agent", "user_id", "user_name" };
    for (size_t index = 0; event && index < sizeof names / sizeof names [0]; index++) {
        json_t *value = json_object_get (row, names [index]);
        if (value && json_object_set (event, names [index], value)) {
            json_decref (event);
            event = NULL;
        }
    }
    if (event && detail && described)
        json_object_set_new (json_object_get (event, "details"), "event", json_string (described));
    return event;
}

void
pst_logs_fields (const pst_logs_query_t *logs, json_t *event)
{
    if (!logs->fields)
        return;
    const char *name;
    json_t *value;
    void *tmp;
    json_object_foreach_safe (event, tmp, name, value) {
        int listed = 0;
        size_t index;
        json_t *field;
        json_array_foreach (logs->fields, index, field)
            listed |= strcmp (json_string_value (field), name) == 0;
        if (listed != logs->include_fields)
            json_object_del (event, name);
    }
}
