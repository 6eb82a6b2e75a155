/*  mfa_authenticators - seeing and removing a user's authenticators.

    Two audiences for the same rows. The user, through the MFA API (contract §5):
    authenticators.list with an mfa_token or an /mfa/ access token (the user is
    the token's sub), authenticators.delete with an /mfa/ access token only. An
    administrator, through the Management API (contract §6): the authentication
    methods of the user named by the path id, their deletion (one or all, the
    "reset a user's MFA" path) and a new recovery code.

    Removing the user's last active second factor removes the rest of the
    enrolment (recovery code, unconfirmed authenticators) with it, so the next
    sign-in enrols afresh. Handlers have the pst_handler_fn shape; worker is an
    mfa_worker_t. The operation catalogue (common/pst_ops.def) runs the deletions and the
    regeneration once per request id.
*/
#ifndef MFA_AUTHENTICATORS_H_INCLUDED
#define MFA_AUTHENTICATORS_H_INCLUDED

#include "mfa_store.h"
#include "pst_bus.h"

//  The name an email authenticator shows in the MFA API: the first two
//  characters of the local part (one when it has fewer than four), "*****",
//  then "@" and the domain; "*****" alone for anything that is not a valid
//  address. out gets at most size - 1 characters.
void
    mfa_authenticators_mask_email (const char *email, char *out, size_t size);

//  Inside a transaction: may an enrolled user (an access token with enroll)
//  add an authenticator of type? 0, or -1 after failing reply: only a user with
//  an active second factor, and one active authenticator of each kind.
int
    mfa_authenticators_further_allowed (mfa_store_t *store, pst_msg_t *reply,
                                        const char *user_id, const char *type);

//  Inside an association's transaction: until enrolment completes the user has
//  seen no recovery code that works, so when the recovery-code factor is on a
//  new code replaces any earlier one, with an inactive recovery-code
//  authenticator that the first verified code activates (S12). *code_p gets
//  the code (caller frees), or NULL when the factor is off. 0 or -1.
int
    mfa_authenticators_recovery_prepare (mfa_store_t *store, const char *user_id, int64_t now,
                                         char **code_p);

//  authenticators.list: mfa_token, or caller with read:authenticators.
//  result [{id, authenticator_type, oob_channel?, name?, active}]
int
    mfa_authenticators_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  authenticators.delete: id; the caller (remove:authenticators) is the user.
int
    mfa_authenticators_delete (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  authentication_methods.list: id = user id. result [{id, type, confirmed,
//  email?, created_at}]
int
    mfa_authenticators_methods_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);
//  enrollments.list: id = user id. Auth0's Guardian enrollments, the email and
//  otp authenticators: [{id, status, type, auth_method, identifier?, enrolled_at}]
int
    mfa_authenticators_enrollments_list (void *worker, const pst_msg_t *request,
                                         pst_msg_t *reply);
//  enrollments.delete: id = an enrollment's id, whoever's it is.
int
    mfa_authenticators_enrollments_delete (void *worker, const pst_msg_t *request,
                                           pst_msg_t *reply);
//  authentication_methods.delete: id = user id, sub_id = method id.
int
    mfa_authenticators_methods_delete (void *worker, const pst_msg_t *request,
                                       pst_msg_t *reply);
//  authentication_methods.delete_all: id = user id.
int
    mfa_authenticators_methods_delete_all (void *worker, const pst_msg_t *request,
                                           pst_msg_t *reply);
//  recovery_code.regenerate: id = user id. {"recovery_code"}
int
    mfa_authenticators_recovery_regenerate (void *worker, const pst_msg_t *request,
                                            pst_msg_t *reply);

#endif
