#include "authn_search.h"
#include "pst_error.h"
#include "pst_json.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TERM_MAX    1024        //  q's longest value, unescaped

//  Characters a bare Lucene term cannot hold without meaning something else
#define LUCENE_SPECIAL  "\"+!(){}[]^~*?:\\/"

static const char *s_fields [] = { "email", "user_id", NULL };

static int
s_fail (pst_msg_t *reply, const char *text)
{
    return pst_msg_fail (reply, PST_ERR_INVALID_QUERY_STRING, "Query validation error: %s", text);
}

//  value of field, unescaped, from q: field:"..." or field:bare, nothing
//  else around it but blanks. 0 with *field_p (static) and value, or -1
//  after failing reply
static int
s_term (pst_msg_t *reply, const char *q, const char **field_p, char *value, size_t size)
{
    while (isspace ((unsigned char) *q))
        q++;
    const char *colon = strchr (q, ':');
    size_t name_size = colon? (size_t) (colon - q): 0;
    *field_p = NULL;
    for (const char **field = s_fields; colon && *field; field++)
        if (strlen (*field) == name_size && strncmp (q, *field, name_size) == 0)
            *field_p = *field;
    if (!*field_p)
        return s_fail (reply, "q searches one field, email or user_id "
                              "(email:\"jane@example.com\", user_id:\"auth0|abc\")");
    const char *at = colon + 1;
    size_t length = 0;
    if (*at == '"') {
        for (at++; *at && *at != '"'; at++) {
            if (*at == '\\' && at [1])
                at++;
            if (length + 1 == size)
                return s_fail (reply, "the value q searches for is too long");
            value [length++] = *at;
        }
        if (*at++ != '"')
            return s_fail (reply, "q opens a quote it does not close");
    }
    else {
        for (; *at && !isspace ((unsigned char) *at); at++) {
            if (strchr (LUCENE_SPECIAL, *at) || (*at == '-' && length == 0)
            ||  ((*at == '&' || *at == '|') && at [1] == *at))
                return s_fail (reply, "q's value holds Lucene syntax Postern does not search "
                                      "with (wildcards, ranges, operators); quote it to find "
                                      "it as written");
            if (length + 1 == size)
                return s_fail (reply, "the value q searches for is too long");
            value [length++] = *at;
        }
    }
    value [length] = 0;
    while (isspace ((unsigned char) *at))
        at++;
    if (*at)
        return s_fail (reply, "q is one term, field:value; Postern does not combine terms");
    if (length == 0)
        return s_fail (reply, "q names no value");
    return 0;
}

//  A non-negative integer of at most 9 digits from text; -1 when it is not one
static int64_t
s_integer (const char *text)
{
    size_t length = strlen (text);
    if (length == 0 || length > 9 || strspn (text, "0123456789") != length)
        return -1;
    return strtoll (text, NULL, 10);
}

//  A member of query as a string; NULL when absent or empty ("empty = absent")
static const char *
s_param (const json_t *query, const char *key)
{
    return pst_json_str (query, key);
}

int
authn_search_read (pst_msg_t *reply, const json_t *query, authn_search_t *search)
{
    memset (search, 0, sizeof *search);
    search->per_page = AUTHN_SEARCH_PER_PAGE;
    search->filters = json_object ();
    if (!search->filters)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    const char *text = s_param (query, "page");
    if (text && (search->page = s_integer (text)) < 0)
        return s_fail (reply, "page must be an integer from 0");
    text = s_param (query, "per_page");
    int64_t per_page = text? s_integer (text): AUTHN_SEARCH_PER_PAGE;
    if (per_page < 0 || per_page > AUTHN_SEARCH_PER_PAGE_MAX)
        return s_fail (reply, "per_page must be an integer from 0 to 100");
    search->per_page = (int) per_page;
    text = s_param (query, "include_totals");
    if (text && strcmp (text, "true") != 0 && strcmp (text, "false") != 0)
        return s_fail (reply, "include_totals must be true or false");
    search->totals = text && strcmp (text, "true") == 0;
    text = s_param (query, "search_engine");
    if (text && strcmp (text, "v3") != 0)
        return s_fail (reply, "search_engine must be v3, the only one Postern speaks");

    const char *email = s_param (query, "email");
    if (email)
        json_object_set_new (search->filters, "email", json_string (email));
    text = s_param (query, "q");
    if (text) {
        const char *field;
        char value [TERM_MAX + 1];
        if (s_term (reply, text, &field, value, sizeof value))
            return -1;
        if (email && strcmp (field, "email") == 0 && strcasecmp (email, value) != 0)
            return s_fail (reply, "email and q name two addresses; no user has both");
        json_t *string = json_string (value);
        if (!string)
            return s_fail (reply, "q's value is not UTF-8");
        json_object_set_new (search->filters, field, string);
    }
    return 0;
}

void
authn_search_clear (authn_search_t *search)
{
    json_decref (search->filters);
    search->filters = NULL;
}
