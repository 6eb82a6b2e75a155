/*  pst_sql_pg - pst_sql on PostgreSQL through libpq.

    Statements are prepared once per connection (named, server side) and run
    with PQexecPrepared; values travel as text, blobs in binary; results come
    back as text. The `?`/`?N` placeholders of the shared SQL become `$N`.
    libpq is synchronous here: each worker thread has its own connection.
*/
#include "pst_sql_engine.h"
#include "pst_sql_placeholders.h"
#include "pst_log.h"
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Statements one connection keeps prepared: more than any store uses
#define S_CACHE_SIZE    256

//  The advisory locks' first key, "PST" in ASCII; the second is the schema's hash
#define S_LOCK_CLASS    5264212

typedef struct {
    const char *sql;            //  the caller's SQL, by address
    char *text;                 //  a copy of it, to notice another text at that address
    char *rewritten;            //  with $N placeholders
    int params;                 //  placeholders it has
    char name [16];             //  its name on the server
    bool prepared;              //  on the current connection
    bool busy;                  //  handed out, not given back yet
} s_prepared_t;

typedef enum { S_TXN_NONE, S_TXN_OPEN, S_TXN_LOST } s_txn_t;

typedef struct {
    pst_sql_t base;
    PGconn *conn;
    char schema [64];
    int32_t lock_key;           //  the schema's writers queue on this
    s_txn_t txn;
    unsigned serial;            //  names statements
    s_prepared_t cache [S_CACHE_SIZE];
} s_pg_t;

typedef struct {
    pst_sql_stmt_t base;
    s_prepared_t *prepared;     //  the cache's entry, or
    s_prepared_t oneoff;        //  this one's own, when the cache cannot keep it
    int params;
    const char *values [PST_SQL_MAX_PARAMS];
    int lengths [PST_SQL_MAX_PARAMS];
    int formats [PST_SQL_MAX_PARAMS];
    char *owned [PST_SQL_MAX_PARAMS];   //  the values' copies
    PGresult *result;           //  NULL until the first step
    int row;
    int rows;
    unsigned char *bytes;       //  the last blob unescaped
} s_pg_stmt_t;

static int32_t
s_hash (const char *text)
{
    uint32_t hash = 2166136261u;
    for (; *text; text++)
        hash = (hash ^ (unsigned char) *text) * 16777619u;
    return (int32_t) (hash & 0x7fffffff);
}

//  libpq's messages end with a newline; the log wants one line. Only the
//  primary message of a statement's error is logged: its detail can quote
//  the values (an email in a unique key), and no value goes to the log.
static void
s_log (const char *event, const char *sqlstate, const char *message)
{
    char line [512];
    snprintf (line, sizeof line, "%s", message? message: "");
    size_t length = strlen (line);
    while (length > 0 && (line [length - 1] == '\n' || line [length - 1] == ' '))
        line [--length] = '\0';
    pst_log (PST_LOG_ERROR, event, "engine", "postgres", "sqlstate", sqlstate? sqlstate: "",
             "reason", line, NULL);
}

static void
s_forget_prepared (s_pg_t *self)
{
    for (int i = 0; i < S_CACHE_SIZE; i++)
        self->cache [i].prepared = false;
}

//  What every new connection needs before it serves: the service's schema
static int
s_session_setup (s_pg_t *self)
{
    char sql [128];
    snprintf (sql, sizeof sql, "SET search_path TO %s", self->schema);
    PGresult *result = PQexec (self->conn, sql);
    int ok = PQresultStatus (result) == PGRES_COMMAND_OK;
    if (!ok)
        s_log ("db_session_failed", PQresultErrorField (result, PG_DIAG_SQLSTATE),
               PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY));
    PQclear (result);
    return ok? 0: -1;
}

