/*  authn_logs - the Management API's log events: GET /api/v2/logs and
    GET /api/v2/users/{id}/logs. authn owns the routes and merges its own
    audit rows (sign-ins, token exchanges: authn_audit) with mfa's (the
    second factor: mfa's logs.list), by log_id (pst_logs.h): a checkpoint
    (from, take) reads the next rows of both, a search page reads, when it
    starts past the first row, first the log_ids before it (at most
    PST_LOGS_WINDOW of each) to know where each service's part begins, then
    the page's rows alone. Each event gets the client's name and the user's
    email as authn holds them now.
*/
#ifndef AUTHN_LOGS_H_INCLUDED
#define AUTHN_LOGS_H_INCLUDED

#include "pst_msg.h"

int
    authn_logs_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);
int
    authn_logs_user (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
