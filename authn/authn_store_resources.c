//  authn_store: the Management API's resources. Each is described once, as a
//  table: which row an id names, the order rows list in, and per member the
//  column it maps to and how its value reads and writes. List, get, insert,
//  update and delete are then written once for all of them.
#include "authn_store.h"
#include "authn_store_sql.h"
#include "pst_json.h"
#include "pst_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  How a column's value maps to a member's
typedef enum {
    KIND_TEXT,                  //  a string; NULL is null
    KIND_INT,                   //  an integer
    KIND_FLAG,                  //  0 or 1, a boolean
    KIND_LIST,                  //  JSON text of an array, the array
    KIND_TIME,                  //  Unix seconds, ISO 8601 in UTC; NULL is null
    KIND_OBJECT,                //  JSON text of an object, the object; NULL (null
                                //  when written) is a member not shown at all
    KIND_IDENTITIES             //  a user_id, that user's identities (one: ours)
} kind_t;

#define SHOWN       1           //  a member of the JSON the API shows
#define WRITTEN     2           //  set from the member of that name at insert and update
#define ONCE        4           //  an update sets it only while it has no value
#define NOCASE      8           //  a filter on it matches whatever the ASCII case

typedef struct {
    const char *member;
    const char *column;         //  or an SQL literal, for what every row shows alike
    kind_t kind;
    int flags;
} column_t;

typedef struct {
    const char *table;
    const char *key;            //  the row an id names; the id is ?1
    const char *order;          //  list order: creation, then something unique (users:
                                //  the rowid, so those of one second list as they came;
                                //  on PostgreSQL a column of that name)
    const char *created;        //  set to now at insert
    const char *updated;        //  set to now at insert and at every update; or NULL
    const char *const *filters; //  members a list narrows by; or NULL
    const column_t *columns;    //  every member, those shown in their order; ends with NULL
} resource_t;

static const column_t s_client_columns [] = {
    { "client_id",                  "client_id",            KIND_TEXT,       SHOWN | WRITTEN },
    { "name",                       "name",                 KIND_TEXT,       SHOWN | WRITTEN },
    { "app_type",                   "app_type",             KIND_TEXT,       SHOWN | WRITTEN },
    { "token_endpoint_auth_method", "auth_method",          KIND_TEXT,       SHOWN | WRITTEN },
    { "grant_types",                "grant_types",          KIND_LIST,       SHOWN | WRITTEN },
    { "is_first_party",             "1",                    KIND_FLAG,       SHOWN },
    //  Where browsers may call the Authentication API from (CORS, gw_cors)
    { "web_origins",                "web_origins",          KIND_LIST,       SHOWN | WRITTEN },
    { "allowed_origins",            "allowed_origins",      KIND_LIST,       SHOWN | WRITTEN },
    //  A secret is never shown, and an update never replaces one
    { "secret_hash",                "secret_hash",          KIND_TEXT,       WRITTEN | ONCE },
    { "is_system",                  "is_system",            KIND_FLAG,       WRITTEN },
    { NULL, NULL, KIND_TEXT, 0 }
};

static const char *const s_grant_filters [] = { "client_id", "audience", NULL };
static const column_t s_grant_columns [] = {
    { "id",                         "id",                   KIND_TEXT,       SHOWN | WRITTEN },
    { "client_id",                  "client_id",            KIND_TEXT,       SHOWN | WRITTEN },
    { "audience",                   "audience",             KIND_TEXT,       SHOWN | WRITTEN },
    { "scope",                      "scope",                KIND_LIST,       SHOWN | WRITTEN },
    { NULL, NULL, KIND_TEXT, 0 }
};

static const column_t s_api_columns [] = {
    { "id",                         "id",                   KIND_TEXT,       SHOWN | WRITTEN },
    { "identifier",                 "identifier",           KIND_TEXT,       SHOWN | WRITTEN },
    { "name",                       "name",                 KIND_TEXT,       SHOWN | WRITTEN },
    { "scopes",                     "scopes",               KIND_LIST,       SHOWN | WRITTEN },
    { "token_lifetime",             "token_lifetime",       KIND_INT,        SHOWN | WRITTEN },
    { "allow_offline_access",       "allow_offline_access", KIND_FLAG,       SHOWN | WRITTEN },
    { "is_system",                  "is_system",            KIND_FLAG,       SHOWN | WRITTEN },
    { "signing_alg",                "'RS256'",              KIND_TEXT,       SHOWN },
    { NULL, NULL, KIND_TEXT, 0 }
};