//  A live connection, reopened if it was lost. A transaction open when it was
//  lost is lost with it: it fails until the caller rolls back.
static int
s_ensure_connection (s_pg_t *self)
{
    //  An idle connection the server closed (it restarted, or a standby took
    //  over) has its goodbye waiting on the socket: read it now, so the
    //  connection is reopened before the statement rather than failing it
    if (PQstatus (self->conn) == CONNECTION_OK
    &&  PQtransactionStatus (self->conn) == PQTRANS_IDLE) {
        //  The server's last words first, then the end of the stream: a few
        //  reads, while there is something to read
        for (int reads = 0; reads < 4 && PQstatus (self->conn) == CONNECTION_OK; reads++) {
            struct pollfd socket = { PQsocket (self->conn), POLLIN, 0 };
            if (socket.fd < 0 || poll (&socket, 1, 0) <= 0 || !PQconsumeInput (self->conn))
                break;
        }
    }
    if (PQstatus (self->conn) == CONNECTION_OK)
        return 0;
    PQreset (self->conn);
    if (PQstatus (self->conn) != CONNECTION_OK) {
        s_log ("db_unavailable", "", PQerrorMessage (self->conn));
        return -1;
    }
    s_forget_prepared (self);
    if (self->txn == S_TXN_OPEN)
        self->txn = S_TXN_LOST;
    if (s_session_setup (self) != 0)
        return -1;
    pst_log (PST_LOG_INFO, "db_reconnected", "engine", "postgres", NULL);
    return 0;
}

static pst_sql_failure_t
s_failure_of (s_pg_t *self, PGresult *result)
{
    if (PQstatus (self->conn) != CONNECTION_OK)
        return PST_SQL_UNAVAILABLE;
    const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
    if (!state)
        return PST_SQL_ERROR;
    if (strncmp (state, "23", 2) == 0)
        return PST_SQL_CONSTRAINT;
    //  Connection trouble, too many connections, a server shutting down or
    //  starting up, a standby that cannot write
    if (strncmp (state, "08", 2) == 0 || strncmp (state, "53", 2) == 0
    ||  strncmp (state, "57P", 3) == 0 || strcmp (state, "25006") == 0)
        return PST_SQL_UNAVAILABLE;
    return PST_SQL_ERROR;
}

//  Runs a command without parameters or rows on the live connection
static int
s_command (s_pg_t *self, const char *sql, ExecStatusType expected)
{
    if (s_ensure_connection (self) != 0) {
        self->base.failure = PST_SQL_UNAVAILABLE;
        return -1;
    }
    PGresult *result = PQexec (self->conn, sql);
    int ok = PQresultStatus (result) == expected;
    self->base.failure = ok? PST_SQL_OK: s_failure_of (self, result);
    if (!ok)
        s_log ("db_exec_failed", PQresultErrorField (result, PG_DIAG_SQLSTATE),
               PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY)
               ? PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY)
               : PQerrorMessage (self->conn));
    PQclear (result);
    return ok? 0: -1;
}

static void
s_close (pst_sql_t *base)
{
    s_pg_t *self = (s_pg_t *) base;
    for (int i = 0; i < S_CACHE_SIZE; i++) {
        free (self->cache [i].text);
        free (self->cache [i].rewritten);
    }
    PQfinish (self->conn);
    free (self);
}

static int
s_exec (pst_sql_t *base, const char *script)
{
    s_pg_t *self = (s_pg_t *) base;
    if (self->txn == S_TXN_LOST) {
        base->failure = PST_SQL_UNAVAILABLE;
        return -1;
    }
    return s_command (self, script, PGRES_COMMAND_OK);
}

//  The cache's entry for sql: where it is, else the first free one on its
//  probe; NULL when the cache is full along the way
static s_prepared_t *
s_cache_slot (s_pg_t *self, const char *sql)
{
    size_t start = ((uintptr_t) sql >> 3) % S_CACHE_SIZE;
    for (size_t i = 0; i < S_CACHE_SIZE; i++) {
        s_prepared_t *entry = &self->cache [(start + i) % S_CACHE_SIZE];
        if (!entry->sql || entry->sql == sql)
            return entry;
    }
    return NULL;
}

