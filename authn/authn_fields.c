#include "authn_fields.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_origin.h"
#include <string.h>

#define PASSWORD_MIN_LEN    8
#define PASSWORD_MAX_LEN    1024
#define MAX_LIFETIME        2592000

static int
s_in (const char *value, const char *const *set)
{
    for (; *set; set++)
        if (strcmp (value, *set) == 0)
            return 1;
    return 0;
}

static int
s_has_control_chars (const char *text)
{
    for (const unsigned char *at = (const unsigned char *) text; *at; at++)
        if (*at < 0x20 || *at == 0x7f)
            return 1;
    return 0;
}

int
authn_fields_string (pst_msg_t *reply, const json_t *data, const char *key, size_t max_len,
                     const char *const *allowed, const char **value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    *value_p = NULL;
    if (!member)
        return 0;
    const char *value = json_string_value (member);
    if (!value || !*value || strlen (value) > max_len || s_has_control_chars (value))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid %s", key);
    if (allowed && !s_in (value, allowed))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: %s has an unsupported value", key);
    *value_p = value;
    return 0;
}

int
authn_fields_string_array (pst_msg_t *reply, const json_t *data, const char *key,
                           const char *const *allowed, json_t **value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    *value_p = NULL;
    if (!member)
        return 0;
    if (!json_is_array (member) || json_array_size (member) > 64)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s must be an array", key);
    size_t index;
    json_t *item;
    json_array_foreach (member, index, item) {
        const char *value = json_string_value (item);
        if (!value || !*value || strlen (value) > 280 || s_has_control_chars (value)
        ||  (allowed && !s_in (value, allowed)))
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                                 "Payload validation error: %s has an unsupported value", key);
    }
    *value_p = member;
    return 0;
}

int
authn_fields_origins (pst_msg_t *reply, const json_t *data, const char *key, json_t **value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    *value_p = NULL;
    if (!member)
        return 0;
    if (!json_is_array (member) || json_array_size (member) > AUTHN_FIELDS_ORIGINS_MAX)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: %s must be an array of at most %d origins",
                             key, AUTHN_FIELDS_ORIGINS_MAX);
    size_t index;
    json_t *item;
    json_array_foreach (member, index, item) {
        if (pst_origin_valid (json_string_value (item), 1) != 0)
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                "Payload validation error: %s[%zu] is not an origin: expected scheme://host[:port]"
                " (at most %d bytes, no path, query or fragment; a wildcard only as in"
                " https://*.example.com)", key, index, PST_ORIGIN_MAX);
    }
    *value_p = member;
    return 0;
}

int
authn_fields_bool (pst_msg_t *reply, const json_t *data, const char *key, int *value_p)
{
    json_t *member = data? json_object_get (data, key): NULL;
    if (!member)
        return 0;
    if (!json_is_boolean (member))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: %s must be a boolean", key);
    *value_p = json_is_true (member);
    return 0;
}

int
authn_fields_scopes (pst_msg_t *reply, const json_t *data, json_t **scopes_p)
{
    json_t *scopes = json_object_get (data, "scopes");
    *scopes_p = NULL;
    if (!scopes)
        return 0;
    if (!json_is_array (scopes) || json_array_size (scopes) > 500)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: scopes must be an array");
    size_t index;
    json_t *scope;
    json_array_foreach (scopes, index, scope) {
        const char *value = pst_json_str (scope, "value");
        json_t *description = json_object_get (scope, "description");
        if (!json_is_object (scope) || !value || strlen (value) > 280 || strchr (value, ' ')
        ||  s_has_control_chars (value) || (description && !json_is_string (description)))
            return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: invalid scope");
    }
    *scopes_p = scopes;
    return 0;
}

int
authn_fields_lifetime (pst_msg_t *reply, const json_t *data, int *lifetime_p)
{
    json_t *member = json_object_get (data, "token_lifetime");
    if (!member)
        return 0;
    if (!json_is_integer (member) || json_integer_value (member) < 1
    ||  json_integer_value (member) > MAX_LIFETIME)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: token_lifetime must be 1..%d", MAX_LIFETIME);
    *lifetime_p = (int) json_integer_value (member);
    return 0;
}

int
authn_fields_password (pst_msg_t *reply, const json_t *data, const char **password_p)
{
    json_t *member = json_object_get (data, "password");
    *password_p = NULL;
    if (!member)
        return 0;
    const char *password = json_string_value (member);
    size_t length = password? strlen (password): 0;
    if (!password || length < PASSWORD_MIN_LEN || length > PASSWORD_MAX_LEN)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "PasswordStrengthError: Password is too weak (at least %d characters)",
                             PASSWORD_MIN_LEN);
    *password_p = password;
    return 0;
}