static const char *const s_user_filters [] = { "email", "user_id", NULL };
static const column_t s_user_columns [] = {
    { "user_id",                    "user_id",              KIND_TEXT,       SHOWN | WRITTEN },
    { "email",                      "email",                KIND_TEXT,       SHOWN | WRITTEN | NOCASE },
    { "email_verified",             "email_verified",       KIND_FLAG,       SHOWN | WRITTEN },
    { "identities",                 "user_id",              KIND_IDENTITIES, SHOWN },
    { "created_at",                 "created_at",           KIND_TIME,       SHOWN },
    { "updated_at",                 "updated_at",           KIND_TIME,       SHOWN },
    { "last_login",                 "last_login",           KIND_TIME,       SHOWN },
    { "user_metadata",              "user_metadata",        KIND_OBJECT,     SHOWN | WRITTEN },
    { "app_metadata",               "app_metadata",         KIND_OBJECT,     SHOWN | WRITTEN },
    { "password_hash",              "password_hash",        KIND_TEXT,       WRITTEN },
    { NULL, NULL, KIND_TEXT, 0 }
};

static const resource_t s_resources [] = {
    [AUTHN_CLIENTS] = {
        "clients", "client_id = ?1", "created_at, client_id", "created_at", NULL,
        NULL, s_client_columns },
    [AUTHN_CLIENT_GRANTS] = {
        "client_grants", "id = ?1", "created_at, id", "created_at", NULL,
        s_grant_filters, s_grant_columns },
    [AUTHN_RESOURCE_SERVERS] = {
        "resource_servers", "id = ?1 OR identifier = ?1", "created_at, id", "created_at", NULL,
        NULL, s_api_columns },
    [AUTHN_USERS] = {
        "users", "user_id = ?1", "created_at, rowid", "created_at", "updated_at",
        s_user_filters, s_user_columns },
};

#define LIST_LIMIT      1000
#define MAX_WRITTEN     16      //  members one insert or update sets, at most
#define MAX_PARAMS      20      //  parameters of one statement: the members, an id, stamps

static const resource_t *
s_resource (authn_resource_t which)
{
    return (unsigned) which < sizeof s_resources / sizeof s_resources [0]?
           &s_resources [which]: NULL;
}

static const column_t *
s_column (const resource_t *resource, const char *member, int flag)
{
    for (const column_t *column = resource->columns; column->member; column++)
        if ((column->flags & flag) && strcmp (column->member, member) == 0)
            return column;
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Statement text, assembled from a description

typedef struct {
    char text [1024];
    size_t size;
    int overflow;
} sql_t;

static void
s_sql (sql_t *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    size_t room = sizeof sql->text - sql->size;
    int length = vsnprintf (sql->text + sql->size, room, format, args);
    va_end (args);
    if (length < 0 || (size_t) length >= room)
        sql->overflow = 1;
    else
        sql->size += (size_t) length;
}

//  "SELECT <what is shown> FROM <table>"
static void
s_sql_select (sql_t *sql, const resource_t *resource)
{
    const char *separator = "SELECT ";
    for (const column_t *column = resource->columns; column->member; column++)
        if (column->flags & SHOWN) {
            s_sql (sql, "%s%s", separator, column->column);
            separator = ", ";
        }
    s_sql (sql, " FROM %s", resource->table);
}

//  A statement's parameters, as text: the columns' types vary with the
//  members written, and pst_sql binds from a format known at compile time.
//  Both engines take a number as text: SQLite converts it by the column's
//  INTEGER affinity, PostgreSQL by the type it infers for the parameter.
typedef struct {
    const char *values [MAX_PARAMS];
    char *owned [MAX_PARAMS];       //  those made here, freed with the list
    int count;
    int overflow;
} params_t;

static void
s_param (params_t *params, const char *value, char *owned)
{
    if (params->count == MAX_PARAMS) {
        params->overflow = 1;
        free (owned);
        return;
    }
    params->owned [params->count] = owned;
    params->values [params->count++] = owned? owned: value;
}

static void
s_param_int (params_t *params, int64_t value)
{
    char *text = NULL;
    if (asprintf (&text, "%lld", (long long) value) < 0) {
        params->overflow = 1;
        return;
    }
    s_param (params, NULL, text);
}

static void
s_params_free (params_t *params)
{
    for (int index = 0; index < params->count; index++)
        free (params->owned [index]);
    params->count = 0;
}

//  The statement sql with params bound in order from ?1, ready to step; NULL
//  on failure (logged). The text is built at run time, at an address that
//  other texts take in turn: pst_sql compares the text as well as the address.
static pst_sql_stmt_t *
s_query (authn_store_t *self, const sql_t *sql, const params_t *params)
{
    if (sql->overflow || params->overflow) {
        pst_log (PST_LOG_ERROR, "db_statement_too_long", NULL);
        return NULL;
    }
    pst_sql_stmt_t *stmt = pst_sql_prepare (self->sql, sql->text);
    for (int index = 0; stmt && index < params->count; index++)
        if (pst_sql_bind_text (stmt, index + 1, params->values [index]) != 0) {
            pst_sql_done (stmt);
            stmt = NULL;
        }
    return stmt;
}

//  ---------------------------------------------------------------------------
//  Rows to JSON

static json_t *
s_time (pst_sql_stmt_t *stmt, int index)
{
    if (pst_sql_is_null (stmt, index))
        return json_null ();
    time_t when = (time_t) pst_sql_int64 (stmt, index);
    struct tm utc;
    gmtime_r (&when, &utc);
    char text [32];
    strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &utc);
    return json_string (text);
}

