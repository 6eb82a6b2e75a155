/*  Unit tests of pst_sql on the engine of this run: SQLite, or (the "pg" run,
    POSTERN_TEST_PG) a real PostgreSQL cluster. The same statement text, with
    SQLite's placeholders, must give the same answers on both.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_sql.h"
#include "test_db.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const s_sqlite [] = {
    "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE, size INTEGER, data BLOB);",
    "INSERT INTO item (id, name, size) VALUES (1, 'first', 1);",
    NULL
};
static const char *const s_postgres [] = {
    "CREATE TABLE item (id BIGINT PRIMARY KEY, name TEXT UNIQUE, size BIGINT, data BYTEA);",
    "INSERT INTO item (id, name, size) VALUES (1, 'first', 1);",
    NULL
};
static const pst_sql_schema_t s_schema = { "sqltest", s_sqlite, s_postgres };

typedef struct {
    char dir [64];
    char path [128];
    char *location;
    pst_sql_t *sql;
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    if (!self)
        return -1;
    snprintf (self->dir, sizeof self->dir, "/tmp/pst_test_sql_XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    snprintf (self->path, sizeof self->path, "%s/test.db", self->dir);
    self->location = test_db_location (self->path);
    self->sql = pst_sql_open (self->location, &s_schema);
    *state = self;
    return self->sql? 0: -1;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    pst_sql_close (&self->sql);
    free (self->location);
    char command [160];
    snprintf (command, sizeof command, "rm -rf %s", self->dir);
    if (system (command) != 0)
        return -1;
    free (self);
    return 0;
}

static void
test_engine_follows_the_location (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (pst_sql_engine (self->sql),
                      test_db_is_postgres ()? PST_SQL_POSTGRES: PST_SQL_SQLITE);
    assert_true (pst_sql_is_postgres ("postgres://h/d"));
    assert_true (pst_sql_is_postgres ("POSTGRESQL://h/d"));
    assert_false (pst_sql_is_postgres ("/var/lib/postern/postgres.db"));
    assert_false (pst_sql_is_postgres (NULL));
}

static void
test_values_round_trip (void **state)
{
    fixture_t *self = *state;
    const unsigned char bytes [] = { 0, 1, 0xff, '\'', '\\', 0 };
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id, name, size, data) VALUES (?, ?, ?, ?)", "itib",
        (int64_t) 2, "it's \"quoted\" ? not a parameter", (int64_t) 5000000000LL, bytes,
        sizeof bytes), 1);
    //  A text with a question mark in quotes is not a placeholder
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT name, size, data, NULL, 'a?b' FROM item WHERE id = ?", "i", (int64_t) 2);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_step (stmt), 1);
    assert_string_equal (pst_sql_text (stmt, 0), "it's \"quoted\" ? not a parameter");
    assert_true (pst_sql_int64 (stmt, 1) == 5000000000LL);
    size_t size = 0;
    const unsigned char *data = pst_sql_blob (stmt, 2, &size);
    assert_int_equal (size, sizeof bytes);
    assert_memory_equal (data, bytes, sizeof bytes);
    assert_true (pst_sql_is_null (stmt, 3));
    assert_null (pst_sql_text (stmt, 3));
    assert_int_equal (pst_sql_int64 (stmt, 3), 0);
    assert_string_equal (pst_sql_text (stmt, 4), "a?b");
    char *copy = pst_sql_strdup (stmt, 0);
    assert_string_equal (copy, "it's \"quoted\" ? not a parameter");
    free (copy);
    assert_int_equal (pst_sql_step (stmt), 0);
    pst_sql_done (stmt);
    //  A NULL text binds NULL
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id, name) VALUES (?, ?)", "nt", 3, NULL), 1);
    assert_int_equal (pst_sql_scalar (self->sql, 7,
        "SELECT size FROM item WHERE name IS NULL AND id = ?", "n", 3), 7);
}

static void
test_numbered_placeholders (void **state)
{
    fixture_t *self = *state;
    //  A bare ? after ?1 takes the next number, as in SQLite; ?1 used twice
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id, name, size) VALUES (?1, ?, ?1)", "it",
        (int64_t) 10, "n10"), 1);
    assert_int_equal (pst_sql_scalar (self->sql, -5,
        "SELECT size FROM item WHERE name = ?", "t", "n10"), 10);
    assert_int_equal (pst_sql_scalar (self->sql, -5,
        "SELECT id FROM item WHERE size = ?2 AND name = ?1", "ti", "n10", (int64_t) 10), 10);
    //  No row: the default
    assert_int_equal (pst_sql_scalar (self->sql, -5,
        "SELECT size FROM item WHERE name = ?", "t", "nobody"), -5);
}

//  Values bound one by one, for SQL put together at run time
static void
test_bound_by_number (void **state)
{
    fixture_t *self = *state;
    char sql [128];
    snprintf (sql, sizeof sql, "INSERT INTO item (id, name, size) VALUES (?, ?, ?)");
    pst_sql_stmt_t *stmt = pst_sql_prepare (self->sql, sql);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_bind_int64 (stmt, 1, 60), 0);
    assert_int_equal (pst_sql_bind_text (stmt, 2, "sixty"), 0);
    assert_int_equal (pst_sql_bind_null (stmt, 3), 0);
    //  A placeholder that is not there
    assert_int_equal (pst_sql_bind_int64 (stmt, 4, 1), -1);
    assert_int_equal (pst_sql_step (stmt), PST_SQL_DONE);
    pst_sql_done (stmt);
    //  The same buffer with another text: a statement of its own
    snprintf (sql, sizeof sql, "SELECT name FROM item WHERE id = ? AND size IS NULL");
    stmt = pst_sql_prepare (self->sql, sql);
    assert_non_null (stmt);
    assert_int_equal (pst_sql_bind_int64 (stmt, 1, 60), 0);
    assert_int_equal (pst_sql_step (stmt), PST_SQL_ROW);
    assert_string_equal (pst_sql_text (stmt, 0), "sixty");
    pst_sql_done (stmt);
}

static void
test_changes_and_rows (void **state)
{
    fixture_t *self = *state;
    for (int id = 20; id < 25; id++)
        assert_int_equal (pst_sql_run (self->sql,
            "INSERT INTO item (id, size) VALUES (?, ?)", "nn", id, id % 2), 1);
    assert_int_equal (pst_sql_run (self->sql,
        "UPDATE item SET size = size + 10 WHERE id >= ? AND size = ?", "nn", 20, 0), 3);
    assert_int_equal (pst_sql_run (self->sql,
        "DELETE FROM item WHERE id > ?", "n", 1000), 0);
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT id FROM item WHERE id >= ? ORDER BY id", "n", 20);
    int64_t sum = 0;
    int rows = 0;
    int rc;
    while ((rc = pst_sql_step (stmt)) == 1) {
        sum += pst_sql_int64 (stmt, 0);
        rows++;
    }
    assert_int_equal (rc, 0);
    assert_int_equal (rows, 5);
    assert_int_equal (sum, 20 + 21 + 22 + 23 + 24);
    pst_sql_done (stmt);
    //  UPDATE ... RETURNING is a row on both engines
    stmt = pst_sql_query (self->sql,
        "UPDATE item SET size = size + 1 WHERE id = ? RETURNING size", "n", 20);
    assert_int_equal (pst_sql_step (stmt), 1);
    assert_int_equal (pst_sql_int64 (stmt, 0), 11);
    pst_sql_done (stmt);
}

static void
test_constraint_is_told_apart (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id, name) VALUES (?, ?)", "nt", 30, "first"), -1);
    assert_int_equal (pst_sql_failure (self->sql), PST_SQL_CONSTRAINT);
    assert_int_equal (pst_sql_run (self->sql, "SELECT no_such_column FROM item", ""), -1);
    assert_int_equal (pst_sql_failure (self->sql), PST_SQL_ERROR);
    //  And the connection still serves
    assert_int_equal (pst_sql_scalar (self->sql, 0, "SELECT COUNT(*) FROM item", ""), 1);
    assert_int_equal (pst_sql_failure (self->sql), PST_SQL_OK);
    //  A value for a placeholder that is not there is refused before it runs
    assert_null (pst_sql_query (self->sql, "SELECT ?", "nn", 1, 2));
}

static void
test_transactions (void **state)
{
    fixture_t *self = *state;
    assert_false (pst_sql_in_transaction (self->sql));
    assert_int_equal (pst_sql_begin (self->sql), 0);
    assert_true (pst_sql_in_transaction (self->sql));
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id) VALUES (?)", "n", 40), 1);
    assert_int_equal (pst_sql_rollback (self->sql), 0);
    assert_false (pst_sql_in_transaction (self->sql));
    assert_int_equal (pst_sql_scalar (self->sql, 0,
        "SELECT COUNT(*) FROM item WHERE id = ?", "n", 40), 0);
    assert_int_equal (pst_sql_begin (self->sql), 0);
    assert_int_equal (pst_sql_run (self->sql,
        "INSERT INTO item (id) VALUES (?)", "n", 41), 1);
    assert_int_equal (pst_sql_commit (self->sql), 0);
    assert_int_equal (pst_sql_scalar (self->sql, 0,
        "SELECT COUNT(*) FROM item WHERE id = ?", "n", 41), 1);
    //  A savepoint undoes a refused step and keeps the rest
    assert_int_equal (pst_sql_begin (self->sql), 0);
    assert_int_equal (pst_sql_run (self->sql, "INSERT INTO item (id) VALUES (42)", ""), 1);
    assert_int_equal (pst_sql_exec (self->sql, "SAVEPOINT unit"), 0);
    assert_int_equal (pst_sql_run (self->sql, "INSERT INTO item (id) VALUES (42)", ""), -1);
    assert_int_equal (pst_sql_exec (self->sql, "ROLLBACK TO unit; RELEASE unit"), 0);
    assert_int_equal (pst_sql_commit (self->sql), 0);
    assert_int_equal (pst_sql_scalar (self->sql, 0,
        "SELECT COUNT(*) FROM item WHERE id = 42", ""), 1);
    //  Rolling back with nothing open is harmless
    assert_int_equal (pst_sql_rollback (self->sql), 0);
}

static void
test_reopen_migrates_once (void **state)
{
    fixture_t *self = *state;
    //  Migration 2 inserts a row: run twice, it would fail on the primary key
    pst_sql_t *again = pst_sql_open (self->location, &s_schema);
    assert_non_null (again);
    assert_int_equal (pst_sql_scalar (again, 0, "SELECT COUNT(*) FROM item", ""), 1);
    pst_sql_close (&again);
    //  A database written by a newer release is refused
    static const char *const s_fewer [] = { "CREATE TABLE item (id INTEGER);", NULL };
    pst_sql_schema_t older = { "sqltest", s_fewer, s_fewer };
    assert_null (pst_sql_open (self->location, &older));
}

//  Writers of one schema queue, across connections as across processes: a
//  second transaction's begin waits for the first to end
typedef struct {
    const char *location;
    volatile int begun;
} s_racer_t;

static void *
s_racer (void *args)
{
    s_racer_t *racer = args;
    pst_sql_t *sql = pst_sql_open (racer->location, &s_schema);
    if (sql && pst_sql_begin (sql) == 0) {
        __atomic_store_n (&racer->begun, 1, __ATOMIC_SEQ_CST);
        pst_sql_run (sql, "UPDATE item SET size = size * 2 WHERE id = 1", "");
        pst_sql_commit (sql);
    }
    pst_sql_close (&sql);
    return NULL;
}

static void
test_writers_queue (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (pst_sql_begin (self->sql), 0);
    //  Read, then write from what was read: atomic only if nobody writes between
    int64_t size = pst_sql_scalar (self->sql, 0, "SELECT size FROM item WHERE id = 1", "");
    s_racer_t racer = { self->location, 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_racer, &racer), 0);
    //  However long we hold it, the other writer does not get in
    usleep (300 * 1000);
    assert_int_equal (__atomic_load_n (&racer.begun, __ATOMIC_SEQ_CST), 0);
    assert_int_equal (pst_sql_run (self->sql,
        "UPDATE item SET size = ? WHERE id = 1", "i", size + 1), 1);
    assert_int_equal (pst_sql_commit (self->sql), 0);
    pthread_join (thread, NULL);
    assert_int_equal (racer.begun, 1);
    assert_int_equal (pst_sql_scalar (self->sql, 0, "SELECT size FROM item WHERE id = 1", ""),
                      (size + 1) * 2);
}

//  PostgreSQL only: a connection the server dropped while idle is reopened
//  before the next statement; one dropped inside a transaction fails that
//  transaction's statements as unavailable, and it is not reported committed
static void
test_lost_connection (void **state)
{
    fixture_t *self = *state;
    pst_sql_t *killer = pst_sql_open (self->location, &s_schema);
    assert_non_null (killer);
    int64_t pid = pst_sql_scalar (self->sql, 0, "SELECT pg_backend_pid ()", "");
    assert_true (pid > 0);
    assert_int_equal (pst_sql_scalar (killer, 0, "SELECT pg_terminate_backend (?::int)", "i",
                                      pid), 1);
    usleep (100 * 1000);
    //  Dropped while idle: noticed before the next statement, which runs on a
    //  new connection
    assert_int_equal (pst_sql_scalar (self->sql, 0, "SELECT COUNT(*) FROM item", ""), 1);
    assert_true (pst_sql_scalar (self->sql, 0, "SELECT pg_backend_pid ()", "") != pid);
    //  Now inside a transaction
    assert_int_equal (pst_sql_begin (self->sql), 0);
    assert_int_equal (pst_sql_run (self->sql, "INSERT INTO item (id) VALUES (50)", ""), 1);
    pid = pst_sql_scalar (self->sql, 0, "SELECT pg_backend_pid ()", "");
    assert_int_equal (pst_sql_scalar (killer, 0, "SELECT pg_terminate_backend (?::int)", "i",
                                      pid), 1);
    usleep (100 * 1000);
    assert_int_equal (pst_sql_run (self->sql, "INSERT INTO item (id) VALUES (51)", ""), -1);
    //  The next statement of the lost transaction does not run on a new connection
    assert_int_equal (pst_sql_run (self->sql, "INSERT INTO item (id) VALUES (52)", ""), -1);
    assert_int_equal (pst_sql_commit (self->sql), -1);
    assert_int_equal (pst_sql_failure (self->sql), PST_SQL_UNAVAILABLE);
    assert_int_equal (pst_sql_scalar (self->sql, 0,
        "SELECT COUNT(*) FROM item WHERE id >= 50", ""), 0);
    pst_sql_close (&killer);
}

static void
test_bad_locations_refused (void **state)
{
    (void) state;
    assert_null (pst_sql_open (NULL, &s_schema));
    assert_null (pst_sql_open ("", &s_schema));
    pst_sql_schema_t bad_name = { "Robert'); DROP", s_sqlite, s_postgres };
    assert_null (pst_sql_open ("/tmp/never-created.db", &bad_name));
    if (test_db_is_postgres ()) {
        char *missing = test_db_missing ();
        assert_null (pst_sql_open (missing, &s_schema));
        free (missing);
    }
    assert_null (pst_sql_open ("postgresql://postern@/x?host=/nonexistent-dir", &s_schema));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_engine_follows_the_location, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_values_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_numbered_placeholders, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bound_by_number, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_changes_and_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_constraint_is_told_apart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_transactions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reopen_migrates_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_writers_queue, s_setup, s_teardown),
        cmocka_unit_test (test_bad_locations_refused),
    };
    //  SQLite has no connection to lose
    const struct CMUnitTest postgres_tests [] = {
        cmocka_unit_test_setup_teardown (test_lost_connection, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (test_db_is_postgres ())
        failed += cmocka_run_group_tests (postgres_tests, NULL, NULL);
    return failed;
}
