/*  authn_search - what GET /api/v2/users asks for, read from its query string
    as Auth0's user search (search_engine v3) has it.

    - q: one term of Lucene's syntax, field:value, the value bare or in double
      quotes (in which \" and \\ stand for " and \). The fields are email
      (without case, as Auth0 compares its normalized fields) and user_id
      (exact). Anything else Postern does not search: 400.
    - page (from 0) and per_page (0 to 100, default 50): the rows from
      page * per_page on.
    - include_totals: true or false (the default).
    - search_engine: v3, or absent.
    - email: Postern's own filter (before q existed), kept; with q naming
      another address the two cannot both hold: 400.
    Other members (fields, sort, connection...) are not read. Errors are 400
    invalid_query_string "Query validation error: ...".
*/
#ifndef AUTHN_SEARCH_H_INCLUDED
#define AUTHN_SEARCH_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>
#include <stdint.h>

#define AUTHN_SEARCH_PER_PAGE       50
#define AUTHN_SEARCH_PER_PAGE_MAX   100

typedef struct {
    json_t *filters;            //  {"email"?, "user_id"?}: the store's filters
    int64_t page;
    int per_page;
    int totals;                 //  include_totals
} authn_search_t;

//  Reads query (the request's query string members; NULL for none) into
//  search. 0, or -1 after failing reply; either way authn_search_clear
//  frees what search holds.
int
    authn_search_read (pst_msg_t *reply, const json_t *query, authn_search_t *search);

void
    authn_search_clear (authn_search_t *search);

#endif