static void
s_entry_clear (s_prepared_t *entry)
{
    free (entry->text);
    free (entry->rewritten);
    memset (entry, 0, sizeof *entry);
}

static int
s_entry_fill (s_prepared_t *entry, const char *sql, unsigned serial)
{
    entry->sql = sql;
    entry->text = strdup (sql);
    entry->rewritten = pst_sql_placeholders (sql, &entry->params);
    snprintf (entry->name, sizeof entry->name, "p%u", serial);
    entry->prepared = false;
    return entry->text && entry->rewritten? 0: -1;
}

//  Copies the values into one block and points the parameters at them
//  Keeps a copy of value for placeholder index (from 1): text as it is, an
//  integer in decimal, a blob in binary (PostgreSQL's bytea)
static int
s_bind (pst_sql_stmt_t *base, int index, const pst_sql_value_t *value)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    if (index < 1 || index > stmt->params) {
        pst_log (PST_LOG_ERROR, "db_bind_failed", "engine", "postgres",
                 "reason", "no such placeholder", NULL);
        base->owner->failure = PST_SQL_ERROR;
        return -1;
    }
    int i = index - 1;
    free (stmt->owned [i]);
    stmt->owned [i] = NULL;
    stmt->values [i] = NULL;
    stmt->lengths [i] = 0;
    stmt->formats [i] = 0;
    if (value->type == 't' && value->text)
        stmt->owned [i] = strdup (value->text);
    else
    if (value->type == 'i') {
        char text [24];
        snprintf (text, sizeof text, "%lld", (long long) value->integer);
        stmt->owned [i] = strdup (text);
    }
    else
    if (value->type == 'b') {
        if (value->size > 0x7fffffff)
            return -1;
        stmt->owned [i] = (char *) malloc (value->size + 1);
        if (stmt->owned [i] && value->size)
            memcpy (stmt->owned [i], value->blob, value->size);
        stmt->lengths [i] = (int) value->size;
        stmt->formats [i] = 1;
    }
    else
        return 0;       //  NULL
    if (!stmt->owned [i]) {
        base->owner->failure = PST_SQL_ERROR;
        return -1;
    }
    stmt->values [i] = stmt->owned [i];
    return 0;
}

static pst_sql_stmt_t *
s_prepare (pst_sql_t *base, const char *sql)
{
    s_pg_t *self = (s_pg_t *) base;
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) calloc (1, sizeof *stmt);
    if (!stmt) {
        base->failure = PST_SQL_ERROR;
        return NULL;
    }
    stmt->base.owner = base;
    s_prepared_t *entry = s_cache_slot (self, sql);
    //  Another text at an address a literal had (SQL built at run time): replaced
    if (entry && entry->sql && !entry->busy && strcmp (entry->text, sql) != 0) {
        if (entry->prepared) {
            char deallocate [32];
            snprintf (deallocate, sizeof deallocate, "DEALLOCATE %s", entry->name);
            PQclear (PQexec (self->conn, deallocate));
        }
        s_entry_clear (entry);
    }
    if (entry && !entry->sql) {
        if (s_entry_fill (entry, sql, ++self->serial) != 0)
            s_entry_clear (entry);
    }
    if (entry && entry->sql && !entry->busy) {
        stmt->prepared = entry;
        entry->busy = true;
    }
    else {
        //  Run once without keeping it (in use already, or no room)
        stmt->prepared = &stmt->oneoff;
        stmt->oneoff.rewritten = pst_sql_placeholders (sql, &stmt->oneoff.params);
    }
    //  Placeholders left unbound are NULL, as in SQLite
    stmt->params = stmt->prepared->params;
    if (!stmt->prepared->rewritten || stmt->params > PST_SQL_MAX_PARAMS) {
        pst_log (PST_LOG_ERROR, "db_prepare_failed", "engine", "postgres",
                 "reason", stmt->prepared->rewritten? "too many placeholders": "out of memory",
                 NULL);
        base->failure = PST_SQL_ERROR;
        base->ops->done (&stmt->base);
        return NULL;
    }
    base->failure = PST_SQL_OK;
    return &stmt->base;
}

