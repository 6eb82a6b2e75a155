/*  sqlite_commit - the ceiling of a durable write: SQLite commits per second of one
    single-row INSERT per transaction, in WAL mode with synchronous=FULL (as authn,
    mfa and the mailer's outbox open their databases), so every commit waits for an
    fsync of the WAL on the file system of the directory given: run it in the data
    directory to measure the disk the services write to.

    sqlite_commit --dir DIR [--seconds S]     (default 3 s)

    One writer, one connection; the database file is removed afterwards.
    Prints one line: "sqlite_commit commits=K seconds=S per_s=R p50_ms=A p99_ms=B".
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 1000000

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y? 1: 0;
}

static int
s_exec (sqlite3 *db, const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf (stderr, "sqlite_commit: %s: %s\n", sql, error? error: "?");
        sqlite3_free (error);
        return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc)
            dir = argv [++i];
        else
        if (strcmp (argv [i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof (argv [++i]);
        else {
            fprintf (stderr, "usage: sqlite_commit --dir DIR [--seconds S]\n");
            return 2;
        }
    }
    if (!dir || seconds <= 0 || seconds > 600) {
        fprintf (stderr, "sqlite_commit: --dir is required, seconds in (0, 600]\n");
        return 2;
    }
    char path [4096];
    snprintf (path, sizeof path, "%s/bench-commit-%d.db", dir, (int) getpid ());
    sqlite3 *db = NULL;
    sqlite3_stmt *insert = NULL;
    double *samples = (double *) malloc (MAX_SAMPLES * sizeof *samples);
    if (!samples
    ||  sqlite3_open (path, &db) != SQLITE_OK
    ||  s_exec (db, "PRAGMA journal_mode=WAL") != 0
    ||  s_exec (db, "PRAGMA synchronous=FULL") != 0
    ||  s_exec (db, "CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER, v TEXT)") != 0
    ||  sqlite3_prepare_v2 (db, "INSERT INTO t (at, v) VALUES (?, ?)", -1, &insert, NULL) != SQLITE_OK) {
        fprintf (stderr, "sqlite_commit: cannot set up %s: %s\n", path, db? sqlite3_errmsg (db): "?");
        return 1;
    }
    //  a row the size of a challenge's
    static const char value [] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    long commits = 0;
    int failed = 0;
    double start = s_now (), until = start + seconds;
    while (commits < MAX_SAMPLES) {
        double t0 = s_now ();
        if (t0 >= until)
            break;
        sqlite3_bind_int64 (insert, 1, (sqlite3_int64) commits);
        sqlite3_bind_text (insert, 2, value, -1, SQLITE_STATIC);
        if (s_exec (db, "BEGIN IMMEDIATE") != 0
        ||  sqlite3_step (insert) != SQLITE_DONE
        ||  s_exec (db, "COMMIT") != 0) {
            failed = 1;
            break;
        }
        sqlite3_reset (insert);
        samples [commits++] = s_now () - t0;
    }
    double elapsed = s_now () - start;
    sqlite3_finalize (insert);
    sqlite3_close (db);
    char side [4200];
    unlink (path);
    snprintf (side, sizeof side, "%s-wal", path);
    unlink (side);
    snprintf (side, sizeof side, "%s-shm", path);
    unlink (side);
    if (failed || commits == 0) {
        free (samples);
        return 1;
    }
    qsort (samples, (size_t) commits, sizeof *samples, s_compare);
    printf ("sqlite_commit commits=%ld seconds=%.3f per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n",
            commits, elapsed, (double) commits / elapsed,
            samples [commits / 2] * 1000, samples [(long) (commits * 0.99)] * 1000);
    free (samples);
    return 0;
}
