/*  Unit tests of pst_db: durability settings, file mode, migrations applied once
    (also under concurrent openers) and atomically, and the small helpers.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_db.h"
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const s_migrations [] = {
    "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);",
    //  Not idempotent on purpose: a second run would add a row or fail
    "CREATE TABLE tag (item_id INTEGER NOT NULL REFERENCES item (id), label TEXT);"
    "INSERT INTO item (name) VALUES ('first');",
    NULL
};

typedef struct {
    char dir [64];
    char path [128];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    if (!self)
        return -1;
    snprintf (self->dir, sizeof self->dir, "/tmp/pst_test_db_XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    snprintf (self->path, sizeof self->path, "%s/test.db", self->dir);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    DIR *dir = opendir (self->dir);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (entry->d_name [0] == '.')
                continue;
            char path [512];
            snprintf (path, sizeof path, "%s/%s", self->dir, entry->d_name);
            unlink (path);
        }
        closedir (dir);
    }
    rmdir (self->dir);
    free (self);
    return 0;
}

//  First column of the first row as an integer
static long
s_query_int (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, sql);
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    long value = (long) sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

static char *
s_query_text (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = pst_db_prepare (db, sql);
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    char *value = pst_db_column_strdup (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

static int
s_table_exists (sqlite3 *db, const char *name)
{
    sqlite3_stmt *stmt = pst_db_prepare (db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    assert_non_null (stmt);
    sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int count = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return count;
}

static void
test_open_settings (void **state)
{
    fixture_t *self = *state;
    //  A permissive umask must not widen the file mode
    mode_t old_mask = umask (0);
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    umask (old_mask);
    assert_non_null (db);

    char *mode = s_query_text (db, "PRAGMA journal_mode");
    assert_string_equal (mode, "wal");
    free (mode);
    assert_int_equal (s_query_int (db, "PRAGMA synchronous"), 2);      //  FULL
    assert_int_equal (s_query_int (db, "PRAGMA foreign_keys"), 1);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 2);

    //  WAL file exists next to the database; both private
    char wal [160];
    snprintf (wal, sizeof wal, "%s-wal", self->path);
    struct stat info;
    assert_int_equal (stat (self->path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (stat (wal, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);

    //  Foreign keys are enforced
    assert_int_equal (pst_db_exec (db, "INSERT INTO tag VALUES (999, 'orphan')"), -1);
    pst_db_close (&db);
    assert_null (db);
    pst_db_close (&db);
}

static void
test_migrations_once (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 1);
    pst_db_close (&db);

    //  Reopen: nothing reapplied (the INSERT would add a second row)
    db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 2);
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 1);
    pst_db_close (&db);

    //  A release with one more migration applies only that one
    const char *const more [] = {
        s_migrations [0], s_migrations [1],
        "ALTER TABLE item ADD COLUMN extra TEXT; INSERT INTO item (name) VALUES ('third');",
        NULL
    };
    db = pst_db_open (self->path, more);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 3);
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 2);
    pst_db_close (&db);

    //  An older release refuses a newer database rather than misuse it
    db = pst_db_open (self->path, s_migrations);
    assert_null (db);
}

static void
test_failing_migration (void **state)
{
    fixture_t *self = *state;
    const char *const broken [] = {
        s_migrations [0],
        //  First statement succeeds, second fails: the first must not stay
        "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);",
        NULL
    };
    sqlite3 *db = pst_db_open (self->path, broken);
    assert_null (db);

    //  Migration 1 committed, migration 2 rolled back entirely
    const char *const first_only [] = { s_migrations [0], NULL };
    db = pst_db_open (self->path, first_only);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 1);
    assert_int_equal (s_table_exists (db, "item"), 1);
    assert_int_equal (s_table_exists (db, "half"), 0);
    pst_db_close (&db);

    //  The fixed release then migrates normally
    db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 2);
    pst_db_close (&db);
}

static void
test_open_errors (void **state)
{
    fixture_t *self = *state;
    char path [192];
    snprintf (path, sizeof path, "%s/missing/dir/test.db", self->dir);
    assert_null (pst_db_open (path, s_migrations));
    assert_null (pst_db_open (NULL, s_migrations));

    //  Not a database
    snprintf (path, sizeof path, "%s/junk.db", self->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    for (int i = 0; i < 200; i++)
        fputs ("this is not an sqlite database file ", file);
    fclose (file);
    assert_null (pst_db_open (path, s_migrations));

    //  No migrations at all is a valid, empty schema
    snprintf (path, sizeof path, "%s/empty.db", self->dir);
    sqlite3 *db = pst_db_open (path, NULL);
    assert_non_null (db);
    assert_int_equal (s_query_int (db, "PRAGMA user_version"), 0);
    pst_db_close (&db);
}

typedef struct {
    const char *path;
    pthread_barrier_t *barrier;
    int ok;
} opener_t;

static void *
s_opener (void *args)
{
    opener_t *opener = args;
    //  Start together, so the openers really overlap
    pthread_barrier_wait (opener->barrier);
    sqlite3 *db = pst_db_open (opener->path, s_migrations);
    opener->ok = db != NULL;
    pst_db_close (&db);
    return NULL;
}

//  Several connections racing on a new file: each migration runs exactly once.
//  The race is repeated on fresh files because one round may serialise by luck.
static void
test_concurrent_open (void **state)
{
    fixture_t *self = *state;
    enum { OPENERS = 8, ROUNDS = 10 };
    for (int round = 0; round < ROUNDS; round++) {
        char path [160];
        snprintf (path, sizeof path, "%s/race%d.db", self->dir, round);
        pthread_t threads [OPENERS];
        opener_t openers [OPENERS];
        pthread_barrier_t barrier;
        assert_int_equal (pthread_barrier_init (&barrier, NULL, OPENERS), 0);
        for (int i = 0; i < OPENERS; i++) {
            openers [i].path = path;
            openers [i].barrier = &barrier;
            openers [i].ok = 0;
            assert_int_equal (pthread_create (&threads [i], NULL, s_opener, &openers [i]), 0);
        }
        for (int i = 0; i < OPENERS; i++)
            assert_int_equal (pthread_join (threads [i], NULL), 0);
        pthread_barrier_destroy (&barrier);
        for (int i = 0; i < OPENERS; i++)
            assert_true (openers [i].ok);

        sqlite3 *db = pst_db_open (path, s_migrations);
        assert_non_null (db);
        assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 1);
        assert_int_equal (s_query_int (db, "PRAGMA user_version"), 2);
        pst_db_close (&db);
    }
}

static void
test_transactions (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);

    assert_int_equal (pst_db_begin (db), 0);
    assert_int_equal (pst_db_exec (db, "INSERT INTO item (name) VALUES ('rolled back')"), 0);
    assert_int_equal (pst_db_rollback (db), 0);
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 1);

    assert_int_equal (pst_db_begin (db), 0);
    assert_int_equal (pst_db_exec (db, "INSERT INTO item (name) VALUES ('kept')"), 0);
    assert_int_equal (pst_db_commit (db), 0);
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item"), 2);

    //  Rollback outside a transaction is harmless; commit is an error
    assert_int_equal (pst_db_rollback (db), 0);
    assert_int_equal (pst_db_commit (db), -1);

    //  A second connection cannot start writing while the first holds the lock
    assert_int_equal (pst_db_begin (db), 0);
    sqlite3 *other = NULL;
    assert_int_equal (sqlite3_open_v2 (self->path, &other, SQLITE_OPEN_READWRITE, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
    assert_int_equal (pst_db_rollback (db), 0);
    assert_int_equal (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close (other);

    assert_int_equal (pst_db_exec (db, "THIS IS NOT SQL"), -1);
    assert_null (pst_db_prepare (db, "SELECT * FROM no_such_table"));
    pst_db_close (&db);
}

static int64_t
s_mono_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

typedef struct {
    const char *path;
    int hold_ms;
    pthread_barrier_t *barrier;
    _Atomic int64_t released_at;    //  monotonic ms, just before its COMMIT returns
} holder_t;

//  Holds the write lock on its own connection for hold_ms
static void *
s_hold_write_lock (void *args)
{
    holder_t *holder = (holder_t *) args;
    sqlite3 *db = NULL;
    sqlite3_open_v2 (holder->path, &db, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    pthread_barrier_wait (holder->barrier);
    usleep ((useconds_t) holder->hold_ms * 1000);
    //  Stamped before the COMMIT, which is when the lock can first be free
    holder->released_at = s_mono_ms ();
    sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close (db);
    return NULL;
}


//  A writer waits for another connection's write lock, however long it is held
//  (within the busy timeout), and gets it once it is free. How soon after (the
//  handler retries every 200 us where SQLite's own would sleep up to 100 ms) is
//  a matter of timing, which belongs in bench/, not in a pass/fail test.
#define HOLD_MS     230

static void
test_waits_for_write_lock (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    for (int round = 0; round < 5; round++) {
        pthread_barrier_t barrier;
        assert_int_equal (pthread_barrier_init (&barrier, NULL, 2), 0);
        holder_t holder = { self->path, HOLD_MS, &barrier, 0 };
        pthread_t thread;
        assert_int_equal (pthread_create (&thread, NULL, s_hold_write_lock, &holder), 0);
        pthread_barrier_wait (&barrier);
        assert_int_equal (pst_db_begin (db), 0);
        int64_t acquired = s_mono_ms ();
        assert_int_equal (pst_db_exec (db, "INSERT INTO item (name) VALUES ('after the wait')"), 0);
        assert_int_equal (pst_db_commit (db), 0);
        assert_int_equal (pthread_join (thread, NULL), 0);
        pthread_barrier_destroy (&barrier);
        //  It had to wait for the holder's commit: not refused as busy, and not
        //  let in while the other connection held the lock
        assert_true (holder.released_at > 0);
        assert_true (acquired >= holder.released_at);
    }
    assert_int_equal (s_query_int (db, "SELECT count(*) FROM item WHERE name = 'after the wait'"), 5);
    pst_db_close (&db);
}

static void
test_column_strdup (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    sqlite3_stmt *stmt = pst_db_prepare (db, "SELECT 'text', NULL, 42, ''");
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    char *text = pst_db_column_strdup (stmt, 0);
    assert_string_equal (text, "text");
    free (text);
    assert_null (pst_db_column_strdup (stmt, 1));
    char *number = pst_db_column_strdup (stmt, 2);
    assert_string_equal (number, "42");
    free (number);
    char *empty = pst_db_column_strdup (stmt, 3);
    assert_non_null (empty);
    assert_string_equal (empty, "");
    free (empty);
    sqlite3_finalize (stmt);
    pst_db_close (&db);
}

//  Every letter binds its type in order; values are copied, so a buffer
//  reused before the step does not change what was bound.
static void
test_query_binds (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    char name [8] = "abc";
    const uint8_t blob [] = { 0x00, 0xff, 0x10 };
    sqlite3_stmt *stmt = pst_db_query (db,
        "SELECT ?1, ?2 IS NULL, ?3, ?4, hex (?5), typeof (?5)", "ttinb",
        name, (const char *) NULL, (int64_t) 1 << 40, 7, blob, sizeof blob);
    assert_non_null (stmt);
    strcpy (name, "xyz");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "abc");
    assert_int_equal (sqlite3_column_int (stmt, 1), 1);
    assert_true (sqlite3_column_int64 (stmt, 2) == (int64_t) 1 << 40);
    assert_int_equal (sqlite3_column_int (stmt, 3), 7);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 4), "00FF10");
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 5), "blob");
    sqlite3_finalize (stmt);

    //  No format binds nothing
    stmt = pst_db_query (db, "SELECT count(*) FROM item", NULL);
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (stmt, 0), 1);
    sqlite3_finalize (stmt);

    //  An unknown letter, a parameter too many and bad SQL fail
    assert_null (pst_db_query (db, "SELECT ?", "x", 1));
    assert_null (pst_db_query (db, "SELECT ?", "nn", 1, 2));
    assert_null (pst_db_query (db, "SELEKT ?", "n", 1));
    pst_db_close (&db);
}

//  pst_db_cache_vquery with its arguments as they come
static sqlite3_stmt *
s_cached (pst_db_cache_t *cache, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_cache_vquery (cache, sql, format, args);
    va_end (args);
    return stmt;
}

static int
s_cached_int (pst_db_cache_t *cache, const char *sql, int value)
{
    sqlite3_stmt *stmt = s_cached (cache, sql, "n", value);
    assert_non_null (stmt);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int answer = sqlite3_column_int (stmt, 0);
    pst_db_cache_done (cache, stmt);
    return answer;
}

//  The cache hands the same statement back for the same SQL, reset and with
//  its old values cleared; one in use is not handed out twice; SQL at an
//  address that held another text is prepared anew; the connection closes
//  cleanly once the cache is gone.
static void
test_statement_cache (void **state)
{
    fixture_t *self = *state;
    sqlite3 *db = pst_db_open (self->path, s_migrations);
    assert_non_null (db);
    pst_db_cache_t *cache = pst_db_cache_new (db);
    assert_non_null (cache);
    static const char *plus_one = "SELECT ?1 + 1";
    sqlite3_stmt *first = s_cached (cache, plus_one, "n", 1);
    assert_non_null (first);
    assert_int_equal (sqlite3_step (first), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (first, 0), 2);
    //  In use (not given back, not reset): the same SQL gets another statement
    sqlite3_stmt *nested = s_cached (cache, plus_one, "n", 10);
    assert_non_null (nested);
    assert_ptr_not_equal (nested, first);
    assert_int_equal (sqlite3_step (nested), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (nested, 0), 11);
    pst_db_cache_done (cache, nested);
    pst_db_cache_done (cache, first);
    //  Given back: the same one again, reset, with no value left from before
    sqlite3_stmt *again = s_cached (cache, plus_one, "");
    assert_ptr_equal (again, first);
    assert_int_equal (sqlite3_step (again), SQLITE_ROW);
    assert_int_equal (sqlite3_column_type (again, 0), SQLITE_NULL);
    pst_db_cache_done (cache, again);
    assert_int_equal (s_cached_int (cache, plus_one, 41), 42);

    //  SQL built at run time: same buffer, new text, new statement
    char built [32];
    snprintf (built, sizeof built, "SELECT ?1 * 2");
    assert_int_equal (s_cached_int (cache, built, 4), 8);
    snprintf (built, sizeof built, "SELECT ?1 * 3");
    assert_int_equal (s_cached_int (cache, built, 4), 12);

    //  Writes through it, and a failing bind gives the statement back
    sqlite3_stmt *insert = s_cached (cache, "INSERT INTO item (name) VALUES (?1)", "t", "cached");
    assert_non_null (insert);
    assert_int_equal (sqlite3_step (insert), SQLITE_DONE);
    pst_db_cache_done (cache, insert);
    assert_null (s_cached (cache, "INSERT INTO item (name) VALUES (?1)", "x", 1));
    assert_int_equal (s_cached_int (cache, "SELECT count(*) + ?1 FROM item", 0), 2);
    assert_null (s_cached (cache, "SELEKT ?1", "n", 1));
    pst_db_cache_done (cache, NULL);

    pst_db_cache_destroy (&cache);
    assert_null (cache);
    assert_int_equal (sqlite3_close (db), SQLITE_OK);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_open_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migrations_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failing_migration, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_open_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_concurrent_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_transactions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_waits_for_write_lock, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_column_strdup, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_query_binds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_statement_cache, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
