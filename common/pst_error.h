/*  pst_error - the one error vocabulary shared by every service and the gateway.

    Services answer with a machine-readable code from this table plus a human text.
    The gateway derives the HTTP status from the code, so a service never has to know
    about HTTP, and two services can never disagree on what an error means.
*/
#ifndef PST_ERROR_H_INCLUDED
#define PST_ERROR_H_INCLUDED

//  Codes used on the bus. Authentication API codes are Auth0's own strings.
#define PST_ERR_INVALID_REQUEST         "invalid_request"
#define PST_ERR_INVALID_CLIENT          "invalid_client"
#define PST_ERR_INVALID_GRANT           "invalid_grant"
#define PST_ERR_UNAUTHORIZED_CLIENT     "unauthorized_client"
#define PST_ERR_UNSUPPORTED_GRANT_TYPE  "unsupported_grant_type"
#define PST_ERR_ACCESS_DENIED           "access_denied"
#define PST_ERR_MFA_REQUIRED            "mfa_required"
#define PST_ERR_EXPIRED_TOKEN           "expired_token"
#define PST_ERR_INVALID_TOKEN           "invalid_token"
#define PST_ERR_TOO_MANY_ATTEMPTS       "too_many_attempts"
#define PST_ERR_TOO_MANY_REQUESTS       "too_many_requests"
#define PST_ERR_UNSUPPORTED_CHALLENGE   "unsupported_challenge_type"
#define PST_ERR_ASSOCIATION_REQUIRED    "association_required"
#define PST_ERR_INSUFFICIENT_SCOPE      "insufficient_scope"
#define PST_ERR_NOT_FOUND               "not_found"
#define PST_ERR_CONFLICT                "conflict"
#define PST_ERR_BAD_REQUEST             "bad_request"
#define PST_ERR_UNAVAILABLE             "temporarily_unavailable"
#define PST_ERR_INTERNAL                "server_error"
//  The gateway's own refusals, decided before any service is asked
#define PST_ERR_METHOD_NOT_ALLOWED      "method_not_allowed"
#define PST_ERR_REQUEST_TOO_LARGE       "request_entity_too_large"
#define PST_ERR_INVALID_BODY            "invalid_body"
#define PST_ERR_INVALID_QUERY_STRING    "invalid_query_string"
#define PST_ERR_INVALID_URI             "invalid_uri"

//  HTTP status for a bus error code; 500 for a code not in the table.
int
    pst_error_http_status (const char *code);

//  True when the code is in the vocabulary.
int
    pst_error_known (const char *code);

#endif
