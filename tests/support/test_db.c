#include "test_db.h"
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_created;

static char *
s_socket_dir (void)
{
    const char *state = getenv ("POSTERN_TEST_PG");
    if (!state || !*state)
        return NULL;
    FILE *file = fopen (state, "r");
    char dir [512] = "";
    if (!file || !fgets (dir, sizeof dir, file)) {
        fprintf (stderr, "test_db: cannot read %s (is the cluster started?)\n", state);
        abort ();
    }
    fclose (file);
    dir [strcspn (dir, "\n")] = '\0';
    return strdup (dir);
}

int
test_db_is_postgres (void)
{
    const char *state = getenv ("POSTERN_TEST_PG");
    return state && *state;
}

static char *
s_url (const char *dir, const char *database)
{
    char *url = NULL;
    if (asprintf (&url, "postgresql://postern@/%s?host=%s", database, dir) < 0)
        abort ();
    return url;
}

char *
test_db_location (const char *sqlite_path)
{
    char *dir = s_socket_dir ();
    if (!dir)
        return strdup (sqlite_path);
    char database [64];
    snprintf (database, sizeof database, "t_%d_%d", (int) getpid (), ++s_created);
    char *admin_url = s_url (dir, "postgres");
    PGconn *admin = PQconnectdb (admin_url);
    free (admin_url);
    char sql [128];
    snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %s", database);
    PQclear (PQexec (admin, sql));
    snprintf (sql, sizeof sql, "CREATE DATABASE %s", database);
    PGresult *result = PQexec (admin, sql);
    if (PQresultStatus (result) != PGRES_COMMAND_OK) {
        fprintf (stderr, "test_db: %s", PQerrorMessage (admin));
        abort ();
    }
    PQclear (result);
    PQfinish (admin);
    char *url = s_url (dir, database);
    free (dir);
    return url;
}

char *
test_db_missing (void)
{
    char *dir = s_socket_dir ();
    if (!dir)
        abort ();
    char *url = s_url (dir, "no_such_database");
    free (dir);
    return url;
}
