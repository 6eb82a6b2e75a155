#include "authn_oidc.h"
#include "authn_worker.h"
#include "pst_error.h"
#include "pst_scope.h"
#include <stdlib.h>
#include <string.h>

int
authn_oidc_user_claims (json_t *claims, const authn_user_t *user, const char *scope)
{
    int rc = 0;
    if (pst_scope_has (scope, "profile")) {
        //  Auth0's nickname for a database user: the address up to its '@'
        const char *at = strchr (user->email, '@');
        char *nickname = strndup (user->email, at? (size_t) (at - user->email): strlen (user->email));
        rc |= nickname? 0: -1;
        rc |= json_object_set_new (claims, "nickname", json_string (nickname));
        rc |= json_object_set_new (claims, "name", json_string (user->email));
        if (user->updated_at)
            rc |= json_object_set_new (claims, "updated_at", json_string (user->updated_at));
        free (nickname);
    }
    if (pst_scope_has (scope, "email")) {
        rc |= json_object_set_new (claims, "email", json_string (user->email));
        rc |= json_object_set_new (claims, "email_verified", json_boolean (user->email_verified));
    }
    return rc? -1: 0;
}

int
authn_oidc_userinfo (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    //  The catalogue's row required openid of the caller's scopes: a caller is there
    const char *user_id = pst_msg_caller (request);
    authn_user_t *user = user_id? authn_store_user_by_id (self->store, user_id): NULL;
    if (!user)
        return pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "The user of the access token does not exist");
    json_t *claims = json_pack ("{s:s}", "sub", user->user_id);
    int rc = claims? authn_oidc_user_claims (claims, user, pst_msg_scopes (request)): -1;
    authn_user_destroy (&user);
    if (rc) {
        json_decref (claims);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    }
    pst_msg_set_body (reply, &claims);
    return 0;
}
