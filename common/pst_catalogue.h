/*  pst_catalogue - the operation catalogue (pst_ops.def) as data, and the checks
    every operation gets before its handler runs.

    One row per operation: who handles it, who may send it, its HTTP route, the
    scope and body members it requires. The gateway's route table, each
    service's dispatch table, the system APIs' scope lists and the central
    validation all come from these rows, so none of them can drift from another
    or from docs/protocol.md (tests/common/test_catalogue.c reads both).

    Params grammar (the `params` column): words separated by spaces, each
    `path[:type]`. path is a body member ("grant_type", "id") or a member of an
    object member: of the Management API's request body ("data.name"; "data"
    alone is that body) or its query string ("query.email").
    type: none a non-empty string, `s256` a non-empty string of at most 256
    bytes, `a` array, `o` object, `b` boolean, `i` integer. "data" without a
    type must be an object.
*/
#ifndef PST_CATALOGUE_H_INCLUDED
#define PST_CATALOGUE_H_INCLUDED

#include <stddef.h>
#include "pst_msg.h"

//  The sockets that handle operations
typedef enum {
    PST_SERVICE_AUTHN,
    PST_SERVICE_MFA,
    PST_SERVICE_MFA_JOBS,       //  mfa's mail-jobs socket
    PST_SERVICE_MAILER,
    PST_SERVICE_COUNT
} pst_service_id_t;

//  Who may send an operation: one bit per kind of peer
#define PST_CALLER_GATEWAY  (1u << 0)
#define PST_CALLER_AUTHN    (1u << 1)
#define PST_CALLER_MFA      (1u << 2)
#define PST_CALLER_MAILER   (1u << 3)

//  Whose error shapes an operation speaks
typedef enum {
    PST_API_AUTH,               //  Authentication API: invalid_request
    PST_API_MGMT,               //  Management API: bad_request, "Payload validation error"
    PST_API_BUS                 //  between services: as the Authentication API
} pst_api_t;

//  How the gateway authenticates the HTTP caller (gw_auth)
typedef enum {
    PST_AUTH_NONE,              //  no caller identity
    PST_AUTH_CLIENT,            //  client credentials in the body, or HTTP Basic
    PST_AUTH_MGMT,              //  Bearer JWT for https://{domain}/api/v2/
    PST_AUTH_MFA,               //  Bearer mfa_token, or JWT for https://{domain}/mfa/
    PST_AUTH_MFA_ACCESS,        //  Bearer JWT for https://{domain}/mfa/ only
    PST_AUTH_MFA_TOKEN,         //  Bearer mfa_token only
    PST_AUTH_USERINFO           //  Bearer JWT of a user whose aud holds https://{domain}/userinfo
} pst_http_auth_t;

//  Flags (pst_ops.def explains each)
#define PST_OP_CACHEABLE        (1u << 0)
#define PST_OP_ONCE             (1u << 1)
#define PST_OP_TOKEN_GRANT      (1u << 2)
#define PST_OP_TOKEN_BEARER     (1u << 3)
#define PST_OP_SCOPE_IF_CALLER  (1u << 4)
#define PST_OP_NOTE             (1u << 5)
#define PST_OP_MIRRORED         (1u << 6)
#define PST_OP_KEYS_CHANGED     (1u << 7)
#define PST_OP_EMPTY            (1u << 8)
#define PST_OP_MAILS            (1u << 9)

typedef struct {
    pst_service_id_t service;
    const char *name;
    unsigned callers;           //  PST_CALLER_* bits
    pst_api_t api;
    const char *method;         //  HTTP route, or NULL
    const char *path;
    pst_http_auth_t auth;
    const char *scope;          //  required caller scope, or NULL
    const char *params;         //  required body members ("" for none)
    int status;                 //  HTTP status on success
    unsigned flags;             //  PST_OP_* bits
} pst_op_def_t;

//  The whole catalogue, ended by a row whose name is NULL.
const pst_op_def_t *
    pst_catalogue (void);

//  The row of service's operation name in catalogue (NULL: the operation
//  catalogue); NULL when there is none.
const pst_op_def_t *
    pst_catalogue_find (const pst_op_def_t *catalogue, pst_service_id_t service,
                        const char *name);

//  "authn", "mfa", "mfa-jobs", "mailer".
const char *
    pst_catalogue_service_name (pst_service_id_t service);

//  The system APIs, whose scopes the catalogue defines
typedef enum {
    PST_SYSTEM_API_MGMT,        //  https://{domain}/api/v2/
    PST_SYSTEM_API_MFA,         //  https://{domain}/mfa/
    PST_SYSTEM_API_USERINFO     //  https://{domain}/userinfo: OpenID Connect's scopes,
                                //  which any user token may hold (no resource server)
} pst_system_api_t;

//  The scopes a system API defines, ended by NULL.
const char *const *
    pst_catalogue_scopes (pst_system_api_t api);

//  What every request gets before its handler: the op's scope (any word of
//  it, when the row names several), then its params,
//  in the order the row lists them. 0 when the request may go on, else -1
//  after failing reply with the op's api's error (insufficient_scope;
//  invalid_request "Missing required parameter: x"; bad_request "Payload
//  validation error: ...").
int
    pst_catalogue_check (const pst_op_def_t *op, const pst_msg_t *request, pst_msg_t *reply);

//  The params part of that check, for a table of its own inside an operation
//  (token.grant's grants): params in the grammar above, errors in api's words,
//  name in the text of a malformed params string. 0, or -1 after failing reply.
int
    pst_catalogue_check_params (const char *name, pst_api_t api, const char *params,
                                const pst_msg_t *request, pst_msg_t *reply);

//  0 when a params string follows the grammar above, -1 if not (for tests).
int
    pst_catalogue_params_valid (const char *params);

//  Expands to its trailing arguments when service is mine, to nothing if not: a
//  service keeps its own rows of pst_ops.def, e.g. with
//      #define PST_OP(service, name, handler, ...) PST_WHEN (AUTHN, service, { name, handler },)
#define PST_WHEN(mine, service, ...)    PST_WHEN_##mine##_##service (__VA_ARGS__)
#define PST_WHEN_AUTHN_AUTHN(...)       __VA_ARGS__
#define PST_WHEN_AUTHN_MFA(...)
#define PST_WHEN_AUTHN_MFA_JOBS(...)
#define PST_WHEN_AUTHN_MAILER(...)
#define PST_WHEN_MFA_AUTHN(...)
#define PST_WHEN_MFA_MFA(...)           __VA_ARGS__
#define PST_WHEN_MFA_MFA_JOBS(...)
#define PST_WHEN_MFA_MAILER(...)
#define PST_WHEN_MFA_JOBS_AUTHN(...)
#define PST_WHEN_MFA_JOBS_MFA(...)
#define PST_WHEN_MFA_JOBS_MFA_JOBS(...) __VA_ARGS__
#define PST_WHEN_MFA_JOBS_MAILER(...)
#define PST_WHEN_MAILER_AUTHN(...)
#define PST_WHEN_MAILER_MFA(...)
#define PST_WHEN_MAILER_MFA_JOBS(...)
#define PST_WHEN_MAILER_MAILER(...)     __VA_ARGS__

#endif
