#include "authn_keys.h"
#include "authn_worker.h"
#include "pst_error.h"
#include "pst_jwt.h"

int
authn_keys_jwks (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    authn_worker_t *self = (authn_worker_t *) worker;
    //  A copy: the reply may outlive this call in another thread
    json_t *body = json_pack ("{s:[o]}", "keys", json_deep_copy (pst_jwt_signer_jwk (self->signer)));
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}
