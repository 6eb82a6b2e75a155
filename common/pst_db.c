/*  pst_db - SQLite with the durability settings every service needs.

    Each thread opens its own connection (SQLITE_OPEN_NOMUTEX), so SQLite's own
    serialisation is not paid twice. Errors are logged with SQLite's message,
    never with SQL text or bound values.
*/
#include "pst_db.h"
#include "pst_clock.h"
#include "pst_log.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
s_log_error (sqlite3 *db, const char *event)
{
    char code [16];
    snprintf (code, sizeof code, "%d", sqlite3_extended_errcode (db));
    pst_log (PST_LOG_ERROR, event, "sqlite_rc", code, "reason", sqlite3_errmsg (db), NULL);
}

//  Creates the file 0600 before SQLite sees it, so the database is never
//  readable by others, even for a moment and whatever the umask. SQLite gives
//  the -wal and -shm files the same mode as the database.
static int
s_create_private (const char *path)
{
    if (strcmp (path, ":memory:") == 0 || strncmp (path, "file:", 5) == 0)
        return 0;
    int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST? 0: -1;
    int rc = fchmod (fd, 0600);
    close (fd);
    return rc;
}

static int
s_is_busy (int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

//  Runs a one-row pragma and copies its text answer into value. When new
//  connections race, SQLite answers SQLITE_BUSY at once, without calling the
//  busy handler, wherever waiting could deadlock (two readers both switching to
//  WAL). So these setup pragmas retry after a short random pause, up to the
//  busy timeout.
static int
s_pragma_text (sqlite3 *db, const char *sql, char *value, size_t size)
{
    int waited_ms = 0;
    for (;;) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) {
            const unsigned char *text = sqlite3_column_text (stmt, 0);
            snprintf (value, size, "%s", text? (const char *) text: "");
            sqlite3_finalize (stmt);
            return 0;
        }
        sqlite3_finalize (stmt);
        if (!s_is_busy (rc) || waited_ms >= PST_DB_BUSY_TIMEOUT_MS) {
            s_log_error (db, "db_pragma_failed");
            return -1;
        }
        unsigned int pause_ms;
        sqlite3_randomness (sizeof pause_ms, &pause_ms);
        pause_ms = 1 + pause_ms % 10;
        usleep (pause_ms * 1000);
        waited_ms += (int) pause_ms;
    }
}

static int
s_user_version (sqlite3 *db)
{
    char value [24];
    if (s_pragma_text (db, "PRAGMA user_version", value, sizeof value) != 0)
        return -1;
    return atoi (value);
}

//  Waiting for another connection's write. SQLite's own handler (sqlite3_busy_
//  timeout) sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so a worker that
//  loses the race a few times waits tens of milliseconds for a write lock held
//  well under one, and under concurrent sign-ins the tail grows to seconds. Our
//  writes are short: try again every 200 us, up to the busy timeout.
static int
s_busy_handler (void *args, int tries)
{
    (void) args;
    static _Thread_local int64_t started_us;
    int64_t now = pst_clock_mono_us ();
    if (tries == 0)
        started_us = now;
    if (now - started_us >= (int64_t) PST_DB_BUSY_TIMEOUT_MS * 1000)
        return 0;
    usleep (200);
    return 1;
}

static int
s_configure (sqlite3 *db)
{
    sqlite3_extended_result_codes (db, 1);
    if (sqlite3_busy_handler (db, s_busy_handler, NULL) != SQLITE_OK)
        return -1;
    char mode [16];
    if (s_pragma_text (db, "PRAGMA journal_mode=WAL", mode, sizeof mode) != 0)
        return -1;
    //  SQLite answers the mode it kept: anything else means WAL is unavailable
    if (strcasecmp (mode, "wal") != 0) {
        pst_log (PST_LOG_ERROR, "db_wal_refused", "journal_mode", mode, NULL);
        return -1;
    }
    if (pst_db_exec (db, "PRAGMA synchronous=FULL") != 0
    ||  pst_db_exec (db, "PRAGMA foreign_keys=ON") != 0)
        return -1;
    return 0;
}

