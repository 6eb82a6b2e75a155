/*  test_db - where a test keeps a service's database: the SQLite file it names,
    or, in the PostgreSQL run of the suite (POSTERN_TEST_PG names the state file
    of tests/pg/pg-cluster.sh), a fresh database of its own on that cluster.
*/
#ifndef TEST_DB_H_INCLUDED
#define TEST_DB_H_INCLUDED

//  1 in the PostgreSQL run
int
    test_db_is_postgres (void);
//  sqlite_path, or the URL of a new, empty PostgreSQL database. Caller frees.
//  Aborts the test when the cluster cannot be reached (a broken harness must
//  fail, not fall back to SQLite).
char *
    test_db_location (const char *sqlite_path);
//  The URL of a PostgreSQL database that does not exist (for "refuses to
//  start" checks). Caller frees.
char *
    test_db_missing (void);

#endif
