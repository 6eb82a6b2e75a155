/*  pst_msg - the request/reply envelope and its msgpack codec.

    The encoder refuses anything the decoder would refuse (limits, depth, size), so a
    sender learns about a bad message at once instead of seeing it silently dropped.
*/
#include "pst_msg.h"
#include "pst_scope.h"
#include <assert.h>
#include <limits.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Byte limits of the optional envelope strings (docs/protocol.md, Envelope)
#define S_CALLER_MAX    256
#define S_SCOPES_MAX    4096
#define S_CLIENT_IP_MAX 64
#define S_ERROR_MAX     64
#define S_TEXT_MAX      1024

//  Body integers are json_int_t and travel as msgpack int64
_Static_assert (sizeof (json_int_t) == sizeof (int64_t), "json_int_t must be 64 bits");

struct _pst_msg_t {
    char id [PST_MSG_ID_LEN + 1];
    char op [PST_MSG_OP_MAX + 1];
    uint64_t deadline;          //  Unix ms
    char *caller;               //  NULL when absent
    char *scopes;
    char *caller_client;        //  client the caller's token was issued to (azp)
    char *client_ip;
    int is_reply;               //  replies carry st on the wire
    int is_error;
    char *error;                //  code from pst_error.h
    char *error_text;
    json_t *body;               //  always an object
};


//  --------------------------------------------------------------------------
//  Small helpers

static uint64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

static int
s_valid_op (const char *op, size_t len)
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

