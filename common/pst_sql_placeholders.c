/*  pst_sql_placeholders - SQLite's placeholders in PostgreSQL's spelling, for
    pst_sql_pg: the stores write each statement once, with `?` and `?N`.
*/
#include "pst_sql_placeholders.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  SQLite's placeholders in PostgreSQL's spelling: ?N stays N, a bare ? takes
//  the largest number so far plus one (SQLite's rule). Quoted text and
//  identifiers are left alone. NULL when out of memory.
char *
pst_sql_placeholders (const char *sql, int *params)
{
    size_t length = strlen (sql);
    //  Each character becomes at most "$" and seven digits (a number never
    //  passes 9999 plus the count of bare ?)
    char *out = (char *) malloc (length * 8 + 1);
    if (!out)
        return NULL;
    char *cursor = out;
    char quote = 0;
    int highest = 0;
    for (const char *in = sql; *in; in++) {
        if (quote) {
            if (*in == quote)
                quote = 0;
            *cursor++ = *in;
        }
        else
        if (*in == '\'' || *in == '"') {
            quote = *in;
            *cursor++ = *in;
        }
        else
        if (*in == '?') {
            int number = 0;
            while (in [1] >= '0' && in [1] <= '9' && number < 1000)
                number = number * 10 + (*++in - '0');
            if (number == 0)
                number = highest + 1;
            if (number > highest)
                highest = number;
            cursor += sprintf (cursor, "$%d", number);
        }
        else
            *cursor++ = *in;
    }
    *cursor = '\0';
    *params = highest;
    return out;
}

