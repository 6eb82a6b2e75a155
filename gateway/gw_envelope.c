#include "gw_envelope.h"

static json_t *
s_mgmt_body (const gw_match_t *match, json_t *data, json_t *query)
{
    json_t *body = json_object ();
    int ok = body != NULL;
    if (ok && *match->id)
        ok = json_object_set_new (body, "id", json_string (match->id)) == 0;
    if (ok && *match->sub_id)
        ok = json_object_set_new (body, "sub_id", json_string (match->sub_id)) == 0;
    if (ok && data)
        ok = json_object_set (body, "data", data) == 0;
    if (ok && query && json_object_size (query) > 0)
        ok = json_object_set (body, "query", query) == 0;
    if (!ok) {
        json_decref (body);
        body = NULL;
    }
    return body;
}

json_t *
gw_envelope_body (const gw_match_t *match, json_t **params_p, json_t *data, json_t *query)
{
    if (match->route->family != GW_FAMILY_AUTH)
        //  json_string refuses a path capture that is not UTF-8
        return s_mgmt_body (match, data, query);
    json_t *body = *params_p;
    *params_p = NULL;
    //  The path's {id} wins over a body member of that name
    if (body && *match->id && json_object_set_new (body, "id", json_string (match->id))) {
        json_decref (body);
        body = NULL;
    }
    return body;
}

pst_msg_t *
gw_envelope_request (const gw_route_t *route, int timeout_ms, const gw_auth_verdict_t *verdict,
                     const char *client_ip, json_t **body_p)
{
    pst_msg_t *request = pst_msg_new_request (route->op, timeout_ms);
    if (!request) {
        json_decref (*body_p);
        *body_p = NULL;
        return NULL;
    }
    if (verdict->caller)
        pst_msg_set_caller (request, verdict->caller, verdict->scopes);
    pst_msg_set_caller_client (request, verdict->caller_client);
    if (client_ip && *client_ip)
        pst_msg_set_client_ip (request, client_ip);
    pst_msg_set_body (request, body_p);
    json_decref (*body_p);      //  only when set_body refused it
    *body_p = NULL;
    return request;
}
