/*  authn_fields - checks of the members of a Management API payload.

    Each check takes one optional member of data: 0 with its value (left as it
    was when the member is absent), or -1 after failing reply with 400 and the
    validation error Auth0 gives for it.
*/
#ifndef AUTHN_FIELDS_H_INCLUDED
#define AUTHN_FIELDS_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>
#include <stddef.h>

//  A string of 1..max_len characters without control characters, one of
//  allowed when given (NULL-terminated). *value_p is NULL when absent.
int
    authn_fields_string (pst_msg_t *reply, const json_t *data, const char *key, size_t max_len,
                         const char *const *allowed, const char **value_p);

//  An array of up to 64 such strings, each one of allowed when given (NULL = any).
//  *value_p (borrowed from data) is NULL when absent.
int
    authn_fields_string_array (pst_msg_t *reply, const json_t *data, const char *key,
                               const char *const *allowed, json_t **value_p);

//  An application's origins (web_origins, allowed_origins): an array of up
//  to AUTHN_FIELDS_ORIGINS_MAX origins as pst_origin has them (wildcards
//  allowed), each of at most PST_ORIGIN_MAX bytes. *value_p (borrowed from
//  data) is NULL when absent.
#define AUTHN_FIELDS_ORIGINS_MAX    100
int
    authn_fields_origins (pst_msg_t *reply, const json_t *data, const char *key,
                          json_t **value_p);

//  A boolean, as 0 or 1.
int
    authn_fields_bool (pst_msg_t *reply, const json_t *data, const char *key, int *value_p);

//  A resource server's scopes: [{"value": "read:x", "description": "..."}], up
//  to 500. *scopes_p (borrowed from data) is NULL when absent.
int
    authn_fields_scopes (pst_msg_t *reply, const json_t *data, json_t **scopes_p);

//  A token lifetime in seconds, 1 to 30 days.
int
    authn_fields_lifetime (pst_msg_t *reply, const json_t *data, int *lifetime_p);

//  A password of 8 to 1024 characters. *password_p is NULL when absent.
int
    authn_fields_password (pst_msg_t *reply, const json_t *data, const char **password_p);

#endif