static PGresult *
s_execute (s_pg_t *self, s_pg_stmt_t *stmt)
{
    s_prepared_t *entry = stmt->prepared;
    if (entry == &stmt->oneoff)
        return PQexecParams (self->conn, entry->rewritten, stmt->params, NULL,
                             stmt->values, stmt->lengths, stmt->formats, 0);
    if (!entry->prepared) {
        PGresult *prepared = PQprepare (self->conn, entry->name, entry->rewritten,
                                        entry->params, NULL);
        if (PQresultStatus (prepared) != PGRES_COMMAND_OK)
            return prepared;
        PQclear (prepared);
        entry->prepared = true;
    }
    return PQexecPrepared (self->conn, entry->name, stmt->params, stmt->values,
                           stmt->lengths, stmt->formats, 0);
}

static int
s_step (pst_sql_stmt_t *base)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    s_pg_t *self = (s_pg_t *) base->owner;
    if (!stmt->result) {
        if (self->txn == S_TXN_LOST || s_ensure_connection (self) != 0
        ||  self->txn == S_TXN_LOST) {
            self->base.failure = PST_SQL_UNAVAILABLE;
            return -1;
        }
        stmt->result = s_execute (self, stmt);
        ExecStatusType status = PQresultStatus (stmt->result);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            self->base.failure = s_failure_of (self, stmt->result);
            if (self->base.failure != PST_SQL_CONSTRAINT)
                s_log ("db_query_failed",
                       PQresultErrorField (stmt->result, PG_DIAG_SQLSTATE),
                       PQresultErrorField (stmt->result, PG_DIAG_MESSAGE_PRIMARY)
                       ? PQresultErrorField (stmt->result, PG_DIAG_MESSAGE_PRIMARY)
                       : PQerrorMessage (self->conn));
            //  A statement the server forgot (it restarted under us) is prepared
            //  again. Only then: one that failed for its values (a constraint)
            //  is still prepared, and preparing it again would fail for ever.
            const char *state = PQresultErrorField (stmt->result, PG_DIAG_SQLSTATE);
            if (stmt->prepared != &stmt->oneoff && state && strcmp (state, "26000") == 0)
                stmt->prepared->prepared = false;
            PQclear (stmt->result);
            stmt->result = NULL;
            return -1;
        }
        stmt->rows = PQntuples (stmt->result);
        stmt->row = -1;
    }
    self->base.failure = PST_SQL_OK;
    if (stmt->row < stmt->rows)
        stmt->row++;
    return stmt->row < stmt->rows;
}

static int
s_changes (pst_sql_stmt_t *base)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    return stmt->result? atoi (PQcmdTuples (stmt->result)): 0;
}

static void
s_done (pst_sql_stmt_t *base)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    if (stmt->prepared && stmt->prepared != &stmt->oneoff)
        stmt->prepared->busy = false;
    free (stmt->oneoff.rewritten);
    PQclear (stmt->result);
    PQfreemem (stmt->bytes);
    for (int i = 0; i < PST_SQL_MAX_PARAMS; i++)
        free (stmt->owned [i]);
    free (stmt);
}

static int
s_has_value (s_pg_stmt_t *stmt, int column)
{
    return stmt->result && stmt->row >= 0 && stmt->row < stmt->rows
        && column >= 0 && column < PQnfields (stmt->result)
        && !PQgetisnull (stmt->result, stmt->row, column);
}

static int
s_is_null (pst_sql_stmt_t *base, int column)
{
    return !s_has_value ((s_pg_stmt_t *) base, column);
}

static const char *
s_text (pst_sql_stmt_t *base, int column)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    return s_has_value (stmt, column)? PQgetvalue (stmt->result, stmt->row, column): NULL;
}