//  Applies migration [version] and sets user_version to version + 1, in one
//  transaction. The version is read again under the write lock, so a concurrent
//  opener that got there first is noticed and nothing runs twice.
static int
s_migrate_one (sqlite3 *db, const char *const *migrations, int count)
{
    if (pst_db_begin (db) != 0)
        return -1;
    int version = s_user_version (db);
    if (version < 0 || version >= count) {
        pst_db_rollback (db);
        return version < 0? -1: 0;
    }
    char pragma [48];
    snprintf (pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
    char version_text [16];
    snprintf (version_text, sizeof version_text, "%d", version + 1);
    if (pst_db_exec (db, migrations [version]) != 0
    ||  pst_db_exec (db, pragma) != 0
    ||  pst_db_commit (db) != 0) {
        pst_log (PST_LOG_ERROR, "db_migration_failed", "version", version_text, NULL);
        pst_db_rollback (db);
        return -1;
    }
    pst_log (PST_LOG_INFO, "db_migrated", "version", version_text, NULL);
    return 0;
}

static int
s_migrate (sqlite3 *db, const char *const *migrations)
{
    int count = 0;
    while (migrations && migrations [count])
        count++;
    for (;;) {
        int version = s_user_version (db);
        if (version < 0)
            return -1;
        if (version > count) {
            //  Written by a newer release: running old code on it could corrupt it
            pst_log (PST_LOG_ERROR, "db_version_too_new", NULL);
            return -1;
        }
        if (version == count)
            return 0;
        if (s_migrate_one (db, migrations, count) != 0)
            return -1;
    }
}

sqlite3 *
pst_db_open (const char *path, const char *const *migrations)
{
    if (!path)
        return NULL;
    if (s_create_private (path) != 0) {
        pst_log (PST_LOG_ERROR, "db_open_failed", "path", path,
                 "reason", strerror (errno), NULL);
        return NULL;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                        | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        pst_log (PST_LOG_ERROR, "db_open_failed", "path", path,
                 "reason", db? sqlite3_errmsg (db): sqlite3_errstr (rc), NULL);
        sqlite3_close (db);
        return NULL;
    }
    if (s_configure (db) != 0 || s_migrate (db, migrations) != 0) {
        pst_log (PST_LOG_ERROR, "db_open_failed", "path", path, NULL);
        pst_db_close (&db);
        return NULL;
    }
    return db;
}

void
pst_db_close (sqlite3 **db_p)
{
    assert (db_p);
    if (!*db_p)
        return;
    if (sqlite3_close (*db_p) != SQLITE_OK) {
        //  A statement was left unfinalized: a bug, but do not leak the handle
        pst_log (PST_LOG_ERROR, "db_close_busy", NULL);
        sqlite3_close_v2 (*db_p);
    }
    *db_p = NULL;
}

int
pst_db_exec (sqlite3 *db, const char *sql)
{
    assert (db);
    assert (sql);
    char *message = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK) {
        char code [16];
        snprintf (code, sizeof code, "%d", rc);
        pst_log (PST_LOG_ERROR, "db_exec_failed", "sqlite_rc", code,
                 "reason", message? message: sqlite3_errstr (rc), NULL);
        sqlite3_free (message);
        return -1;
    }
    return 0;
}

int
pst_db_begin (sqlite3 *db)
{
    return pst_db_exec (db, "BEGIN IMMEDIATE");
}

int
pst_db_commit (sqlite3 *db)
{
    return pst_db_exec (db, "COMMIT");
}

int
pst_db_rollback (sqlite3 *db)
{
    assert (db);
    //  SQLite already rolled back after some errors (SQLITE_FULL, IOERR, BUSY...)
    if (sqlite3_get_autocommit (db))
        return 0;
    return pst_db_exec (db, "ROLLBACK");
}

sqlite3_stmt *
pst_db_prepare (sqlite3 *db, const char *sql)
{
    assert (db);
    assert (sql);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        s_log_error (db, "db_prepare_failed");
        sqlite3_finalize (stmt);
        return NULL;
    }
    return stmt;
}

//  Binds one value per letter of format (pst_db_vquery); SQLITE_OK or the error.
static int
s_bind (sqlite3_stmt *stmt, const char *format, va_list args)
{
    int rc = SQLITE_OK;
    for (int index = 1; format && format [index - 1] && rc == SQLITE_OK; index++) {
        switch (format [index - 1]) {
            case 't': {
                const char *text = va_arg (args, const char *);
                rc = text? sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT)
                         : sqlite3_bind_null (stmt, index);
                break;
            }
            case 'i':
                rc = sqlite3_bind_int64 (stmt, index, va_arg (args, int64_t));
                break;
            case 'n':
                rc = sqlite3_bind_int (stmt, index, va_arg (args, int));
                break;
            case 'b': {
                const void *data = va_arg (args, const void *);
                size_t size = va_arg (args, size_t);
                rc = sqlite3_bind_blob (stmt, index, data, (int) size, SQLITE_TRANSIENT);
                break;
            }
            default:
                rc = SQLITE_MISUSE;
        }
    }
    return rc;
}