//  A user of the database connection, as Auth0 shows it: the id without its
//  provider prefix
static json_t *
s_identities (const char *user_id)
{
    const char *bare_id = strchr (user_id, '|')? strchr (user_id, '|') + 1: user_id;
    return json_pack ("[{s:s, s:s, s:s, s:b}]", "connection", AUTHN_CONNECTION,
                      "user_id", bare_id, "provider", "auth0", "isSocial", 0);
}

//  An object stored as JSON text; NULL when there is none, or when the text
//  is not an object (logged: only the store writes it)
static json_t *
s_object (const column_t *column, const char *text)
{
    json_t *object = text? json_loads (text, 0, NULL): NULL;
    if (text && !json_is_object (object)) {
        pst_log (PST_LOG_ERROR, "db_object_unreadable", "column", column->column, NULL);
        json_decref (object);
        object = NULL;
    }
    return object;
}

//  A member's value from the row stmt stands on; NULL for a member not shown
static json_t *
s_value (const column_t *column, pst_sql_stmt_t *stmt, int index)
{
    const char *text = pst_sql_text (stmt, index);
    switch (column->kind) {
        case KIND_TEXT:
            return text? json_string (text): json_null ();
        case KIND_INT:
            return json_integer ((json_int_t) pst_sql_int64 (stmt, index));
        case KIND_FLAG:
            return json_boolean (pst_sql_int64 (stmt, index) != 0);
        case KIND_LIST: {
            json_t *list = json_loads (text? text: "[]", 0, NULL);
            return list? list: json_array ();
        }
        case KIND_TIME:
            return s_time (stmt, index);
        case KIND_IDENTITIES:
            return s_identities (text? text: "");
        case KIND_OBJECT:
            return s_object (column, text);
    }
    return json_null ();
}

//  The row stmt stands on, as the API shows it
static json_t *
s_row (const resource_t *resource, pst_sql_stmt_t *stmt)
{
    json_t *row = json_object ();
    int index = 0;
    for (const column_t *column = resource->columns; row && column->member; column++)
        if (column->flags & SHOWN) {
            json_t *value = s_value (column, stmt, index++);
            if (value)
                json_object_set_new (row, column->member, value);
        }
    return row;
}

//  ---------------------------------------------------------------------------
//  JSON to parameters

//  Adds a member's value as its column holds it; 0, or -1 when the value is
//  not of the member's kind
static int
s_bind (params_t *params, const column_t *column, const json_t *value)
{
    switch (column->kind) {
        case KIND_TEXT:
            if (json_is_null (value) || json_is_string (value)) {
                s_param (params, json_string_value (value), NULL);
                return 0;
            }
            break;
        case KIND_INT:
        case KIND_TIME:
            if (json_is_integer (value)) {
                s_param_int (params, (int64_t) json_integer_value (value));
                return 0;
            }
            break;
        case KIND_FLAG:
            if (json_is_boolean (value)) {
                s_param (params, json_is_true (value)? "1": "0", NULL);
                return 0;
            }
            break;
        case KIND_LIST:
        case KIND_OBJECT: {
            if (column->kind == KIND_OBJECT && json_is_null (value)) {
                s_param (params, NULL, NULL);
                return 0;
            }
            int fits = column->kind == KIND_LIST? json_is_array (value): json_is_object (value);
            char *text = fits? json_dumps (value, JSON_COMPACT): NULL;
            if (!text)
                break;
            s_param (params, NULL, text);
            return 0;
        }
        case KIND_IDENTITIES:
            break;
    }
    return -1;
}

