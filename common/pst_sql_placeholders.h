/*  pst_sql_placeholders - SQLite's `?` and `?N` placeholders rewritten as
    PostgreSQL's `$N` (private to pst_sql's engines).
*/
#ifndef PST_SQL_PLACEHOLDERS_H_INCLUDED
#define PST_SQL_PLACEHOLDERS_H_INCLUDED

//  A copy of sql with ?N as $N and a bare ? numbered as SQLite numbers it
//  (the largest number so far, plus one); quoted text and identifiers are left
//  alone. *params gets the highest number. NULL when out of memory. Caller frees.
char *
    pst_sql_placeholders (const char *sql, int *params);

#endif
