/*  fuzz_gw_body - libFuzzer target for everything the gateway parses from a
    client: bodies (JSON or form), form components, Authorization headers and
    request paths.

    Invariants: a parse gives a result or an error, never both or neither; form
    parameters are non-empty strings free of NUL; decoded components are UTF-8.
*/
#include "gw_body.h"
#include "gw_auth.h"
#include "gw_routes.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_gw_body: check failed: %s\n", #condition); abort (); \
    } } while (0)

static void
s_check_outcome (json_t *value, char *error)
{
    CHECK ((value == NULL) != (error == NULL));
    json_decref (value);
    free (error);
}

static void
s_check_auth_body (const char *data, size_t size)
{
    char *error = NULL;
    json_t *params = gw_body_parse (data, size, &error);
    if (params) {
        CHECK (json_is_object (params));
        size_t start = 0;
        while (start < size && strchr (" \t\r\n", data [start]) && data [start])
            start++;
        //  Form parameters: strings, never empty, never holding NUL
        if (!(start < size && data [start] == '{')) {
            const char *key;
            json_t *value;
            json_object_foreach (params, key, value) {
                CHECK (json_is_string (value));
                CHECK (json_string_length (value) > 0);
                CHECK (strlen (json_string_value (value)) == json_string_length (value));
            }
        }
    }
    s_check_outcome (params, error);

    params = gw_body_parse_form (data, size, &error);
    s_check_outcome (params, error);

    json_t *value = gw_body_parse_json (data, size, &error);
    CHECK (!(value && error));
    CHECK (!value || json_is_object (value) || json_is_array (value));
    json_decref (value);
    free (error);
}

static void
s_check_component (const char *data, size_t size)
{
    size_t decoded_size = 0;
    char *decoded = gw_body_form_decode (data, size, &decoded_size);
    if (decoded) {
        CHECK (strlen (decoded) == decoded_size);
        CHECK (decoded_size <= size);
        json_t *probe = json_stringn (decoded, decoded_size);
        CHECK (probe);
        json_decref (probe);
    }
    free (decoded);
}

static void
s_check_text (const char *text)
{
    char *client_id = NULL, *client_secret = NULL;
    if (gw_auth_basic_credentials (text, &client_id, &client_secret) == 0) {
        CHECK (client_id && *client_id && client_secret);
    }
    else
        CHECK (!client_id && !client_secret);
    free (client_id);
    free (client_secret);
    free (gw_auth_bearer_token (text));

    gw_match_t match;
    int status = gw_routes_match ("GET", text, &match);
    CHECK (status == 200 || status == 404 || status == 405);
    CHECK ((status == 200) == (match.route != NULL));
    free (gw_routes_allow (text));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_check_auth_body ((const char *) data, size);
    s_check_component ((const char *) data, size);
    char *text = (char *) malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    s_check_text (text);
    free (text);
    return 0;
}
