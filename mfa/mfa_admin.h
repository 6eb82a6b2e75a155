/*  mfa_admin - Management API operations of mfa: guardian factors and policies.
    The op table carries their scopes, so pst_service refuses callers without them.
*/
#ifndef MFA_ADMIN_H_INCLUDED
#define MFA_ADMIN_H_INCLUDED

#include "pst_bus.h"

//  factors.list: result [{name, enabled}]
int
    mfa_admin_factors_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  factors.update: id = factor name, data {enabled: bool}
int
    mfa_admin_factors_update (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  policies.get: result [names]
int
    mfa_admin_policies_get (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  policies.set: data [names]
int
    mfa_admin_policies_set (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
