/*  pst_json - bounded JSON input on top of jansson.

    Rejects duplicate keys, invalid UTF-8, anything but an object at the top and
    nesting deeper than PST_JSON_MAX_DEPTH. The size limit is the caller's (the
    gateway refuses big bodies before parsing).

    PST_JSON_MAX_DEPTH leaves room for the bus: an accepted body travels inside the
    envelope map and, for the Management API, inside its `data` member, and must
    still fit PST_MSG_MAX_DEPTH (6 + 2 = 8).
*/
#ifndef PST_JSON_H_INCLUDED
#define PST_JSON_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define PST_JSON_MAX_DEPTH  6

//  Parses an object from data; NULL on any violation, with a static reason.
json_t *
    pst_json_parse_object (const char *data, size_t size, const char **reason_p);

//  Depth of a JSON value (scalar = 0, [] = 1, [[1]] = 2 ...), counted no further
//  than PST_JSON_MAX_DEPTH + 1: anything deeper reports exactly that.
int
    pst_json_depth (const json_t *value);

//  String member or NULL (absent, null, empty or not a string: "empty = absent").
const char *
    pst_json_str (const json_t *object, const char *key);

//  Compact serialisation; caller frees.
char *
    pst_json_dump (const json_t *value);

#endif