sqlite3_stmt *
pst_db_vquery (sqlite3 *db, const char *sql, const char *format, va_list args)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, sql);
    if (!stmt)
        return NULL;
    if (s_bind (stmt, format, args) != SQLITE_OK) {
        s_log_error (db, "db_bind_failed");
        sqlite3_finalize (stmt);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *
pst_db_query (sqlite3 *db, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_vquery (db, sql, format, args);
    va_end (args);
    return stmt;
}

//  ---------------------------------------------------------------------------
//  Statement cache

//  Statements one cache holds: more than any store uses
#define PST_DB_CACHE_SIZE   128

typedef struct {
    const char *sql;            //  the caller's SQL, by address
    sqlite3_stmt *stmt;
    bool busy;                  //  handed out, not given back yet
} s_cached_t;

struct _pst_db_cache_t {
    sqlite3 *db;
    s_cached_t entries [PST_DB_CACHE_SIZE];
};

pst_db_cache_t *
pst_db_cache_new (sqlite3 *db)
{
    pst_db_cache_t *self = (pst_db_cache_t *) calloc (1, sizeof *self);
    if (self)
        self->db = db;
    return self;
}

void
pst_db_cache_destroy (pst_db_cache_t **self_p)
{
    if (self_p && *self_p) {
        pst_db_cache_t *self = *self_p;
        for (int i = 0; i < PST_DB_CACHE_SIZE; i++)
            sqlite3_finalize (self->entries [i].stmt);
        free (self);
        *self_p = NULL;
    }
}

//  The slot for sql: where it is, else the first free one on its probe; NULL
//  when neither (the cache is full along the way).
static s_cached_t *
s_cache_slot (pst_db_cache_t *self, const char *sql)
{
    size_t start = ((uintptr_t) sql >> 3) % PST_DB_CACHE_SIZE;
    for (size_t i = 0; i < PST_DB_CACHE_SIZE; i++) {
        s_cached_t *entry = &self->entries [(start + i) % PST_DB_CACHE_SIZE];
        if (!entry->sql || entry->sql == sql)
            return entry;
    }
    return NULL;
}

sqlite3_stmt *
pst_db_cache_prepare (pst_db_cache_t *self, const char *sql)
{
    s_cached_t *entry = s_cache_slot (self, sql);
    //  Another text at an address a literal had (SQL built at run time): replaced
    if (entry && entry->sql && !entry->busy && strcmp (sqlite3_sql (entry->stmt), sql) != 0) {
        sqlite3_finalize (entry->stmt);
        entry->sql = NULL;
        entry->stmt = NULL;
    }
    sqlite3_stmt *stmt = NULL;
    if (entry && entry->sql && !entry->busy)
        stmt = entry->stmt;
    else {
        int keep = entry && !entry->sql;
        if (sqlite3_prepare_v3 (self->db, sql, -1, keep? SQLITE_PREPARE_PERSISTENT: 0,
                                &stmt, NULL) != SQLITE_OK) {
            s_log_error (self->db, "db_prepare_failed");
            sqlite3_finalize (stmt);
            return NULL;
        }
        if (keep) {
            entry->sql = sql;
            entry->stmt = stmt;
        }
        else
            entry = NULL;
    }
    if (entry)
        entry->busy = true;
    return stmt;
}

sqlite3_stmt *
pst_db_cache_vquery (pst_db_cache_t *self, const char *sql, const char *format, va_list args)
{
    sqlite3_stmt *stmt = pst_db_cache_prepare (self, sql);
    if (stmt && s_bind (stmt, format, args) != SQLITE_OK) {
        s_log_error (self->db, "db_bind_failed");
        pst_db_cache_done (self, stmt);
        return NULL;
    }
    return stmt;
}

void
pst_db_cache_done (pst_db_cache_t *self, sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    for (int i = 0; i < PST_DB_CACHE_SIZE; i++)
        if (self->entries [i].stmt == stmt) {
            sqlite3_reset (stmt);
            sqlite3_clear_bindings (stmt);
            self->entries [i].busy = false;
            return;
        }
    sqlite3_finalize (stmt);
}

char *
pst_db_column_strdup (sqlite3_stmt *stmt, int column)
{
    assert (stmt);
    if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
        return NULL;
    const unsigned char *text = sqlite3_column_text (stmt, column);
    if (!text)
        return NULL;
    int size = sqlite3_column_bytes (stmt, column);
    char *copy = malloc ((size_t) size + 1);
    if (copy) {
        memcpy (copy, text, (size_t) size);
        copy [size] = '\0';
    }
    return copy;
}
