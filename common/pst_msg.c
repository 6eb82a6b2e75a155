/*  pst_msg - the request/reply envelope: its constructors, accessors and
    error state.

    One of the two files of pst_msg (pst_msg.h); the wire form is in
    pst_msg_codec.c, and both share the struct through pst_msg_internal.h.
*/
#include "pst_msg_internal.h"
#include "pst_clock.h"
#include "pst_scope.h"
#include <assert.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


//  --------------------------------------------------------------------------
//  Small helpers

//  The wall clock as the deadline on the wire is written
static uint64_t
s_now_ms (void)
{
    return (uint64_t) pst_clock_wall_ms ();
}

int
pst_msg_valid_op (const char *op, size_t len)
{
    if (len == 0 || len > PST_MSG_OP_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = op [i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

//  Empty means absent, so that "" can never pass for an identity.
static void
s_set_string (char **field_p, const char *value)
{
    free (*field_p);
    *field_p = (value && *value)? strdup (value): NULL;
}

int
pst_msg_valid_utf8 (const char *text, size_t len)
{
    json_t *probe = json_stringn (text, len);
    json_decref (probe);
    return probe != NULL;
}


//  --------------------------------------------------------------------------
//  Constructors, destructor, accessors

pst_msg_t *
pst_msg_new_request (const char *op, int timeout_ms)
{
    if (!op || !pst_msg_valid_op (op, strlen (op)))
        return NULL;
    if (sodium_init () < 0)
        return NULL;
    pst_msg_t *self = (pst_msg_t *) calloc (1, sizeof (pst_msg_t));
    if (!self)
        return NULL;
    self->body = json_object ();
    if (!self->body) {
        free (self);
        return NULL;
    }
    unsigned char raw [PST_MSG_ID_LEN / 2];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (self->id, sizeof self->id, raw, sizeof raw);
    strcpy (self->op, op);
    uint64_t timeout = (uint64_t) (timeout_ms > 0? timeout_ms: 0);
    self->deadline = s_now_ms () + timeout;
    self->mono_deadline = pst_clock_mono_ms () + (int64_t) timeout;
    return self;
}

pst_msg_t *
pst_msg_new_reply (const pst_msg_t *request)
{
    assert (request);
    pst_msg_t *self = (pst_msg_t *) calloc (1, sizeof (pst_msg_t));
    if (!self)
        return NULL;
    self->body = json_object ();
    if (!self->body) {
        free (self);
        return NULL;
    }
    memcpy (self->id, request->id, sizeof self->id);
    memcpy (self->op, request->op, sizeof self->op);
    self->deadline = request->deadline;
    self->mono_deadline = request->mono_deadline;
    self->is_reply = 1;
    return self;
}

pst_msg_t *
pst_msg_new_forward (const pst_msg_t *request)
{
    assert (request);
    if (request->is_reply)
        return NULL;
    pst_msg_t *self = (pst_msg_t *) calloc (1, sizeof (pst_msg_t));
    if (!self)
        return NULL;
    self->body = json_deep_copy (request->body);
    if (!self->body) {
        free (self);
        return NULL;
    }
    memcpy (self->id, request->id, sizeof self->id);
    memcpy (self->op, request->op, sizeof self->op);
    self->deadline = request->deadline;
    self->mono_deadline = request->mono_deadline;
    s_set_string (&self->caller, request->caller);
    s_set_string (&self->scopes, request->scopes);
    s_set_string (&self->caller_client, request->caller_client);
    s_set_string (&self->client_ip, request->client_ip);
    if ((request->caller && !self->caller) || (request->scopes && !self->scopes)
    ||  (request->caller_client && !self->caller_client)
    ||  (request->client_ip && !self->client_ip)) {
        pst_msg_destroy (&self);
        return NULL;
    }
    return self;
}

void
pst_msg_destroy (pst_msg_t **self_p)
{
    assert (self_p);
    pst_msg_t *self = *self_p;
    if (!self)
        return;
    free (self->caller);
    free (self->scopes);
    free (self->caller_client);
    free (self->client_ip);
    free (self->error);
    free (self->error_text);
    json_decref (self->body);
    free (self);
    *self_p = NULL;
}

const char *
pst_msg_id (const pst_msg_t *self)
{
    assert (self);
    return self->id;
}

const char *
pst_msg_op (const pst_msg_t *self)
{
    assert (self);
    return self->op;
}

uint64_t
pst_msg_deadline (const pst_msg_t *self)
{
    assert (self);
    return self->deadline;
}

void
pst_msg_set_deadline (pst_msg_t *self, uint64_t deadline_ms)
{
    assert (self);
    self->deadline = deadline_ms;
    pst_msg_anchor_deadline (self);
}

void
pst_msg_anchor_deadline (pst_msg_t *self)
{
    uint64_t now = s_now_ms ();
    uint64_t left = self->deadline > now? self->deadline - now: 0;
    int64_t mono = pst_clock_mono_ms ();
    self->mono_deadline = left >= (uint64_t) (INT64_MAX - mono)? INT64_MAX: mono + (int64_t) left;
}

void
pst_msg_cap_deadline (pst_msg_t *self, const pst_msg_t *limit)
{
    assert (self);
    assert (limit);
    if (limit->deadline < self->deadline)
        self->deadline = limit->deadline;
    if (limit->mono_deadline < self->mono_deadline)
        self->mono_deadline = limit->mono_deadline;
}

void
pst_msg_cap_timeout (pst_msg_t *self, int timeout_ms)
{
    assert (self);
    uint64_t timeout = (uint64_t) (timeout_ms > 0? timeout_ms: 0);
    uint64_t deadline = s_now_ms () + timeout;
    int64_t mono_deadline = pst_clock_mono_ms () + (int64_t) timeout;
    if (deadline < self->deadline)
        self->deadline = deadline;
    if (mono_deadline < self->mono_deadline)
        self->mono_deadline = mono_deadline;
}

//  The deadline crosses processes and hosts, so it is Unix ms; but a wall
//  clock stepped back would stretch the wait by as much. The time left is
//  therefore also bounded by the monotonic moment fixed when it was set.
int
pst_msg_remaining_ms (const pst_msg_t *self)
{
    assert (self);
    uint64_t now = s_now_ms ();
    if (self->deadline <= now)
        return 0;
    uint64_t left = self->deadline - now;
    int64_t mono_left = self->mono_deadline - pst_clock_mono_ms ();
    if (mono_left <= 0)
        return 0;
    if ((uint64_t) mono_left < left)
        left = (uint64_t) mono_left;
    return left > INT_MAX? INT_MAX: (int) left;
}

const char *
pst_msg_caller (const pst_msg_t *self)
{
    assert (self);
    return self->caller;
}

const char *
pst_msg_scopes (const pst_msg_t *self)
{
    assert (self);
    return self->scopes;
}

const char *
pst_msg_caller_client (const pst_msg_t *self)
{
    assert (self);
    return self->caller_client;
}

const char *
pst_msg_client_ip (const pst_msg_t *self)
{
    assert (self);
    return self->client_ip;
}

void
pst_msg_set_caller (pst_msg_t *self, const char *caller, const char *scopes)
{
    assert (self);
    s_set_string (&self->caller, caller);
    s_set_string (&self->scopes, scopes);
}

void
pst_msg_set_caller_client (pst_msg_t *self, const char *client_id)
{
    assert (self);
    s_set_string (&self->caller_client, client_id);
}

void
pst_msg_set_client_ip (pst_msg_t *self, const char *client_ip)
{
    assert (self);
    s_set_string (&self->client_ip, client_ip);
}

int
pst_msg_has_scope (const pst_msg_t *self, const char *scope)
{
    assert (self);
    return pst_scope_has (self->scopes, scope);
}

int
pst_msg_is_error (const pst_msg_t *self)
{
    assert (self);
    return self->is_error;
}

const char *
pst_msg_error (const pst_msg_t *self)
{
    assert (self);
    return self->is_error? self->error: NULL;
}

const char *
pst_msg_error_text (const pst_msg_t *self)
{
    assert (self);
    return self->is_error? self->error_text: NULL;
}

//  Cutting a string at a byte limit may split a UTF-8 sequence, which the
//  decoder would then refuse: back off to the start of the cut character.
static void
s_truncate_utf8 (char *text, size_t limit)
{
    size_t len = strlen (text);
    if (len <= limit)
        return;
    size_t cut = limit;
    while (cut > 0 && ((unsigned char) text [cut] & 0xC0) == 0x80)
        cut--;
    text [cut] = 0;
}

int
pst_msg_fail (pst_msg_t *self, const char *code, const char *format, ...)
{
    assert (self);
    assert (code && *code && strlen (code) <= PST_MSG_ERROR_MAX);
    assert (format);
    char text [PST_MSG_TEXT_MAX * 2];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    s_truncate_utf8 (text, PST_MSG_TEXT_MAX);
    //  Formatted values may carry bytes that are not text; a reply that the
    //  decoder refuses would be lost, so keep the code and drop the text.
    if (!pst_msg_valid_utf8 (text, strlen (text)))
        snprintf (text, sizeof text, "%s", code);

    self->is_error = 1;
    free (self->error);
    self->error = strdup (code);
    free (self->error_text);
    self->error_text = strdup (text);
    return -1;
}

json_t *
pst_msg_body (const pst_msg_t *self)
{
    assert (self);
    return self->body;
}

void
pst_msg_set_body (pst_msg_t *self, json_t **body_p)
{
    assert (self);
    assert (body_p && json_is_object (*body_p));
    json_decref (self->body);
    self->body = *body_p;
    *body_p = NULL;
}

const char *
pst_msg_get_str (const pst_msg_t *self, const char *key)
{
    assert (self);
    return json_string_value (json_object_get (self->body, key));
}

long long
pst_msg_get_int (const pst_msg_t *self, const char *key, long long dflt)
{
    assert (self);
    json_t *value = json_object_get (self->body, key);
    return json_is_integer (value)? (long long) json_integer_value (value): dflt;
}
