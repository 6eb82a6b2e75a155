#include "pst_error.h"
#include <string.h>

typedef struct {
    const char *code;
    int http_status;
} error_entry_t;

//  contract.md decides 403 for every grant failure and for mfa_required.
static const error_entry_t s_errors [] = {
    { PST_ERR_INVALID_REQUEST,        400 },
    { PST_ERR_INVALID_CLIENT,         401 },
    { PST_ERR_INVALID_GRANT,          403 },
    { PST_ERR_UNAUTHORIZED_CLIENT,    403 },
    { PST_ERR_UNSUPPORTED_GRANT_TYPE, 400 },
    { PST_ERR_ACCESS_DENIED,          403 },
    { PST_ERR_MFA_REQUIRED,           403 },
    { PST_ERR_EXPIRED_TOKEN,          403 },
    { PST_ERR_INVALID_TOKEN,          401 },
    { PST_ERR_TOO_MANY_ATTEMPTS,      429 },
    { PST_ERR_TOO_MANY_REQUESTS,      429 },
    { PST_ERR_UNSUPPORTED_CHALLENGE,  400 },
    { PST_ERR_ASSOCIATION_REQUIRED,   400 },
    { PST_ERR_INSUFFICIENT_SCOPE,     403 },
    { PST_ERR_NOT_FOUND,              404 },
    { PST_ERR_CONFLICT,               409 },
    { PST_ERR_BAD_REQUEST,            400 },
    { PST_ERR_UNAVAILABLE,            503 },
    { PST_ERR_INTERNAL,               500 },
    { PST_ERR_METHOD_NOT_ALLOWED,     405 },
    { PST_ERR_REQUEST_TOO_LARGE,      413 },
    { PST_ERR_INVALID_BODY,           400 },
    { PST_ERR_INVALID_QUERY_STRING,   400 },
    { PST_ERR_INVALID_URI,            400 },
};

static const error_entry_t *
s_lookup (const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors [0]; i++)
        if (strcmp (s_errors [i].code, code) == 0)
            return &s_errors [i];
    return NULL;
}

int
pst_error_http_status (const char *code)
{
    const error_entry_t *entry = s_lookup (code);
    return entry? entry->http_status: 500;
}

int
pst_error_known (const char *code)
{
    return s_lookup (code) != NULL;
}
