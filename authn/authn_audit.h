/*  authn_audit - authn's audit log: what happened at each sign-in and token
    exchange, as Auth0's log event codes (s, fp, fu, limit_wc, seccft,
    seoobft, seotpft, sercft, sertft and their failures), kept in authn.db's
    audit table and read through the Management API's logs (authn_logs).

    Recording is cheap and never waits for the database: a row is copied into
    a bounded queue that one writer thread empties, a batch per transaction
    (at most every AUTHN_AUDIT_FLUSH_MS, one commit however many sign-ins it
    holds). A crash loses at most the rows of that interval, and a full queue
    (AUTHN_AUDIT_QUEUE_MAX, a database that stopped) drops rows, counted in
    the process log, rather than slowing sign-ins. The same thread deletes
    rows older than POSTERN_AUDIT_RETENTION_DAYS, a batch at a time.

    Never a secret in a row: no password, token, code, or client secret.
*/
#ifndef AUTHN_AUDIT_H_INCLUDED
#define AUTHN_AUDIT_H_INCLUDED

#include "authn_config.h"
#include "authn_store.h"
#include "pst_msg.h"

#define AUTHN_AUDIT_FLUSH_MS    100
#define AUTHN_AUDIT_QUEUE_MAX   10000

typedef struct _authn_audit_t authn_audit_t;

//  Opens its own store connection and starts the writer; NULL on failure.
authn_audit_t *
    authn_audit_new (const authn_config_t *config);
//  Writes what is queued, then stops.
void
    authn_audit_destroy (authn_audit_t **self_p);

//  Queues a copy of row (created_at: when it happened).
void
    authn_audit_record (authn_audit_t *self, const authn_audit_row_t *row);
//  Waits (at most a second) until every row recorded before the call is
//  written, so that a read that follows sees them. 0, or -1 when it timed out.
int
    authn_audit_flush (authn_audit_t *self);

//  What a grant's handler knows of its outcome that the reply does not say
typedef struct {
    const char *type;           //  NULL: the grant's own success or failure code
    char user_id [257];         //  "" when unknown
    char user_name [257];
    char client_id [257];       //  "" : the one the request names
} authn_audit_note_t;

//  Records the outcome of a token.grant: the grant's code (password: s or f,
//  client_credentials: seccft or feccft, the MFA grants seoobft, seotpft,
//  sercft or their failures, refresh_token sertft or fertft), unless note
//  names another; limit_wc for a throttled sign-in; nothing for an
//  mfa_required answer (mfa audits gd_start_auth) or an unknown grant.
void
    authn_audit_grant (authn_audit_t *self, const pst_msg_t *request, const pst_msg_t *reply,
                       const char *grant_type, const authn_audit_note_t *note, int64_t now_ms);

#endif
