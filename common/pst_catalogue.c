#include "pst_catalogue.h"
#include "pst_error.h"
#include "pst_scope.h"
#include <jansson.h>
#include <string.h>

//  The words pst_ops.def writes its callers and flags with, for this file only
#define GATEWAY         PST_CALLER_GATEWAY
#define AUTHN           PST_CALLER_AUTHN
#define MFA             PST_CALLER_MFA
#define MAILER          PST_CALLER_MAILER
#define CACHEABLE       PST_OP_CACHEABLE
#define ONCE            PST_OP_ONCE
#define TOKEN_GRANT     PST_OP_TOKEN_GRANT
#define TOKEN_BEARER    PST_OP_TOKEN_BEARER
#define SCOPE_IF_CALLER PST_OP_SCOPE_IF_CALLER
#define NOTE            PST_OP_NOTE
#define MIRRORED        PST_OP_MIRRORED
#define KEYS_CHANGED    PST_OP_KEYS_CHANGED
#define EMPTY           PST_OP_EMPTY
#define MAILS           PST_OP_MAILS

//  service, api and auth are pasted onto their prefixes, so the caller words
//  above never reach them
#define PST_OP(service, name, handler, callers, api, method, path, auth, scope, params, status, flags) \
    { PST_SERVICE_##service, name, callers, PST_API_##api, method, path, PST_AUTH_##auth, \
      scope, params, status, flags },
static const pst_op_def_t s_catalogue [] = {
#include "pst_ops.def"
    { PST_SERVICE_COUNT, NULL, 0, PST_API_BUS, NULL, NULL, PST_AUTH_NONE, NULL, NULL, 0, 0 }
};

#define PST_SCOPE(api, scope)   PST_WHEN_SCOPE_##api (scope)
#define PST_WHEN_SCOPE_MGMT(scope)  scope,
#define PST_WHEN_SCOPE_MFA(scope)
#define PST_WHEN_SCOPE_USERINFO(scope)
static const char *const s_mgmt_scopes [] = {
#include "pst_ops.def"
    NULL
};
#undef PST_WHEN_SCOPE_MGMT
#undef PST_WHEN_SCOPE_MFA
#undef PST_WHEN_SCOPE_USERINFO

#define PST_SCOPE(api, scope)   PST_WHEN_SCOPE_##api (scope)
#define PST_WHEN_SCOPE_MGMT(scope)
#define PST_WHEN_SCOPE_MFA(scope)   scope,
#define PST_WHEN_SCOPE_USERINFO(scope)
static const char *const s_mfa_scopes [] = {
#include "pst_ops.def"
    NULL
};
#undef PST_WHEN_SCOPE_MGMT
#undef PST_WHEN_SCOPE_MFA
#undef PST_WHEN_SCOPE_USERINFO

#define PST_SCOPE(api, scope)   PST_WHEN_SCOPE_##api (scope)
#define PST_WHEN_SCOPE_MGMT(scope)
#define PST_WHEN_SCOPE_MFA(scope)
#define PST_WHEN_SCOPE_USERINFO(scope)  scope,
static const char *const s_userinfo_scopes [] = {
#include "pst_ops.def"
    NULL
};

static const char *const s_service_names [PST_SERVICE_COUNT] = {
    [PST_SERVICE_AUTHN] = "authn",
    [PST_SERVICE_MFA] = "mfa",
    [PST_SERVICE_MFA_JOBS] = "mfa-jobs",
    [PST_SERVICE_MAILER] = "mailer"
};

const pst_op_def_t *
pst_catalogue (void)
{
    return s_catalogue;
}

const pst_op_def_t *
pst_catalogue_find (const pst_op_def_t *catalogue, pst_service_id_t service, const char *name)
{
    if (!name)
        return NULL;
    for (const pst_op_def_t *op = catalogue? catalogue: s_catalogue; op->name; op++)
        if (op->service == service && strcmp (op->name, name) == 0)
            return op;
    return NULL;
}

const char *
pst_catalogue_service_name (pst_service_id_t service)
{
    return service < PST_SERVICE_COUNT? s_service_names [service]: "unknown";
}

const char *const *
pst_catalogue_scopes (pst_system_api_t api)
{
    return api == PST_SYSTEM_API_MGMT? s_mgmt_scopes
         : api == PST_SYSTEM_API_MFA? s_mfa_scopes: s_userinfo_scopes;
}

//  ---------------------------------------------------------------------------
//  Params

#define PARAM_NAME_MAX  64

typedef struct {
    char name [PARAM_NAME_MAX + 1];     //  "grant_type", "id", "data", "data.name"
    char parent [PARAM_NAME_MAX + 1];   //  "data", "query" for "data.name" ...; "" at the top
    const char *member;                 //  the last part of name
    char type;                          //  's', 'a', 'o', 'b', 'i'
    size_t max;                         //  a string's longest, in bytes; 0 any
} param_t;

