/*  gw_body - request bodies and query strings into JSON objects.

    contract.md §0 (decided): a body whose first non-blank byte is '{' is JSON,
    whatever the Content-Type says, because the seed's curl examples send JSON with
    curl's default form Content-Type. Anything else is
    application/x-www-form-urlencoded. Management API bodies are JSON only.

    Form rules: '&' separates parameters, the first '=' splits name from value,
    '+' is a space, %XX escapes are decoded (libcurl). A bad or truncated escape,
    NUL after decoding, invalid UTF-8 or a repeated parameter makes the whole body
    invalid; an empty value is the same as an absent parameter.

    Errors come back as a description for a 400 invalid_request, caller frees.
*/
#ifndef GW_BODY_H_INCLUDED
#define GW_BODY_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

//  Authentication API body: JSON or form, as above. Empty body = empty object.
json_t *
    gw_body_parse (const char *data, size_t size, char **error_p);

//  application/x-www-form-urlencoded only.
json_t *
    gw_body_parse_form (const char *data, size_t size, char **error_p);

//  Management API body: a JSON object or array (PUT /guardian/policies sends an
//  array). NULL with *error_p NULL for an empty body.
json_t *
    gw_body_parse_json (const char *data, size_t size, char **error_p);

//  Decodes one form component ('+' and %XX). NULL when an escape is malformed or
//  the result holds NUL or invalid UTF-8. Caller frees; *size_p gets the length.
char *
    gw_body_form_decode (const char *text, size_t size, size_t *size_p);

//  Adds one decoded parameter to params. seen (an object) remembers every name,
//  including those with empty values, so repeats are caught. 0, or -1 and
//  *error_p on NUL, invalid UTF-8 or a repeat.
int
    gw_body_add_param (json_t *params, json_t *seen, const char *name, size_t name_size,
                       const char *value, size_t value_size, char **error_p);

#endif
