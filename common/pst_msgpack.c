/*  pst_msgpack - the bus's msgpack, read and written in JSON's data model.

    The pre-scan walks a buffer before msgpack-c sees it, without allocating,
    because msgpack-c allocates from the sizes a buffer declares. Reading refuses
    what JSON cannot hold (bin, ext, keys that are not strings or repeat, invalid
    UTF-8, an embedded NUL, an integer beyond int64); writing refuses what reading
    would, so a sender learns about a bad value at once. The limits are those of
    the envelope (pst_msg.h).
*/
#include "pst_msgpack.h"
#include <string.h>

//  Body integers are json_int_t and travel as msgpack int64
_Static_assert (sizeof (json_int_t) == sizeof (int64_t), "json_int_t must be 64 bits");

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
pst_msgpack_prescan (const uint8_t *data, size_t size)
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
const char *
pst_msgpack_bytes (const msgpack_object_str *str)
{
    return str->size? str->ptr: "";
}

//  Bus strings are C strings in every service, so an embedded NUL could make
//  two different values compare equal: refuse it, as jansson does for JSON.
json_t *
pst_msgpack_string (const msgpack_object_str *str)
{
    const char *bytes = pst_msgpack_bytes (str);
    if (memchr (bytes, 0, str->size))
        return NULL;
    return json_stringn (bytes, str->size);         //  NULL on invalid UTF-8
}

//  Adds one map entry to object; -1 if the key is not a unique, valid string
//  or the value is not in JSON's data model.
static int
s_object_add (json_t *object, const msgpack_object_kv *entry)
{
    if (entry->key.type != MSGPACK_OBJECT_STR)
        return -1;
    const char *name = pst_msgpack_bytes (&entry->key.via.str);
    size_t name_len = entry->key.via.str.size;
    if (memchr (name, 0, name_len) || json_object_getn (object, name, name_len))
        return -1;
    json_t *value = pst_msgpack_to_json (&entry->val);
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
        if (json_array_append_new (result, pst_msgpack_to_json (&array->ptr [i]))) {
            json_decref (result);                   //  append_new refuses NULL
            result = NULL;
        }
    return result;
}

json_t *
pst_msgpack_to_json (const msgpack_object *object)
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
            return pst_msgpack_string (&object->via.str);
        case MSGPACK_OBJECT_ARRAY:
            return s_array_from (&object->via.array);
        case MSGPACK_OBJECT_MAP:
            return s_object_from (&object->via.map);
        default:
            return NULL;                            //  bin, ext
    }
}


//  --------------------------------------------------------------------------
//  JSON -> msgpack

int
pst_msgpack_pack_str (msgpack_packer *packer, const char *text, size_t len)
{
    //  What the decoder would refuse must not leave this process
    if (memchr (text, 0, len))
        return -1;
    if (msgpack_pack_str (packer, len) || msgpack_pack_str_body (packer, text, len))
        return -1;
    return 0;
}

int
pst_msgpack_pack_json (msgpack_packer *packer, const json_t *value, int depth)
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
            return pst_msgpack_pack_str (packer, json_string_value (value),
                                         json_string_length (value));
        case JSON_ARRAY: {
            if (depth > PST_MSG_MAX_DEPTH
            ||  msgpack_pack_array (packer, json_array_size (value)))
                return -1;
            size_t index;
            json_t *item;
            json_array_foreach (value, index, item)
                if (pst_msgpack_pack_json (packer, item, depth + 1))
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
                if (pst_msgpack_pack_str (packer, key, key_len)
                ||  pst_msgpack_pack_json (packer, item, depth + 1))
                    return -1;
            return 0;
        }
    }
    return -1;
}