//  Reads the next word of params into param; returns where the word ended,
//  NULL at the end or on a word that breaks the grammar (*bad_p set).
static const char *
s_next_param (const char *params, param_t *param, int *bad_p)
{
    *bad_p = 0;
    params += strspn (params, " ");
    size_t length = strcspn (params, " ");
    if (length == 0)
        return NULL;
    const char *colon = memchr (params, ':', length);
    size_t name_length = colon? (size_t) (colon - params): length;
    size_t type_length = colon? length - name_length - 1: 0;
    //  A string's bound: the digits after its 's', read within the word only
    size_t digits = type_length > 1? type_length - 1: 0;
    int digits_ok = digits <= 5;
    param->max = 0;
    for (size_t i = 0; colon && digits_ok && i < digits; i++) {
        char digit = colon [2 + i];
        if (digit < '0' || digit > '9')
            digits_ok = 0;
        else
            param->max = param->max * 10 + (size_t) (digit - '0');
    }
    if (name_length == 0 || name_length > PARAM_NAME_MAX || (colon && type_length == 0)
    ||  (colon && !strchr ("saobi", colon [1]))
    ||  (digits && (!digits_ok || colon [1] != 's' || param->max == 0))) {
        *bad_p = 1;
        return NULL;
    }
    memcpy (param->name, params, name_length);
    param->name [name_length] = 0;
    const char *dot = strchr (param->name, '.');
    size_t parent_length = dot? (size_t) (dot - param->name): 0;
    memcpy (param->parent, param->name, parent_length);
    param->parent [parent_length] = 0;
    param->member = dot? dot + 1: param->name;
    param->type = colon? colon [1]: strcmp (param->name, "data") == 0? 'o': 's';
    if (!*param->member || strchr (param->member, '.') || (dot && parent_length == 0)) {
        *bad_p = 1;
        return NULL;
    }
    return params + length;
}

int
pst_catalogue_params_valid (const char *params)
{
    if (!params)
        return -1;
    param_t param;
    int bad = 0;
    while ((params = s_next_param (params, &param, &bad)))
        ;
    return bad? -1: 0;
}

static int
s_has_type (const json_t *value, char type)
{
    switch (type) {
        case 's': return json_is_string (value) && json_string_length (value) > 0;
        case 'a': return json_is_array (value);
        case 'o': return json_is_object (value);
        case 'b': return json_is_boolean (value);
        case 'i': return json_is_integer (value);
        default:  return 0;
    }
}

static const char *
s_type_name (char type)
{
    switch (type) {
        case 'a': return "an array";
        case 'o': return "an object";
        case 'b': return "a boolean";
        case 'i': return "an integer";
        default:  return "a string";
    }
}

//  The error for a param that is missing (value NULL) or of another type, in
//  the words of the op's API.
static int
s_param_fail (const pst_op_def_t *op, const param_t *param, const json_t *value,
              pst_msg_t *reply)
{
    if (op->api != PST_API_MGMT) {
        if (!value || param->type == 's')
            return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST,
                                 "Missing required parameter: %s", param->name);
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid parameter: %s must be %s",
                             param->name, s_type_name (param->type));
    }
    if (!*param->parent && strcmp (param->name, "data") == 0)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Payload validation error: body must be %s",
                             s_type_name (param->type));
    if (!*param->parent)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Path validation error: '%s' is required",
                             param->name);
    //  The request body's members, or the query string's
    const char *where = strcmp (param->parent, "query") == 0? "Query": "Payload";
    if (!value)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST,
                             "%s validation error: Missing required property: %s", where, param->member);
    return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "%s validation error: '%s' must be %s.",
                         where, param->member, s_type_name (param->type));
}

static int
s_param_too_long (const pst_op_def_t *op, const param_t *param, pst_msg_t *reply)
{
    if (op->api != PST_API_MGMT)
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Invalid parameter: %s is longer than %zu bytes",
                             param->name, param->max);
    if (!*param->parent)
        return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "Path validation error: '%s' is longer than %zu bytes",
                             param->name, param->max);
    return pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "%s validation error: '%s' is longer than %zu bytes.",
                         strcmp (param->parent, "query") == 0? "Query": "Payload", param->member, param->max);
}

int
pst_catalogue_check (const pst_op_def_t *op, const pst_msg_t *request, pst_msg_t *reply)
{
    int scope_binds = !(op->flags & PST_OP_SCOPE_IF_CALLER) || pst_msg_caller (request);
    if (op->scope && scope_binds && !pst_scope_has_any (pst_msg_scopes (request), op->scope))
        return pst_msg_fail (reply, PST_ERR_INSUFFICIENT_SCOPE,
                             "Insufficient scope, expected: %s", op->scope);
    return pst_catalogue_check_params (op->name, op->api, op->params, request, reply);
}

int
pst_catalogue_check_params (const char *name, pst_api_t api, const char *params,
                            const pst_msg_t *request, pst_msg_t *reply)
{
    //  The error shapes only need the row's name and API
    const pst_op_def_t row = { PST_SERVICE_COUNT, name, 0, api, NULL, NULL, PST_AUTH_NONE,
                               NULL, params, 0, 0 };
    const pst_op_def_t *op = &row;
    const json_t *body = pst_msg_body (request);
    params = params? params: "";
    param_t param;
    int bad = 0;
    while ((params = s_next_param (params, &param, &bad))) {
        const json_t *parent = *param.parent? json_object_get (body, param.parent): body;
        const json_t *value = json_is_object (parent)? json_object_get (parent, param.member): NULL;
        if (!value || json_is_null (value) || !s_has_type (value, param.type))
            return s_param_fail (op, &param, json_is_null (value)? NULL: value, reply);
        if (param.max && json_string_length (value) > param.max)
            return s_param_too_long (op, &param, reply);
    }
    if (bad)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Operation %s has malformed params", op->name);
    return 0;
}