static int
s_valid_id (const char *id, size_t len)
{
    if (len != PST_MSG_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id [i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
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

static int
s_valid_utf8 (const char *text, size_t len)
{
    json_t *probe = json_stringn (text, len);
    json_decref (probe);
    return probe != NULL;
}

//  A C string goes on the bus only when the decoder will take it back.
static int
s_fits (const char *value, size_t limit)
{
    return value == NULL || (strlen (value) <= limit && s_valid_utf8 (value, strlen (value)));
}


//  --------------------------------------------------------------------------
//  Constructors, destructor, accessors

pst_msg_t *
pst_msg_new_request (const char *op, int timeout_ms)
{
    if (!op || !s_valid_op (op, strlen (op)))
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
    self->deadline = s_now_ms () + (uint64_t) (timeout_ms > 0? timeout_ms: 0);
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
}

int
pst_msg_remaining_ms (const pst_msg_t *self)
{
    assert (self);
    uint64_t now = s_now_ms ();
    if (self->deadline <= now)
        return 0;
    uint64_t left = self->deadline - now;
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
    assert (code && *code && strlen (code) <= S_ERROR_MAX);
    assert (format);
    char text [S_TEXT_MAX * 2];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    s_truncate_utf8 (text, S_TEXT_MAX);
    //  Formatted values may carry bytes that are not text; a reply that the
    //  decoder refuses would be lost, so keep the code and drop the text.
    if (!s_valid_utf8 (text, strlen (text)))
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


//  --------------------------------------------------------------------------
//  Pre-scan: the msgpack formats as data. Anything not listed (0xc1, bin, ext,
//  fixext) is refused.

typedef enum {
    S_SCALAR,           //  size = payload bytes after the type byte
    S_STR,              //  size = bytes of the length field, 0 = in the type byte
    S_ARRAY,
    S_MAP
} s_kind_t;

typedef struct {
    uint8_t first;
    uint8_t last;
    s_kind_t kind;
    uint8_t size;
} s_format_t;

static const s_format_t s_formats [] = {
    { 0x00, 0x7f, S_SCALAR, 0 },        //  positive fixint
    { 0x80, 0x8f, S_MAP, 0 },           //  fixmap
    { 0x90, 0x9f, S_ARRAY, 0 },         //  fixarray
    { 0xa0, 0xbf, S_STR, 0 },           //  fixstr
    { 0xc0, 0xc0, S_SCALAR, 0 },        //  nil
    { 0xc2, 0xc3, S_SCALAR, 0 },        //  false, true
    { 0xca, 0xca, S_SCALAR, 4 },        //  float 32
    { 0xcb, 0xcb, S_SCALAR, 8 },        //  float 64
    { 0xcc, 0xcc, S_SCALAR, 1 },        //  uint 8
    { 0xcd, 0xcd, S_SCALAR, 2 },        //  uint 16
    { 0xce, 0xce, S_SCALAR, 4 },        //  uint 32
    { 0xcf, 0xcf, S_SCALAR, 8 },        //  uint 64
    { 0xd0, 0xd0, S_SCALAR, 1 },        //  int 8
    { 0xd1, 0xd1, S_SCALAR, 2 },        //  int 16
    { 0xd2, 0xd2, S_SCALAR, 4 },        //  int 32
    { 0xd3, 0xd3, S_SCALAR, 8 },        //  int 64
    { 0xd9, 0xd9, S_STR, 1 },           //  str 8
    { 0xda, 0xda, S_STR, 2 },           //  str 16
    { 0xdb, 0xdb, S_STR, 4 },           //  str 32
    { 0xdc, 0xdc, S_ARRAY, 2 },         //  array 16
    { 0xdd, 0xdd, S_ARRAY, 4 },         //  array 32
    { 0xde, 0xde, S_MAP, 2 },           //  map 16
    { 0xdf, 0xdf, S_MAP, 4 },           //  map 32
    { 0xe0, 0xff, S_SCALAR, 0 },        //  negative fixint
};

static const s_format_t *
s_format (uint8_t byte)
{
    for (size_t i = 0; i < sizeof s_formats / sizeof s_formats [0]; i++)
        if (byte >= s_formats [i].first && byte <= s_formats [i].last)
            return &s_formats [i];
    return NULL;
}

int
pst_msg_prescan (const uint8_t *data, size_t size)
{
    if (!data || size == 0 || size > PST_MSG_MAX_SIZE)
        return PST_MSG_MALFORMED;

    //  pending [d] = objects still to read in the container open at depth d;
    //  depth 0 is the top level, which holds exactly one object.
    uint64_t pending [PST_MSG_MAX_DEPTH + 1];
    int depth = 0;
    pending [0] = 1;
    size_t pos = 0;

    while (1) {
        while (pending [depth] == 0 && depth > 0)
            depth--;
        if (pending [depth] == 0)
            break;
        if (pos >= size)
            return PST_MSG_MALFORMED;           //  truncated
        uint8_t byte = data [pos++];
        const s_format_t *format = s_format (byte);
        if (!format)
            return PST_MSG_MALFORMED;
        pending [depth]--;

        //  Scalars: just the payload
        if (format->kind == S_SCALAR) {
            if (format->size > size - pos)
                return PST_MSG_MALFORMED;
            pos += format->size;
            continue;
        }
        //  Length or count, inline or big-endian after the type byte
        uint64_t count = byte - format->first;
        if (format->size) {
            if (format->size > size - pos)
                return PST_MSG_MALFORMED;
            count = 0;
            for (int i = 0; i < format->size; i++)
                count = (count << 8) | data [pos++];
        }
        uint64_t left = size - pos;
        if (format->kind == S_STR) {
            if (count > left)
                return PST_MSG_MALFORMED;
            pos += count;
            continue;
        }
        //  Every element takes at least one byte, so an honest count fits
        if (format->kind == S_MAP)
            count *= 2;
        if (count > left)
            return PST_MSG_MALFORMED;
        if (depth + 1 > PST_MSG_MAX_DEPTH)
            return PST_MSG_MALFORMED;
        pending [++depth] = count;
    }
    return pos == size? 0: PST_MSG_MALFORMED;
}


//  --------------------------------------------------------------------------
//  msgpack object -> JSON. The pre-scan has bounded depth and counts already.

//  msgpack-c may hand out an empty str with a NULL or stale pointer: never
//  pass that pointer on, even with a zero length.
static const char *
s_bytes (const msgpack_object_str *str)
{
    return str->size? str->ptr: "";
}

//  Bus strings are C strings in every service, so an embedded NUL could make
//  two different values compare equal: refuse it, as jansson does for JSON.
static json_t *
s_string_from (const msgpack_object_str *str)
{
    const char *bytes = s_bytes (str);
    if (memchr (bytes, 0, str->size))
        return NULL;
    return json_stringn (bytes, str->size);         //  NULL on invalid UTF-8
}

static json_t *s_json_from (const msgpack_object *object);

//  Adds one map entry to object; -1 if the key is not a unique, valid string
//  or the value is not in JSON's data model.
static int
s_object_add (json_t *object, const msgpack_object_kv *entry)
{
    if (entry->key.type != MSGPACK_OBJECT_STR)
        return -1;
    const char *name = s_bytes (&entry->key.via.str);
    size_t name_len = entry->key.via.str.size;
    if (memchr (name, 0, name_len) || json_object_getn (object, name, name_len))
        return -1;
    json_t *value = s_json_from (&entry->val);
    if (!value)
        return -1;
    return json_object_setn_new (object, name, name_len, value);   //  frees value on failure
}

static json_t *
s_object_from (const msgpack_object_map *map)
{
    json_t *object = json_object ();
    for (uint32_t i = 0; object && i < map->size; i++)
        if (s_object_add (object, &map->ptr [i])) {
            json_decref (object);
            object = NULL;
        }
    return object;
}

static json_t *
s_array_from (const msgpack_object_array *array)
{
    json_t *result = json_array ();
    for (uint32_t i = 0; result && i < array->size; i++)
        if (json_array_append_new (result, s_json_from (&array->ptr [i]))) {
            json_decref (result);                   //  append_new refuses NULL
            result = NULL;
        }
    return result;
}

static json_t *
s_json_from (const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean (object->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (object->via.u64 > (uint64_t) INT64_MAX)
                return NULL;
            return json_integer ((json_int_t) object->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer ((json_int_t) object->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return json_real (object->via.f64);     //  NULL for NaN and infinities
        case MSGPACK_OBJECT_STR:
            return s_string_from (&object->via.str);
        case MSGPACK_OBJECT_ARRAY:
            return s_array_from (&object->via.array);
        case MSGPACK_OBJECT_MAP:
            return s_object_from (&object->via.map);
        default:
            return NULL;                            //  bin, ext
    }
}


//  --------------------------------------------------------------------------
//  Envelope fields as data: key, and how to store its value into the message.

typedef int (s_field_fn) (pst_msg_t *self, const msgpack_object *value);

static int
s_uint (const msgpack_object *value, uint64_t *result)
{
    if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    *result = value->via.u64;
    return 0;
}

//  Copies a str of min..limit bytes of valid UTF-8 into a new C string.
static char *
s_text (const msgpack_object *value, size_t min, size_t limit)
{
    if (value->type != MSGPACK_OBJECT_STR
    ||  value->via.str.size < min || value->via.str.size > limit)
        return NULL;
    json_t *text = s_string_from (&value->via.str);
    char *result = text? strdup (json_string_value (text)): NULL;
    json_decref (text);
    return result;
}

static int
s_field_v (pst_msg_t *self, const msgpack_object *value)
{
    (void) self;
    uint64_t version;
    return s_uint (value, &version) == 0 && version == PST_MSG_VERSION? 0: -1;
}

static int
s_field_id (pst_msg_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_STR
    ||  !s_valid_id (value->via.str.ptr, value->via.str.size))
        return -1;
    memcpy (self->id, value->via.str.ptr, PST_MSG_ID_LEN);
    self->id [PST_MSG_ID_LEN] = 0;
    return 0;
}

static int
s_field_op (pst_msg_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_STR
    ||  !s_valid_op (value->via.str.ptr, value->via.str.size))
        return -1;
    memcpy (self->op, value->via.str.ptr, value->via.str.size);
    self->op [value->via.str.size] = 0;
    return 0;
}

static int
s_field_dl (pst_msg_t *self, const msgpack_object *value)
{
    return s_uint (value, &self->deadline);
}

static int
s_field_st (pst_msg_t *self, const msgpack_object *value)
{
    uint64_t status;
    if (s_uint (value, &status) || status > 1)
        return -1;
    self->is_reply = 1;
    self->is_error = (int) status;
    return 0;
}

//  Optional strings: an empty one means absent, as in the setters
static int
s_optional (char **field_p, const msgpack_object *value, size_t limit)
{
    if (value->type == MSGPACK_OBJECT_STR && value->via.str.size == 0)
        return 0;
    *field_p = s_text (value, 1, limit);
    return *field_p? 0: -1;
}

static int
s_field_sub (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->caller, value, S_CALLER_MAX);
}

static int
s_field_scp (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->scopes, value, S_SCOPES_MAX);
}

static int
s_field_azp (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->caller_client, value, S_CALLER_MAX);
}

static int
s_field_ip (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->client_ip, value, S_CLIENT_IP_MAX);
}

