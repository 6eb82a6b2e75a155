/*  pst_json - bounded JSON input on top of jansson.

    Rejects duplicate keys, invalid UTF-8, anything but an object at the top,
    nesting deeper than PST_JSON_MAX_DEPTH and bodies over the caller's limit.
*/
#ifndef PST_JSON_H_INCLUDED
#define PST_JSON_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define PST_JSON_MAX_DEPTH  8

//  Parses an object from data; NULL on any violation, with a static reason.
json_t *
    pst_json_parse_object (const char *data, size_t size, const char **reason_p);

//  Depth of a JSON value (scalar = 0, [] = 1, [[1]] = 2 ...).
int
    pst_json_depth (const json_t *value);

//  String member or NULL (absent, null, empty or not a string: "empty = absent").
const char *
    pst_json_str (const json_t *object, const char *key);

//  Compact serialisation; caller frees.
char *
    pst_json_dump (const json_t *value);

#endif
