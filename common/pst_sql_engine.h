/*  pst_sql_engine - what an engine under pst_sql provides (private to
    pst_sql*.c). Each engine's connection and statement start with the
    structures below, so pst_sql.c dispatches without knowing the engine.
*/
#ifndef PST_SQL_ENGINE_H_INCLUDED
#define PST_SQL_ENGINE_H_INCLUDED

#include "pst_sql.h"

//  A value to bind: type 't' text (NULL text: NULL), 'i' integer, 'b' blob,
//  0 NULL
typedef struct {
    char type;
    const char *text;
    int64_t integer;
    const void *blob;
    size_t size;
} pst_sql_value_t;

typedef struct {
    void (*close) (pst_sql_t *self);
    int (*exec) (pst_sql_t *self, const char *script);
    //  A statement for sql, nothing bound; NULL on failure (logged)
    pst_sql_stmt_t *(*prepare) (pst_sql_t *self, const char *sql);
    //  Binds placeholder index (from 1), copying the value; 0 or -1 (logged)
    int (*bind) (pst_sql_stmt_t *stmt, int index, const pst_sql_value_t *value);
    int (*step) (pst_sql_stmt_t *stmt);
    //  Rows the statement changed, after it ran to its end
    int (*changes) (pst_sql_stmt_t *stmt);
    void (*done) (pst_sql_stmt_t *stmt);
    int (*is_null) (pst_sql_stmt_t *stmt, int column);
    const char *(*text) (pst_sql_stmt_t *stmt, int column);
    int64_t (*int64) (pst_sql_stmt_t *stmt, int column);
    const void *(*blob) (pst_sql_stmt_t *stmt, int column, size_t *size);
    int (*begin) (pst_sql_t *self);
    int (*commit) (pst_sql_t *self);
    int (*rollback) (pst_sql_t *self);
    int (*in_transaction) (pst_sql_t *self);
} pst_sql_engine_ops_t;

struct _pst_sql_t {
    const pst_sql_engine_ops_t *ops;
    pst_sql_engine_t engine;
    pst_sql_failure_t failure;      //  of the last call
};

struct _pst_sql_stmt_t {
    pst_sql_t *owner;
};

//  The engines' constructors: NULL on failure (logged)
pst_sql_t *
    pst_sql_sqlite_open (const char *path, const pst_sql_schema_t *schema);
pst_sql_t *
    pst_sql_pg_open (const char *url, const pst_sql_schema_t *schema);

//  Most parameters any statement binds
#define PST_SQL_MAX_PARAMS  32

#endif
