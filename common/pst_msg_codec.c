/*  pst_msg_codec - the envelope's wire form: one msgpack map per frame.

    Decoding pre-scans the buffer (pst_msgpack), unpacks it and fills a message
    field by field from a table of envelope keys. The encoder refuses anything
    the decoder would refuse (limits, depth, size), so a sender learns about a
    bad message at once instead of seeing it silently dropped.

    One of the two files of pst_msg (pst_msg.h); pst_msg.c is the other.
*/
#include "pst_msg_internal.h"
#include "pst_msgpack.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>


//  --------------------------------------------------------------------------
//  Small helpers

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

//  A C string goes on the bus only when the decoder will take it back.
static int
s_fits (const char *value, size_t limit)
{
    return value == NULL
        || (strlen (value) <= limit && pst_msg_valid_utf8 (value, strlen (value)));
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
    json_t *text = pst_msgpack_string (&value->via.str);
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
    ||  !pst_msg_valid_op (value->via.str.ptr, value->via.str.size))
        return -1;
    memcpy (self->op, value->via.str.ptr, value->via.str.size);
    self->op [value->via.str.size] = 0;
    return 0;
}

static int
s_field_dl (pst_msg_t *self, const msgpack_object *value)
{
    if (s_uint (value, &self->deadline))
        return -1;
    pst_msg_anchor_deadline (self);
    return 0;
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
    return s_optional (&self->caller, value, PST_MSG_CALLER_MAX);
}

static int
s_field_scp (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->scopes, value, PST_MSG_SCOPES_MAX);
}

static int
s_field_azp (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->caller_client, value, PST_MSG_CALLER_MAX);
}

static int
s_field_ip (pst_msg_t *self, const msgpack_object *value)
{
    return s_optional (&self->client_ip, value, PST_MSG_CLIENT_IP_MAX);
}

static int
s_field_err (pst_msg_t *self, const msgpack_object *value)
{
    self->error = s_text (value, 1, PST_MSG_ERROR_MAX);
    return self->error? 0: -1;
}

//  Unlike an identity, an empty error text is still a text
static int
s_field_msg (pst_msg_t *self, const msgpack_object *value)
{
    self->error_text = s_text (value, 0, PST_MSG_TEXT_MAX);
    return self->error_text? 0: -1;
}

static int
s_field_body (pst_msg_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_MAP)
        return -1;
    json_t *body = pst_msgpack_to_json (value);
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


//  --------------------------------------------------------------------------
//  Decoding

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
        const char *name = pst_msgpack_bytes (&key->via.str);
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

int
pst_msg_prescan (const uint8_t *data, size_t size)
{
    return pst_msgpack_prescan (data, size);
}


//  --------------------------------------------------------------------------
//  Encoding

static int
s_pack_cstr (msgpack_packer *packer, const char *text)
{
    return pst_msgpack_pack_str (packer, text, strlen (text));
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
    if (s_pack_cstr (packer, "body") || pst_msgpack_pack_json (packer, self->body, 2))
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
    if (!s_fits (self->caller, PST_MSG_CALLER_MAX)
    ||  !s_fits (self->scopes, PST_MSG_SCOPES_MAX)
    ||  !s_fits (self->caller_client, PST_MSG_CALLER_MAX)
    ||  !s_fits (self->client_ip, PST_MSG_CLIENT_IP_MAX)
    ||  (self->is_error && (!self->error || !*self->error
                            || !s_fits (self->error, PST_MSG_ERROR_MAX)
                            || !s_fits (self->error_text, PST_MSG_TEXT_MAX))))
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
