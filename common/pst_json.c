/*  pst_json - bounded JSON input on top of jansson.

    jansson does the parsing and refuses invalid UTF-8, NUL characters and
    (with JSON_REJECT_DUPLICATES) duplicate keys; this module adds the checks that
    make a body safe to hand to a service: an object at the top, bounded depth.
*/
#include "pst_json.h"
#include <stdlib.h>

//  Static reasons for the parser's own error codes; the rest are "malformed JSON".
static const struct {
    enum json_error_code code;
    const char *reason;
} s_reasons [] = {
    { json_error_invalid_utf8,          "invalid UTF-8" },
    { json_error_duplicate_key,         "duplicate key" },
    { json_error_null_character,        "NUL character" },
    { json_error_null_byte_in_key,      "NUL character" },
    { json_error_numeric_overflow,      "number out of range" },
    { json_error_stack_overflow,        "nesting too deep" },
    { json_error_out_of_memory,         "out of memory" },
};

static const char *
s_reason (const json_error_t *error)
{
    enum json_error_code code = json_error_code (error);
    for (size_t i = 0; i < sizeof s_reasons / sizeof s_reasons [0]; i++)
        if (s_reasons [i].code == code)
            return s_reasons [i].reason;
    return "malformed JSON";
}

json_t *
pst_json_parse_object (const char *data, size_t size, const char **reason_p)
{
    const char *ignored;
    if (!reason_p)
        reason_p = &ignored;
    *reason_p = NULL;
    if (!data || size == 0) {
        *reason_p = "empty body";
        return NULL;
    }
    json_error_t error;
    json_t *value = json_loadb (data, size, JSON_REJECT_DUPLICATES, &error);
    if (!value) {
        *reason_p = s_reason (&error);
        return NULL;
    }
    if (!json_is_object (value)) {
        *reason_p = "not an object";
        json_decref (value);
        return NULL;
    }
    if (pst_json_depth (value) > PST_JSON_MAX_DEPTH) {
        *reason_p = "nesting too deep";
        json_decref (value);
        return NULL;
    }
    return value;
}

//  Depth of value, but never more than limit + 1: there is no point walking
//  further down a value that is already too deep, and it bounds the recursion.
static int
s_depth (const json_t *value, int limit)
{
    if (!json_is_object (value) && !json_is_array (value))
        return 0;
    //  Children are only visited while limit > 0, so recursion ends by then
    int deepest = 0;
    if (json_is_array (value)) {
        for (size_t i = 0; i < json_array_size (value) && deepest < limit; i++) {
            int depth = s_depth (json_array_get (value, i), limit - 1);
            if (depth > deepest)
                deepest = depth;
        }
    }
    else {
        void *iter = json_object_iter ((json_t *) value);
        for (; iter && deepest < limit; iter = json_object_iter_next ((json_t *) value, iter)) {
            int depth = s_depth (json_object_iter_value (iter), limit - 1);
            if (depth > deepest)
                deepest = depth;
        }
    }
    return 1 + deepest;
}

int
pst_json_depth (const json_t *value)
{
    return s_depth (value, PST_JSON_MAX_DEPTH);
}

const char *
pst_json_str (const json_t *object, const char *key)
{
    if (!json_is_object (object) || !key)
        return NULL;
    json_t *value = json_object_get (object, key);
    if (!json_is_string (value) || json_string_length (value) == 0)
        return NULL;
    return json_string_value (value);
}

char *
pst_json_dump (const json_t *value)
{
    if (!value)
        return NULL;
    return json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
}