static int64_t
s_int64 (pst_sql_stmt_t *base, int column)
{
    const char *text = s_text (base, column);
    if (!text)
        return 0;
    if (strcmp (text, "t") == 0)
        return 1;
    return strtoll (text, NULL, 10);
}

static const void *
s_blob (pst_sql_stmt_t *base, int column, size_t *size)
{
    s_pg_stmt_t *stmt = (s_pg_stmt_t *) base;
    *size = 0;
    const char *text = s_text (base, column);
    if (!text)
        return NULL;
    PQfreemem (stmt->bytes);
    stmt->bytes = PQunescapeBytea ((const unsigned char *) text, size);
    return stmt->bytes;
}

static int
s_begin (pst_sql_t *base)
{
    s_pg_t *self = (s_pg_t *) base;
    char sql [96];
    //  Read committed whatever the server's default: after the lock, every
    //  statement sees what the writer before us committed
    snprintf (sql, sizeof sql, "BEGIN ISOLATION LEVEL READ COMMITTED;"
              " SELECT pg_advisory_xact_lock (%d, %d)",
              S_LOCK_CLASS, (int) self->lock_key);
    if (s_command (self, sql, PGRES_TUPLES_OK) != 0) {
        PQclear (PQexec (self->conn, "ROLLBACK"));
        return -1;
    }
    self->txn = S_TXN_OPEN;
    return 0;
}

static int
s_commit (pst_sql_t *base)
{
    s_pg_t *self = (s_pg_t *) base;
    if (self->txn != S_TXN_OPEN) {
        //  Lost with its connection: nothing of it was kept
        self->txn = S_TXN_NONE;
        base->failure = PST_SQL_UNAVAILABLE;
        return -1;
    }
    PGresult *result = PQexec (self->conn, "COMMIT");
    //  A transaction that failed part way answers COMMIT with ROLLBACK
    int ok = PQresultStatus (result) == PGRES_COMMAND_OK
          && strcmp (PQcmdStatus (result), "COMMIT") == 0;
    base->failure = ok? PST_SQL_OK: s_failure_of (self, result);
    if (!ok && base->failure == PST_SQL_OK)
        base->failure = PST_SQL_ERROR;
    PQclear (result);
    self->txn = S_TXN_NONE;
    return ok? 0: -1;
}

static int
s_rollback (pst_sql_t *base)
{
    s_pg_t *self = (s_pg_t *) base;
    s_txn_t txn = self->txn;
    self->txn = S_TXN_NONE;
    if (txn != S_TXN_OPEN || PQstatus (self->conn) != CONNECTION_OK
    ||  PQtransactionStatus (self->conn) == PQTRANS_IDLE)
        return 0;
    PQclear (PQexec (self->conn, "ROLLBACK"));
    return 0;
}

static int
s_in_transaction (pst_sql_t *base)
{
    return ((s_pg_t *) base)->txn != S_TXN_NONE;
}

static const pst_sql_engine_ops_t s_ops = {
    .close = s_close, .exec = s_exec, .prepare = s_prepare, .bind = s_bind, .step = s_step,
    .changes = s_changes, .done = s_done, .is_null = s_is_null, .text = s_text,
    .int64 = s_int64, .blob = s_blob, .begin = s_begin, .commit = s_commit,
    .rollback = s_rollback, .in_transaction = s_in_transaction
};

//  ---------------------------------------------------------------------------
//  Migrations: under a session advisory lock, so that instances starting
//  together migrate once; each step in its own transaction with its version.

static int64_t
s_version (s_pg_t *self)
{
    PGresult *result = PQexec (self->conn, "SELECT version FROM schema_version WHERE id = 1");
    int64_t version = PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
                    ? strtoll (PQgetvalue (result, 0, 0), NULL, 10): -1;
    PQclear (result);
    return version;
}