static int
s_field_err (pst_msg_t *self, const msgpack_object *value)
{
    self->error = s_text (value, 1, S_ERROR_MAX);
    return self->error? 0: -1;
}

//  Unlike an identity, an empty error text is still a text
static int
s_field_msg (pst_msg_t *self, const msgpack_object *value)
{
    self->error_text = s_text (value, 0, S_TEXT_MAX);
    return self->error_text? 0: -1;
}

static int
s_field_body (pst_msg_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_MAP)
        return -1;
    json_t *body = s_object_from (&value->via.map);
    if (!body)
        return -1;
    json_decref (self->body);
    self->body = body;
    return 0;
}

typedef struct {
    const char *key;
    s_field_fn *decode;
    int mandatory;
} s_field_t;

static const s_field_t s_fields [] = {
    { "v",    s_field_v,    1 },
    { "id",   s_field_id,   1 },
    { "op",   s_field_op,   1 },
    { "dl",   s_field_dl,   1 },
    { "sub",  s_field_sub,  0 },
    { "scp",  s_field_scp,  0 },
    { "azp",  s_field_azp,  0 },
    { "ip",   s_field_ip,   0 },
    { "st",   s_field_st,   0 },
    { "err",  s_field_err,  0 },
    { "msg",  s_field_msg,  0 },
    { "body", s_field_body, 0 },
};
#define S_FIELDS (sizeof s_fields / sizeof s_fields [0])

