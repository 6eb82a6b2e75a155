#include "authn_oidc.h"
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
