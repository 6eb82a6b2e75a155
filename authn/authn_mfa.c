#include "authn_mfa.h"
#include "pst_error.h"
#include "pst_log.h"

pst_msg_t *
authn_mfa_call (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                const char *op, json_t **body_p)
{
    return authn_mfa_call_as (worker, request, reply, op, NULL, body_p);
}

pst_msg_t *
authn_mfa_call_as (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                   const char *op, const char *scope, json_t **body_p)
{
    pst_msg_t *call = pst_msg_new_request (op, worker->config->mfa_timeout_ms);
    //  The admin's own identity, with only the scope this step needs
    if (scope)
        pst_msg_set_caller (call, pst_msg_caller (request)? pst_msg_caller (request): "authn", scope);
    //  never wait longer than our own caller will
    pst_msg_cap_deadline (call, request);
    pst_msg_set_client_ip (call, pst_msg_client_ip (request));
    pst_msg_set_body (call, body_p);
    pst_msg_t *answer = pst_client_call (worker->mfa, call);
    if (!answer) {
        pst_log (PST_LOG_WARN, "mfa_unavailable", "op", op, "request_id", pst_msg_id (request), NULL);
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "Service mfa did not answer in time");
    }
    pst_msg_destroy (&call);
    return answer;
}

int
authn_mfa_forward (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    pst_msg_t *call = pst_msg_new_forward (request);
    if (!call)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_cap_timeout (call, worker->config->mfa_timeout_ms);
    pst_msg_t *answer = pst_client_call (worker->mfa, call);
    pst_msg_destroy (&call);
    if (!answer) {
        pst_log (PST_LOG_WARN, "mfa_unavailable", "op", pst_msg_op (request),
                 "request_id", pst_msg_id (request), NULL);
        return pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "Service mfa did not answer in time");
    }
    int rc = 0;
    if (pst_msg_is_error (answer))
        rc = authn_mfa_relay_error (reply, answer);
    else {
        json_t *body = json_deep_copy (pst_msg_body (answer));
        if (body)
            pst_msg_set_body (reply, &body);
        else
            rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    }
    pst_msg_destroy (&answer);
    return rc;
}

int
authn_mfa_void_client (authn_worker_t *worker, const pst_msg_t *request, const char *client_id)
{
    json_t *body = json_pack ("{s:s}", "client_id", client_id);
    pst_msg_t *scratch = pst_msg_new_reply (request);
    pst_msg_t *answer = body && scratch?
        authn_mfa_call (worker, request, scratch, "tokens.void_client", &body): NULL;
    int rc = answer && !pst_msg_is_error (answer)? 0: -1;
    if (rc)
        pst_log (PST_LOG_WARN, "mfa_tokens_not_voided", "client_id", client_id,
                 "detail", answer? pst_msg_error_text (answer): "mfa did not answer", NULL);
    json_decref (body);
    pst_msg_destroy (&answer);
    pst_msg_destroy (&scratch);
    return rc;
}

int
authn_mfa_relay_error (pst_msg_t *reply, const pst_msg_t *from)
{
    json_t *body = json_deep_copy (pst_msg_body (from));
    pst_msg_set_body (reply, &body);
    return pst_msg_fail (reply, pst_msg_error (from), "%s",
                         pst_msg_error_text (from)? pst_msg_error_text (from): "");
}
