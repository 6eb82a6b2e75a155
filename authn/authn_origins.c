#include "authn_origins.h"
#include "authn_store.h"
#include "authn_worker.h"
#include "pst_error.h"
#include <stdlib.h>

int
authn_origins_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    json_t *after = json_object_get (pst_msg_body (request), "after");
    if (after && !json_is_string (after))
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST,
                             "Invalid parameter: after must be a string");
    char *last = NULL;
    int more = 0;
    json_t *clients = authn_store_origins (self->store, json_string_value (after),
                                           AUTHN_ORIGINS_PAGE_BYTES, AUTHN_ORIGINS_PAGE,
                                           &last, &more);
    if (!clients)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    json_t *body = json_pack ("{s:o, s:s, s:b}", "clients", clients,
                              "next", last? last: json_string_value (after)? json_string_value (after): "",
                              "more", more);
    free (last);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}