static int
s_migrate (s_pg_t *self, const char *const *migrations)
{
    int count = 0;
    while (migrations && migrations [count])
        count++;
    char sql [512];
    snprintf (sql, sizeof sql,
        "CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s;"
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES (1, 0) ON CONFLICT DO NOTHING",
        self->schema, self->schema);
    if (s_command (self, sql, PGRES_COMMAND_OK) != 0)
        return -1;
    for (;;) {
        int64_t version = s_version (self);
        if (version < 0)
            return -1;
        if (version > count) {
            //  Written by a newer release: running old code on it could corrupt it
            pst_log (PST_LOG_ERROR, "db_version_too_new", "engine", "postgres", NULL);
            return -1;
        }
        if (version == count)
            return 0;
        char version_text [16];
        snprintf (version_text, sizeof version_text, "%d", (int) version + 1);
        char bump [96];
        snprintf (bump, sizeof bump, "UPDATE schema_version SET version = %d WHERE id = 1",
                  (int) version + 1);
        if (s_command (self, "BEGIN", PGRES_COMMAND_OK) != 0)
            return -1;
        if (s_command (self, migrations [version], PGRES_COMMAND_OK) != 0
        ||  s_command (self, bump, PGRES_COMMAND_OK) != 0
        ||  s_command (self, "COMMIT", PGRES_COMMAND_OK) != 0) {
            pst_log (PST_LOG_ERROR, "db_migration_failed", "engine", "postgres",
                     "version", version_text, NULL);
            PQclear (PQexec (self->conn, "ROLLBACK"));
            return -1;
        }
        pst_log (PST_LOG_INFO, "db_migrated", "engine", "postgres", "schema", self->schema,
                 "version", version_text, NULL);
    }
}

static int
s_migrate_locked (s_pg_t *self, const char *const *migrations)
{
    char lock [96];
    snprintf (lock, sizeof lock, "SELECT pg_advisory_lock (%d, %d)",
              S_LOCK_CLASS, (int) self->lock_key);
    if (s_command (self, lock, PGRES_TUPLES_OK) != 0)
        return -1;
    int rc = s_migrate (self, migrations);
    snprintf (lock, sizeof lock, "SELECT pg_advisory_unlock (%d, %d)",
              S_LOCK_CLASS, (int) self->lock_key);
    PQclear (PQexec (self->conn, lock));
    return rc;
}

//  The server's notices ("schema already exists, skipping") are for people at
//  a psql prompt; libpq's default prints them on stderr, outside the log
static void
s_ignore_notice (void *args, const char *message)
{
    (void) args;
    (void) message;
}

pst_sql_t *
pst_sql_pg_open (const char *url, const pst_sql_schema_t *schema)
{
    s_pg_t *self = (s_pg_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->base.ops = &s_ops;
    self->base.engine = PST_SQL_POSTGRES;
    snprintf (self->schema, sizeof self->schema, "%s", schema->name);
    self->lock_key = s_hash (schema->name);
    char application [80];
    snprintf (application, sizeof application, "postern-%s", schema->name);
    //  Our defaults first: what the URL says wins. A dead server is noticed
    //  within seconds, not at the kernel's TCP timeout.
    const char *keys [] = { "connect_timeout", "tcp_user_timeout", "keepalives_idle",
                            "keepalives_interval", "keepalives_count",
                            "application_name", "dbname", NULL };
    const char *values [] = { "3", "5000", "5", "2", "2", application, url, NULL };
    self->conn = PQconnectdbParams (keys, values, 1);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        s_log ("db_open_failed", "", self->conn? PQerrorMessage (self->conn): "out of memory");
        PQfinish (self->conn);
        free (self);
        return NULL;
    }
    PQsetNoticeProcessor (self->conn, s_ignore_notice, NULL);
    if (s_migrate_locked (self, schema->postgres) != 0 || s_session_setup (self) != 0) {
        pst_log (PST_LOG_ERROR, "db_open_failed", "engine", "postgres", NULL);
        PQfinish (self->conn);
        free (self);
        return NULL;
    }
    return &self->base;
}