//  The columns that the members of row set, in the order of row's members;
//  their count, or -1 (logged) when a member is not one the resource writes.
static int
s_written (const resource_t *resource, const json_t *row, const column_t **columns,
           const json_t **values)
{
    int count = 0;
    const char *member;
    json_t *value;
    json_object_foreach ((json_t *) row, member, value) {
        const column_t *column = s_column (resource, member, WRITTEN);
        if (!column || count == MAX_WRITTEN) {
            pst_log (PST_LOG_ERROR, "db_member_not_written", "table", resource->table,
                     "member", member, NULL);
            return -1;
        }
        columns [count] = column;
        values [count++] = value;
    }
    return count;
}

//  Adds values, then now for each of stamps; 0, or -1 (logged)
static int
s_bind_all (params_t *params, int count, const column_t **columns, const json_t **values,
            int stamps, int64_t now)
{
    for (int index = 0; index < count; index++)
        if (s_bind (params, columns [index], values [index]) != 0) {
            pst_log (PST_LOG_ERROR, "db_bind_failed", "member", columns [index]->member,
                     "reason", "type", NULL);
            return -1;
        }
    for (int index = 0; index < stamps; index++)
        s_param_int (params, now);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The five operations

//  " WHERE ..." over the resource's filters, each ?N (N from 1) and true when
//  unbound; the count of filters. The CAST gives PostgreSQL the type that a
//  parameter tested only for NULL leaves open.
static int
s_sql_where (authn_store_t *self, sql_t *sql, const resource_t *resource)
{
    int count = 0;
    for (const char *const *filter = resource->filters; filter && *filter; filter++) {
        const column_t *column = s_column (resource, *filter, SHOWN);
        count++;
        //  A NOCASE column: SQLite's collation does it, and its index serves
        //  `column = ?`; PostgreSQL's index is on lower(column). The value is
        //  folded in C (s_bind_filters) for both.
        const char *format = (column->flags & NOCASE) && authn_store_sql_is_postgres (self)
                           ? "%s(CAST(?%d AS TEXT) IS NULL OR lower (%s) = ?%d)"
                           : "%s(CAST(?%d AS TEXT) IS NULL OR %s = ?%d)";
        s_sql (sql, format, count == 1? " WHERE ": " AND ", count, column->column, count);
    }
    return count;
}

//  Adds the filters' values from query (strings; others leave theirs NULL)
static void
s_bind_filters (params_t *params, const resource_t *resource, int count, const json_t *query)
{
    for (int index = 0; index < count; index++) {
        const char *filter = resource->filters [index];
        const char *value = pst_json_str (query, filter);
        if (value && (s_column (resource, filter, SHOWN)->flags & NOCASE)) {
            char *folded = authn_store_sql_fold (value);
            if (!folded)
                params->overflow = 1;
            else
                s_param (params, NULL, folded);
        }
        else
            s_param (params, value, NULL);
    }
}

//  How many rows match the filters of query; -1 on error
static int64_t
s_count (authn_store_t *self, const resource_t *resource, const json_t *query)
{
    sql_t sql = { .size = 0 };
    s_sql (&sql, "SELECT count(*) FROM %s", resource->table);
    int count = s_sql_where (self, &sql, resource);
    params_t params = { .count = 0 };
    s_bind_filters (&params, resource, count, query);
    pst_sql_stmt_t *stmt = s_query (self, &sql, &params);
    int64_t total = stmt && pst_sql_step (stmt) == 1? pst_sql_int64 (stmt, 0): -1;
    pst_sql_done (stmt);
    s_params_free (&params);
    return total;
}

json_t *
authn_store_page (authn_store_t *self, authn_resource_t which, const json_t *query,
                  int64_t offset, int limit, int64_t *total_p)
{
    const resource_t *resource = s_resource (which);
    if (!resource || offset < 0 || limit < 0)
        return NULL;
    if (total_p && (*total_p = s_count (self, resource, query)) < 0)
        return NULL;
    sql_t sql = { .size = 0 };
    s_sql_select (&sql, resource);
    int count = s_sql_where (self, &sql, resource);
    s_sql (&sql, " ORDER BY %s LIMIT ?%d OFFSET ?%d", resource->order, count + 1, count + 2);
    params_t params = { .count = 0 };
    s_bind_filters (&params, resource, count, query);
    s_param_int (&params, limit);
    s_param_int (&params, offset);
    pst_sql_stmt_t *stmt = s_query (self, &sql, &params);
    if (!stmt) {
        s_params_free (&params);
        return NULL;
    }
    json_t *list = json_array ();
    int rc;
    while ((rc = pst_sql_step (stmt)) == 1)
        json_array_append_new (list, s_row (resource, stmt));
    pst_sql_done (stmt);
    s_params_free (&params);
    if (rc != 0) {
        pst_log (PST_LOG_ERROR, "db_list_failed", "table", resource->table, NULL);
        json_decref (list);
        return NULL;
    }
    return list;
}

json_t *
authn_store_list (authn_store_t *self, authn_resource_t which, const json_t *query)
{
    return authn_store_page (self, which, query, 0, LIST_LIMIT, NULL);
}

json_t *
authn_store_get (authn_store_t *self, authn_resource_t which, const char *id)
{
    const resource_t *resource = s_resource (which);
    if (!resource || !id)
        return NULL;
    sql_t sql = { .size = 0 };
    s_sql_select (&sql, resource);
    s_sql (&sql, " WHERE %s", resource->key);
    params_t params = { .count = 0 };
    s_param (&params, id, NULL);
    pst_sql_stmt_t *stmt = s_query (self, &sql, &params);
    json_t *row = stmt && pst_sql_step (stmt) == 1? s_row (resource, stmt): NULL;
    pst_sql_done (stmt);
    return row;
}

int
authn_store_insert (authn_store_t *self, authn_resource_t which, const json_t *row)
{
    const resource_t *resource = s_resource (which);
    const column_t *columns [MAX_WRITTEN];
    const json_t *values [MAX_WRITTEN];
    int count = resource && json_is_object (row)? s_written (resource, row, columns, values): -1;
    if (count < 0)
        return -1;
    //  Creation and update times are the store's to set
    const char *stamps [2];
    int stamp_count = 0;
    if (resource->created)
        stamps [stamp_count++] = resource->created;
    if (resource->updated)
        stamps [stamp_count++] = resource->updated;
    sql_t names = { .size = 0 }, marks = { .size = 0 };
    for (int index = 0; index < count + stamp_count; index++) {
        const char *name = index < count? columns [index]->column: stamps [index - count];
        s_sql (&names, "%s%s", index? ", ": "", name);
        s_sql (&marks, "%s?%d", index? ", ": "", index + 1);
    }
    sql_t sql = { .size = 0 };
    s_sql (&sql, "INSERT INTO %s (%s) VALUES (%s)", resource->table, names.text, marks.text);
    sql.overflow |= names.overflow | marks.overflow;
    params_t params = { .count = 0 };
    int rc = s_bind_all (&params, count, columns, values, stamp_count,
                       authn_store_sql_now (self)) == 0
           ? authn_store_sql_finish (self, s_query (self, &sql, &params)): -1;
    s_params_free (&params);
    return rc;
}

int
authn_store_update (authn_store_t *self, authn_resource_t which, const char *id,
                    const json_t *changes)
{
    const resource_t *resource = s_resource (which);
    const column_t *columns [MAX_WRITTEN];
    const json_t *values [MAX_WRITTEN];
    int count = resource && id && json_is_object (changes)?
                s_written (resource, changes, columns, values): -1;
    if (count < 0)
        return -1;
    int stamp_count = resource->updated? 1: 0;
    if (count + stamp_count == 0)
        return 0;               //  nothing to change
    //  The id is ?1, as the resource's key has it; the values follow
    sql_t sql = { .size = 0 };
    s_sql (&sql, "UPDATE %s SET ", resource->table);
    for (int index = 0; index < count; index++) {
        const char *name = columns [index]->column;
        if (columns [index]->flags & ONCE)
            s_sql (&sql, "%s%s = COALESCE (%s, ?%d)", index? ", ": "", name, name, index + 2);
        else
            s_sql (&sql, "%s%s = ?%d", index? ", ": "", name, index + 2);
    }
    if (stamp_count)
        s_sql (&sql, "%s%s = ?%d", count? ", ": "", resource->updated, count + 2);
    s_sql (&sql, " WHERE %s", resource->key);
    params_t params = { .count = 0 };
    s_param (&params, id, NULL);
    int rc = s_bind_all (&params, count, columns, values, stamp_count,
                       authn_store_sql_now (self)) == 0
           ? authn_store_sql_finish (self, s_query (self, &sql, &params)): -1;
    s_params_free (&params);
    return rc;
}

int
authn_store_delete (authn_store_t *self, authn_resource_t which, const char *id)
{
    const resource_t *resource = s_resource (which);
    if (!resource || !id)
        return -1;
    sql_t sql = { .size = 0 };
    s_sql (&sql, "DELETE FROM %s WHERE %s", resource->table, resource->key);
    if (sql.overflow)
        return -1;
    //  The rows of this table alone: those its deletion cascades to are not counted
    return pst_sql_run (self->sql, sql.text, "t", id);
}
