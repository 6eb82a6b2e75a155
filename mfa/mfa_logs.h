/*  mfa_logs - mfa's half of the Management API's log events: its audit rows
    (the second factor's events) as pst_logs filters them, for authn, which
    owns the routes and merges them with its own (authn_logs).
*/
#ifndef MFA_LOGS_H_INCLUDED
#define MFA_LOGS_H_INCLUDED

#include "pst_msg.h"

//  logs.list: {rows, total} for a body pst_logs_request made.
int
    mfa_logs_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
