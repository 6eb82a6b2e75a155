#include "gw_body.h"
#include "pst_json.h"
#include <curl/curl.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
s_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = NULL;
    if (vasprintf (&text, format, args) < 0)
        text = NULL;
    va_end (args);
    return text;
}

static int
s_is_blank (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
s_skip_blanks (const char *data, size_t size)
{
    size_t offset = 0;
    while (offset < size && s_is_blank (data [offset]))
        offset++;
    return offset;
}

//  curl_easy_unescape passes malformed escapes through unchanged; we refuse them.
static int
s_escapes_valid (const char *text, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (text [i] == '%'
        &&  (i + 2 >= size || !isxdigit ((unsigned char) text [i + 1])
                               || !isxdigit ((unsigned char) text [i + 2])))
            return 0;
    return 1;
}

//  jansson validates UTF-8 when it builds a string; that is our check.
static int
s_utf8_valid (const char *data, size_t size)
{
    json_t *probe = json_stringn (data, size);
    json_decref (probe);
    return probe != NULL;
}

char *
gw_body_form_decode (const char *text, size_t size, size_t *size_p)
{
    if (size > (size_t) 0x7fffffff || !s_escapes_valid (text, size))
        return NULL;
    char *plus_free = (char *) malloc (size + 1);
    if (!plus_free)
        return NULL;
    for (size_t i = 0; i < size; i++)
        plus_free [i] = text [i] == '+'? ' ': text [i];
    plus_free [size] = 0;
    int decoded_size = 0;
    char *decoded = curl_easy_unescape (NULL, plus_free, (int) size, &decoded_size);
    free (plus_free);
    if (!decoded)
        return NULL;
    char *result = NULL;
    if (!memchr (decoded, 0, (size_t) decoded_size)
    &&  s_utf8_valid (decoded, (size_t) decoded_size))
        result = strndup (decoded, (size_t) decoded_size);
    curl_free (decoded);
    if (result && size_p)
        *size_p = (size_t) decoded_size;
    return result;
}

int
gw_body_add_param (json_t *params, json_t *seen, const char *name, size_t name_size,
                   const char *value, size_t value_size, char **error_p)
{
    if (memchr (name, 0, name_size) || memchr (value, 0, value_size)) {
        *error_p = s_error ("Malformed parameter: NUL byte");
        return -1;
    }
    if (!s_utf8_valid (name, name_size) || !s_utf8_valid (value, value_size)) {
        *error_p = s_error ("Malformed parameter: invalid UTF-8");
        return -1;
    }
    //  Unnamed pieces ("=x", "&&") carry nothing: ignored like unknown parameters
    if (name_size == 0)
        return 0;
    if (json_object_getn (seen, name, name_size)) {
        *error_p = s_error ("Duplicate parameter: %.*s", (int) name_size, name);
        return -1;
    }
    if (json_object_setn_new (seen, name, name_size, json_true ()) != 0
    ||  (value_size > 0
        && json_object_setn_new (params, name, name_size, json_stringn (value, value_size)) != 0)) {
        *error_p = s_error ("Malformed parameter");
        return -1;
    }
    return 0;
}

//  One "name=value" piece of a form body.
static int
s_add_piece (json_t *params, json_t *seen, const char *piece, size_t size, char **error_p)
{
    const char *equals = (const char *) memchr (piece, '=', size);
    size_t name_len = equals? (size_t) (equals - piece): size;
    size_t value_len = equals? size - name_len - 1: 0;
    size_t name_size = 0, value_size = 0;
    char *name = gw_body_form_decode (piece, name_len, &name_size);
    char *value = name? gw_body_form_decode (piece + name_len + (equals? 1: 0),
                                             value_len, &value_size): NULL;
    int rc = -1;
    if (!name || !value)
        *error_p = s_error ("Malformed form body: bad percent-encoding, NUL byte or invalid UTF-8");
    else
        rc = gw_body_add_param (params, seen, name, name_size, value, value_size, error_p);
    free (name);
    free (value);
    return rc;
}

json_t *
gw_body_parse_form (const char *data, size_t size, char **error_p)
{
    *error_p = NULL;
    json_t *params = json_object ();
    json_t *seen = json_object ();
    size_t offset = 0;
    while (params && seen && offset < size) {
        const char *piece = data + offset;
        const char *amp = (const char *) memchr (piece, '&', size - offset);
        size_t len = amp? (size_t) (amp - piece): size - offset;
        if (len > 0 && s_add_piece (params, seen, piece, len, error_p) != 0) {
            json_decref (params);
            params = NULL;
        }
        offset += len + 1;
    }
    json_decref (seen);
    if (!params && !*error_p)
        *error_p = s_error ("Out of memory");
    return params;
}

json_t *
gw_body_parse (const char *data, size_t size, char **error_p)
{
    *error_p = NULL;
    size_t start = s_skip_blanks (data, size);
    if (start < size && data [start] == '{') {
        const char *reason = NULL;
        json_t *object = pst_json_parse_object (data, size, &reason);
        if (!object)
            *error_p = s_error ("Invalid JSON body: %s", reason? reason: "malformed");
        return object;
    }
    //  Trailing newlines are what `curl -d @file` leaves; they are not a parameter
    while (size > 0 && s_is_blank (data [size - 1]))
        size--;
    return gw_body_parse_form (data, size, error_p);
}

json_t *
gw_body_parse_json (const char *data, size_t size, char **error_p)
{
    *error_p = NULL;
    size_t start = s_skip_blanks (data, size);
    if (start == size)
        return NULL;
    const char *reason = NULL;
    json_t *value = NULL;
    if (data [start] == '{')
        value = pst_json_parse_object (data, size, &reason);
    else
    if (data [start] == '[') {
        //  pst_json only takes objects; same rules by hand: no duplicate keys,
        //  no NUL in strings (jansson's default), bounded depth
        json_error_t error;
        value = json_loadb (data, size, JSON_REJECT_DUPLICATES, &error);
        if (value && pst_json_depth (value) > PST_JSON_MAX_DEPTH) {
            json_decref (value);
            value = NULL;
            reason = "nested too deeply";
        }
    }
    if (!value)
        *error_p = s_error ("Invalid request payload JSON format%s%s",
                            reason? ": ": "", reason? reason: "");
    return value;
}
