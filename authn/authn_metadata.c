#include "authn_metadata.h"
#include "pst_error.h"
#include "pst_json.h"
#include <string.h>

//  Top-level names of app_metadata that Auth0 keeps for the profile itself
static const char *s_reserved [] = {
    "blocked", "clientID", "created_at", "email", "email_verified", "global_client_id",
    "globalClientID", "identities", "lastIP", "lastLogin", "metadata", "user_id",
    "loginsCount", NULL
};

//  The first key of value, at any level, that holds '.' or '$'; NULL when none.
//  value is no deeper than AUTHN_METADATA_MAX_DEPTH, which bounds the recursion.
static const char *
s_bad_key (const json_t *value)
{
    const char *bad = NULL;
    if (json_is_object (value)) {
        const char *key;
        json_t *member;
        json_object_foreach ((json_t *) value, key, member) {
            if (strpbrk (key, ".$"))
                return key;
            if ((bad = s_bad_key (member)))
                return bad;
        }
    }
    else
    if (json_is_array (value)) {
        size_t index;
        json_t *item;
        json_array_foreach (value, index, item)
            if ((bad = s_bad_key (item)))
                return bad;
    }
    return NULL;
}

//  Compact JSON size of value, without writing it out
static size_t
s_size (const json_t *value)
{
    return json_dumpb (value, NULL, 0, JSON_COMPACT);
}

int
authn_metadata_check (pst_msg_t *reply, const json_t *data, const char *key, json_t **changes_p)
{
    json_t *changes = data? json_object_get (data, key): NULL;
    *changes_p = NULL;
    if (!changes)
        return 0;
    if (!json_is_object (changes))
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "Payload validation error: %s must be an object", key);
    if (pst_json_depth (changes) > AUTHN_METADATA_MAX_DEPTH)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
            "Payload validation error: %s is nested more than %d deep", key,
            AUTHN_METADATA_MAX_DEPTH);
    const char *bad = s_bad_key (changes);
    if (bad)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
            "Payload validation error: %s keys cannot hold '.' or '$' (\"%.100s\")", key, bad);
    if (strcmp (key, "app_metadata") == 0)
        for (const char **name = s_reserved; *name; name++)
            if (json_object_get (changes, *name))
                return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                    "Payload validation error: app_metadata cannot hold \"%s\"", *name);
    //  Checked before the merge too: a change that alone exceeds the bound never
    //  gets as far as the store
    if (s_size (changes) > AUTHN_METADATA_MAX_SIZE)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
            "Payload validation error: %s exceeds %d bytes", key, AUTHN_METADATA_MAX_SIZE);
    *changes_p = changes;
    return 0;
}

json_t *
authn_metadata_merge (pst_msg_t *reply, const char *key, const json_t *current,
                      const json_t *changes)
{
    json_t *merged = json_is_object (current) && json_object_size (changes) > 0
                   ? json_deep_copy (current): json_object ();
    const char *name;
    json_t *value;
    int failed = merged == NULL;
    json_object_foreach ((json_t *) changes, name, value) {
        if (failed)
            break;
        if (json_is_null (value))
            json_object_del (merged, name);
        else
            failed = json_object_set (merged, name, value) != 0;
    }
    if (failed) {
        json_decref (merged);
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
        return NULL;
    }
    if (json_object_size (merged) == 0) {
        json_decref (merged);
        return json_null ();
    }
    if (s_size (merged) > AUTHN_METADATA_MAX_SIZE) {
        json_decref (merged);
        pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
            "Payload validation error: %s would exceed %d bytes", key, AUTHN_METADATA_MAX_SIZE);
        return NULL;
    }
    return merged;
}
