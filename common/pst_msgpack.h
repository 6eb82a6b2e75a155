/*  pst_msgpack - the bus's msgpack, read and written in JSON's data model.

    The envelope codec (pst_msg) is built on it: the bounded pre-scan that runs
    before msgpack-c sees a buffer, msgpack objects to jansson values, and jansson
    values to a msgpack packer. The limits are the envelope's: PST_MSG_MAX_SIZE
    bytes, PST_MSG_MAX_DEPTH levels of nesting (pst_msg.h).
*/
#ifndef PST_MSGPACK_H_INCLUDED
#define PST_MSGPACK_H_INCLUDED

#include "pst_msg.h"
#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

//  0 when the buffer is one well-formed msgpack object with no trailing bytes,
//  at most PST_MSG_MAX_SIZE bytes, nesting ≤ PST_MSG_MAX_DEPTH and every declared
//  count honest (it fits in the bytes that remain); PST_MSG_MALFORMED if not.
//  Allocates nothing. bin, ext and the reserved 0xc1 are refused.
int
    pst_msgpack_prescan (const uint8_t *data, size_t size);

//  The bytes of str, never NULL (msgpack-c may hand out an empty str with a NULL
//  or stale pointer).
const char *
    pst_msgpack_bytes (const msgpack_object_str *str);

//  str as a new JSON string; NULL when it holds invalid UTF-8 or a NUL byte.
json_t *
    pst_msgpack_string (const msgpack_object_str *str);

//  object as a new JSON value; NULL when it is not in JSON's data model: bin,
//  ext, a map key that is not a string or repeats, a string refused as by
//  pst_msgpack_string, an integer above INT64_MAX, a NaN or an infinity. Depth
//  and counts are the pre-scan's to bound.
json_t *
    pst_msgpack_to_json (const msgpack_object *object);

//  Packs len bytes of text as a str; -1 when it holds a NUL byte or packing fails.
int
    pst_msgpack_pack_str (msgpack_packer *packer, const char *text, size_t len);

//  Packs value, which sits at nesting level depth on the wire (the top level is
//  1): -1 when an array or object would nest deeper than PST_MSG_MAX_DEPTH, a
//  string or key holds a NUL byte, or packing fails.
int
    pst_msgpack_pack_json (msgpack_packer *packer, const json_t *value, int depth);

#endif
