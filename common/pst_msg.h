/*  pst_msg - the request/reply envelope every service speaks, and its msgpack codec.

    One ZeroMQ frame holds one msgpack map (see docs/protocol.md for the grammar):
      v    uint      protocol version, 1
      id   str(32)   request id, 32 lowercase hex chars; a reply repeats its request's id
      op   str(≤64)  operation name, e.g. "token.grant"
      dl   uint      deadline, Unix time in milliseconds; work past it is wasted
      sub  str?      caller identity (user id or client id), set by the gateway
      scp  str?      caller's scopes, space separated
      azp  str?      the client the caller's access token was issued to, for audit
      ip   str?      remote address of the HTTP client, for audit
      st   uint      0 request or success, 1 error (replies only)
      err  str?      error code from pst_error.h when st = 1
      msg  str?      human readable error text
      body map       operation arguments or results; values are nil, bool, int,
                     float, str, array or map with str keys (JSON's data model)

    Decoding first runs a bounded, non-allocating pre-scan (pst_msg_prescan): every
    declared container count must fit in the bytes that remain and nesting must stay
    within PST_MSG_MAX_DEPTH, because msgpack-c pre-allocates from declared sizes.
*/
#ifndef PST_MSG_H_INCLUDED
#define PST_MSG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define PST_MSG_VERSION     1
#define PST_MSG_MAX_SIZE    (256 * 1024)    //  also ZMQ_MAXMSGSIZE on every bus socket
#define PST_MSG_MAX_DEPTH   8
#define PST_MSG_ID_LEN      32
#define PST_MSG_OP_MAX      64

//  Codec results, as in zproto: 0 ok, -1 other failure, -2 malformed input
#define PST_MSG_MALFORMED   (-2)

typedef struct _pst_msg_t pst_msg_t;

//  New request with a fresh random id and a deadline timeout_ms from now.
pst_msg_t *
    pst_msg_new_request (const char *op, int timeout_ms);

//  New success reply to request: same id, op and deadline, empty body.
pst_msg_t *
    pst_msg_new_reply (const pst_msg_t *request);

//  New request that carries request on to the next service on the same errand:
//  same id (so the next service's replay of a retried id, S26, still holds), op,
//  deadline, caller, scopes, client address and a copy of the body. NULL for a
//  reply or when out of memory.
pst_msg_t *
    pst_msg_new_forward (const pst_msg_t *request);

void
    pst_msg_destroy (pst_msg_t **self_p);

const char *
    pst_msg_id (const pst_msg_t *self);
const char *
    pst_msg_op (const pst_msg_t *self);
uint64_t
    pst_msg_deadline (const pst_msg_t *self);
void
    pst_msg_set_deadline (pst_msg_t *self, uint64_t deadline_ms);
//  Lowers self's deadline to limit's when limit's comes first, on both clocks:
//  a call made for a request never outlives it.
void
    pst_msg_cap_deadline (pst_msg_t *self, const pst_msg_t *limit);
//  Lowers self's deadline to timeout_ms from now when that comes first.
void
    pst_msg_cap_timeout (pst_msg_t *self, int timeout_ms);
//  Milliseconds left before the deadline, 0 when it has passed. Also counted
//  on the monotonic clock from when the deadline was set, made or decoded, so
//  that a wall clock stepped back does not lengthen it.
int
    pst_msg_remaining_ms (const pst_msg_t *self);

//  Caller identity, scopes, the client the caller's access token was issued
//  to (its azp claim) and client address; NULL when absent.
const char *
    pst_msg_caller (const pst_msg_t *self);
const char *
    pst_msg_scopes (const pst_msg_t *self);
const char *
    pst_msg_caller_client (const pst_msg_t *self);
const char *
    pst_msg_client_ip (const pst_msg_t *self);
void
    pst_msg_set_caller (pst_msg_t *self, const char *caller, const char *scopes);
void
    pst_msg_set_caller_client (pst_msg_t *self, const char *client_id);
void
    pst_msg_set_client_ip (pst_msg_t *self, const char *client_ip);
//  True when scope is one of the space-separated caller scopes.
int
    pst_msg_has_scope (const pst_msg_t *self, const char *scope);

//  Error state of a reply. pst_msg_error is NULL on success.
int
    pst_msg_is_error (const pst_msg_t *self);
const char *
    pst_msg_error (const pst_msg_t *self);
const char *
    pst_msg_error_text (const pst_msg_t *self);
//  Marks the reply failed with code (pst_error.h) and a printf-style text.
//  Returns -1 so handlers can `return pst_msg_fail (...)`.
int
    pst_msg_fail (pst_msg_t *self, const char *code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Body: a JSON object, never NULL. Borrowed; modify it in place.
json_t *
    pst_msg_body (const pst_msg_t *self);
//  Replaces the body; takes ownership of *body_p (must be an object) and nulls it.
void
    pst_msg_set_body (pst_msg_t *self, json_t **body_p);
//  Convenience readers of the body: NULL / default when absent or of another type
//  (an empty string is returned as ""; pst_json_str treats it as absent).
const char *
    pst_msg_get_str (const pst_msg_t *self, const char *key);
long long
    pst_msg_get_int (const pst_msg_t *self, const char *key, long long dflt);

//  Encode into a new buffer the caller frees with free ().
int
    pst_msg_encode (const pst_msg_t *self, uint8_t **data_p, size_t *size_p);
//  Decode a buffer; 0 and *msg_p set, or PST_MSG_MALFORMED.
int
    pst_msg_decode (const uint8_t *data, size_t size, pst_msg_t **msg_p);
//  The bounded pre-scan alone: 0 when the buffer is one well-formed msgpack object
//  with no trailing bytes, nesting ≤ PST_MSG_MAX_DEPTH and honest counts; -2 if not.
int
    pst_msg_prescan (const uint8_t *data, size_t size);

#endif