static const s_field_t *
s_field (const msgpack_object_str *key)
{
    for (size_t i = 0; i < S_FIELDS; i++)
        if (strlen (s_fields [i].key) == key->size
        &&  memcmp (s_fields [i].key, key->ptr, key->size) == 0)
            return &s_fields [i];
    return NULL;
}

//  Fills self from the top-level map; -1 on any violation.
static int
s_envelope_from (pst_msg_t *self, const msgpack_object *top)
{
    if (top->type != MSGPACK_OBJECT_MAP)
        return -1;
    //  Every key, known or not, must be a valid, unique string
    json_t *seen = json_object ();
    if (!seen)
        return -1;
    int rc = 0;
    int found [S_FIELDS] = { 0 };
    const msgpack_object_map *map = &top->via.map;
    for (uint32_t i = 0; rc == 0 && i < map->size; i++) {
        const msgpack_object *key = &map->ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            rc = -1;
            break;
        }
        const char *name = s_bytes (&key->via.str);
        size_t name_len = key->via.str.size;
        if (memchr (name, 0, name_len)
        ||  json_object_getn (seen, name, name_len)
        ||  json_object_setn_new (seen, name, name_len, json_null ())) {
            rc = -1;
            break;
        }
        const s_field_t *field = s_field (&key->via.str);
        if (!field)
            continue;                               //  unknown keys are ignored
        found [field - s_fields] = 1;
        rc = field->decode (self, &map->ptr [i].val);
    }
    json_decref (seen);
    for (size_t i = 0; rc == 0 && i < S_FIELDS; i++)
        if (s_fields [i].mandatory && !found [i])
            rc = -1;
    //  A failed reply must say why; a successful one has no error
    if (rc == 0 && self->is_error && !self->error)
        rc = -1;
    if (rc == 0 && !self->is_error) {
        free (self->error), self->error = NULL;
        free (self->error_text), self->error_text = NULL;
    }
    return rc;
}

int
pst_msg_decode (const uint8_t *data, size_t size, pst_msg_t **msg_p)
{
    assert (msg_p);
    *msg_p = NULL;
    if (pst_msg_prescan (data, size))
        return PST_MSG_MALFORMED;

    pst_msg_t *self = (pst_msg_t *) calloc (1, sizeof (pst_msg_t));
    if (self)
        self->body = json_object ();
    if (!self || !self->body) {
        free (self);
        return -1;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = PST_MSG_MALFORMED;
    if (msgpack_unpack_next (&unpacked, (const char *) data, size, &offset)
            == MSGPACK_UNPACK_SUCCESS
    &&  offset == size
    &&  s_envelope_from (self, &unpacked.data) == 0)
        rc = 0;
    msgpack_unpacked_destroy (&unpacked);
    if (rc)
        pst_msg_destroy (&self);
    *msg_p = self;
    return rc;
}


//  --------------------------------------------------------------------------
//  JSON -> msgpack

static int
s_pack_str (msgpack_packer *packer, const char *text, size_t len)
{
    //  What the decoder would refuse must not leave this process
    if (memchr (text, 0, len))
        return -1;
    if (msgpack_pack_str (packer, len) || msgpack_pack_str_body (packer, text, len))
        return -1;
    return 0;
}

static int
s_pack_cstr (msgpack_packer *packer, const char *text)
{
    return s_pack_str (packer, text, strlen (text));
}

//  depth is the nesting level value would have on the wire.
static int
s_pack_json (msgpack_packer *packer, const json_t *value, int depth)
{
    switch (json_typeof (value)) {
        case JSON_NULL:
            return msgpack_pack_nil (packer);
        case JSON_TRUE:
            return msgpack_pack_true (packer);
        case JSON_FALSE:
            return msgpack_pack_false (packer);
        case JSON_INTEGER:
            return msgpack_pack_int64 (packer, (int64_t) json_integer_value (value));
        case JSON_REAL:
            return msgpack_pack_double (packer, json_real_value (value));
        case JSON_STRING:
            return s_pack_str (packer, json_string_value (value), json_string_length (value));
        case JSON_ARRAY: {
            if (depth > PST_MSG_MAX_DEPTH
            ||  msgpack_pack_array (packer, json_array_size (value)))
                return -1;
            size_t index;
            json_t *item;
            json_array_foreach (value, index, item)
                if (s_pack_json (packer, item, depth + 1))
                    return -1;
            return 0;
        }
        case JSON_OBJECT: {
            if (depth > PST_MSG_MAX_DEPTH
            ||  msgpack_pack_map (packer, json_object_size (value)))
                return -1;
            const char *key;
            size_t key_len;
            json_t *item;
            json_object_keylen_foreach ((json_t *) value, key, key_len, item)
                if (s_pack_str (packer, key, key_len)
                ||  s_pack_json (packer, item, depth + 1))
                    return -1;
            return 0;
        }
    }
    return -1;
}

static int
s_pack_envelope (const pst_msg_t *self, msgpack_packer *packer)
{
    int has_status = self->is_reply || self->is_error;
    size_t keys = 5                                 //  v id op dl body
                + (self->caller != NULL) + (self->scopes != NULL)
                + (self->caller_client != NULL) + (self->client_ip != NULL)
                + (has_status? 1: 0)
                + (self->is_error? 1 + (self->error_text != NULL): 0);
    if (msgpack_pack_map (packer, keys)
    ||  s_pack_cstr (packer, "v") || msgpack_pack_uint64 (packer, PST_MSG_VERSION)
    ||  s_pack_cstr (packer, "id") || s_pack_cstr (packer, self->id)
    ||  s_pack_cstr (packer, "op") || s_pack_cstr (packer, self->op)
    ||  s_pack_cstr (packer, "dl") || msgpack_pack_uint64 (packer, self->deadline))
        return -1;
    if (self->caller
    &&  (s_pack_cstr (packer, "sub") || s_pack_cstr (packer, self->caller)))
        return -1;
    if (self->scopes
    &&  (s_pack_cstr (packer, "scp") || s_pack_cstr (packer, self->scopes)))
        return -1;
    if (self->caller_client
    &&  (s_pack_cstr (packer, "azp") || s_pack_cstr (packer, self->caller_client)))
        return -1;
    if (self->client_ip
    &&  (s_pack_cstr (packer, "ip") || s_pack_cstr (packer, self->client_ip)))
        return -1;
    if (has_status
    &&  (s_pack_cstr (packer, "st") || msgpack_pack_uint64 (packer, self->is_error? 1: 0)))
        return -1;
    if (self->is_error
    &&  (s_pack_cstr (packer, "err") || s_pack_cstr (packer, self->error)))
        return -1;
    if (self->is_error && self->error_text
    &&  (s_pack_cstr (packer, "msg") || s_pack_cstr (packer, self->error_text)))
        return -1;
    //  The envelope map is level 1, so the body map is level 2
    if (s_pack_cstr (packer, "body") || s_pack_json (packer, self->body, 2))
        return -1;
    return 0;
}

int
pst_msg_encode (const pst_msg_t *self, uint8_t **data_p, size_t *size_p)
{
    assert (self);
    assert (data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    if (!s_fits (self->caller, S_CALLER_MAX)
    ||  !s_fits (self->scopes, S_SCOPES_MAX)
    ||  !s_fits (self->caller_client, S_CALLER_MAX)
    ||  !s_fits (self->client_ip, S_CLIENT_IP_MAX)
    ||  (self->is_error && (!self->error || !*self->error
                            || !s_fits (self->error, S_ERROR_MAX)
                            || !s_fits (self->error_text, S_TEXT_MAX))))
        return -1;

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (s_pack_envelope (self, &packer) || buffer.size > PST_MSG_MAX_SIZE) {
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    *size_p = buffer.size;
    *data_p = (uint8_t *) msgpack_sbuffer_release (&buffer);
    return 0;
}
