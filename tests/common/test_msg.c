/*  Unit tests of pst_msg: round trips of every value type, the bounded pre-scan,
    every malformed envelope we can think of, the reply/fail helpers, scopes and
    deadlines. Malformed frames are built byte by byte or with msgpack-c directly,
    so they do not depend on the encoder under test.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_msg.h"
#include "pst_error.h"
#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GOOD_ID     "0123456789abcdef0123456789abcdef"

static uint64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

//  --------------------------------------------------------------------------
//  Frame builder: an envelope map written with msgpack-c, so each test can
//  leave out one standard key and append its own pairs.

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
} frame_t;

static void
s_str (frame_t *frame, const char *text)
{
    size_t len = strlen (text);
    msgpack_pack_str (&frame->packer, len);
    msgpack_pack_str_body (&frame->packer, text, len);
}

static void
s_strn (frame_t *frame, const char *text, size_t len)
{
    msgpack_pack_str (&frame->packer, len);
    msgpack_pack_str_body (&frame->packer, text, len);
}

//  Starts a map of the standard keys v, id, op, dl, body minus omit (NULL: none),
//  plus extra pairs the caller writes next. body is an empty map.
static void
s_frame_begin (frame_t *frame, const char *omit, size_t extra)
{
    static const char *keys [] = { "v", "id", "op", "dl", "body" };
    msgpack_sbuffer_init (&frame->buffer);
    msgpack_packer_init (&frame->packer, &frame->buffer, msgpack_sbuffer_write);
    size_t count = 5 + extra - (omit? 1: 0);
    msgpack_pack_map (&frame->packer, count);
    for (size_t i = 0; i < 5; i++) {
        if (omit && strcmp (omit, keys [i]) == 0)
            continue;
        s_str (frame, keys [i]);
        if (i == 0)
            msgpack_pack_uint64 (&frame->packer, 1);
        else
        if (i == 1)
            s_str (frame, GOOD_ID);
        else
        if (i == 2)
            s_str (frame, "token.grant");
        else
        if (i == 3)
            msgpack_pack_uint64 (&frame->packer, s_now_ms () + 5000);
        else
            msgpack_pack_map (&frame->packer, 0);
    }
}

//  Decodes the frame and frees it; returns the decode result.
static int
s_frame_decode (frame_t *frame, pst_msg_t **msg_p)
{
    pst_msg_t *msg = NULL;
    int rc = pst_msg_decode ((const uint8_t *) frame->buffer.data, frame->buffer.size, &msg);
    msgpack_sbuffer_destroy (&frame->buffer);
    if (msg_p)
        *msg_p = msg;
    else
        pst_msg_destroy (&msg);
    return rc;
}

static void
s_assert_malformed (frame_t *frame)
{
    pst_msg_t *msg = (pst_msg_t *) 1;
    assert_int_equal (s_frame_decode (frame, &msg), PST_MSG_MALFORMED);
    assert_null (msg);
}

//  Envelope with one extra key whose value the test writes
static void
s_frame_with (frame_t *frame, const char *key)
{
    s_frame_begin (frame, NULL, 1);
    s_str (frame, key);
}

//  Envelope whose standard key is replaced by the value the test writes
static void
s_frame_replacing (frame_t *frame, const char *key)
{
    s_frame_begin (frame, key, 1);
    s_str (frame, key);
}

static void
s_round_trip (const pst_msg_t *msg, pst_msg_t **copy_p)
{
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal (pst_msg_encode (msg, &data, &size), 0);
    assert_non_null (data);
    assert_true (size > 0);
    assert_int_equal (pst_msg_prescan (data, size), 0);
    assert_int_equal (pst_msg_decode (data, size, copy_p), 0);
    assert_non_null (*copy_p);
    free (data);
}


//  --------------------------------------------------------------------------
//  Round trips

static void
test_round_trip_all_types (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("token.grant", 5000);
    assert_non_null (msg);
    pst_msg_set_caller (msg, "auth0|user-1", "read:users create:clients");
    pst_msg_set_caller_client (msg, "dev_client1");
    pst_msg_set_client_ip (msg, "127.0.0.1");
    json_error_t error;
    json_t *body = json_loads (
        "{\"nil\": null, \"yes\": true, \"no\": false, \"zero\": 0, \"small\": 7,"
        " \"neg\": -33, \"max\": 9223372036854775807, \"min\": -9223372036854775808,"
        " \"u32\": 4294967296, \"pi\": 3.141592653589793, \"tiny\": 1e-300, \"negz\": -0.5,"
        " \"text\": \"h\\u00e9llo \\ud83d\\ude00\", \"empty\": \"\", \"list\": [1, \"a\", [], {}],"
        " \"map\": {\"deep\": {\"er\": [[[true]]]}}, \"emptymap\": {}, \"\": \"empty key\"}",
        0, &error);
    assert_non_null (body);
    json_t *expected = json_deep_copy (body);
    pst_msg_set_body (msg, &body);
    assert_null (body);

    pst_msg_t *copy = NULL;
    s_round_trip (msg, &copy);
    assert_string_equal (pst_msg_id (copy), pst_msg_id (msg));
    assert_string_equal (pst_msg_op (copy), "token.grant");
    assert_int_equal (pst_msg_deadline (copy), pst_msg_deadline (msg));
    assert_string_equal (pst_msg_caller (copy), "auth0|user-1");
    assert_string_equal (pst_msg_scopes (copy), "read:users create:clients");
    assert_string_equal (pst_msg_caller_client (copy), "dev_client1");
    assert_string_equal (pst_msg_client_ip (copy), "127.0.0.1");
    assert_false (pst_msg_is_error (copy));
    assert_null (pst_msg_error (copy));
    assert_null (pst_msg_error_text (copy));
    assert_true (json_equal (pst_msg_body (copy), expected));
    //  Types survive: an integer stays an integer, a real stays a real
    assert_true (json_is_integer (json_object_get (pst_msg_body (copy), "max")));
    assert_true (json_is_real (json_object_get (pst_msg_body (copy), "pi")));
    assert_int_equal (pst_msg_get_int (copy, "min", 0), LLONG_MIN);
    assert_string_equal (pst_msg_get_str (copy, "text"), "h\xc3\xa9llo \xf0\x9f\x98\x80");

    json_decref (expected);
    pst_msg_destroy (&copy);
    pst_msg_destroy (&msg);
    assert_null (msg);
    pst_msg_destroy (&msg);                 //  idempotent
}

static void
test_round_trip_minimal (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("keys.jwks", 100);
    pst_msg_t *copy = NULL;
    s_round_trip (msg, &copy);
    assert_null (pst_msg_caller (copy));
    assert_null (pst_msg_scopes (copy));
    assert_null (pst_msg_caller_client (copy));
    assert_null (pst_msg_client_ip (copy));
    assert_int_equal (json_object_size (pst_msg_body (copy)), 0);
    pst_msg_destroy (&copy);
    pst_msg_destroy (&msg);
}

static void
test_decode_float32_and_small_ints (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 3);
    s_str (&frame, "f");
    msgpack_pack_float (&frame.packer, 0.5f);
    s_str (&frame, "i8");
    msgpack_pack_int8 (&frame.packer, -100);
    s_str (&frame, "u16");
    msgpack_pack_uint16 (&frame.packer, 60000);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    json_t *f = json_object_get (pst_msg_body (msg), "f");
    assert_true (json_is_real (f));
    assert_true (json_real_value (f) == 0.5);
    assert_int_equal (pst_msg_get_int (msg, "i8", 0), -100);
    assert_int_equal (pst_msg_get_int (msg, "u16", 0), 60000);
    pst_msg_destroy (&msg);
}

static void
test_unknown_keys_ignored (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, NULL, 2);
    s_str (&frame, "future");
    msgpack_pack_array (&frame.packer, 2);
    msgpack_pack_int (&frame.packer, 1);
    msgpack_pack_nil (&frame.packer);
    s_str (&frame, "x");
    msgpack_pack_true (&frame.packer);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_string_equal (pst_msg_id (msg), GOOD_ID);
    assert_string_equal (pst_msg_op (msg), "token.grant");
    pst_msg_destroy (&msg);
}

static void
test_empty_strings_first (void **state)
{
    (void) state;
    //  msgpack-c gives an empty str that comes first a NULL pointer
    frame_t frame;
    msgpack_sbuffer_init (&frame.buffer);
    msgpack_packer_init (&frame.packer, &frame.buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&frame.packer, 6);
    s_str (&frame, "");
    s_str (&frame, "");
    s_str (&frame, "v");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_str (&frame, "id");
    s_str (&frame, GOOD_ID);
    s_str (&frame, "op");
    s_str (&frame, "a.b");
    s_str (&frame, "dl");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "");
    s_str (&frame, "");
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_string_equal (pst_msg_get_str (msg, ""), "");
    pst_msg_destroy (&msg);
}

static void
test_empty_caller_is_absent (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("users.list", 100);
    pst_msg_set_caller (msg, "", "");
    pst_msg_set_client_ip (msg, "");
    pst_msg_set_caller_client (msg, "");
    assert_null (pst_msg_caller_client (msg));
    assert_null (pst_msg_caller (msg));
    assert_null (pst_msg_scopes (msg));
    assert_null (pst_msg_client_ip (msg));
    pst_msg_set_caller (msg, "u1", NULL);
    assert_string_equal (pst_msg_caller (msg), "u1");
    assert_null (pst_msg_scopes (msg));
    pst_msg_destroy (&msg);

    //  and on the wire
    frame_t frame;
    s_frame_with (&frame, "sub");
    s_str (&frame, "");
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_null (pst_msg_caller (msg));
    pst_msg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Pre-scan

static int
s_prescan (const char *bytes, size_t size)
{
    return pst_msg_prescan ((const uint8_t *) bytes, size);
}

static void
test_prescan_accepts_well_formed (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xc0", 1), 0);
    assert_int_equal (s_prescan ("\x80", 1), 0);
    assert_int_equal (s_prescan ("\x81\xa1" "a\x92\x01\xcb" "\x40\x09\x21\xfb\x54\x44\x2d\x18", 14), 0);
    assert_int_equal (s_prescan ("\xdc\x00\x02\xc2\xc3", 5), 0);
    assert_int_equal (s_prescan ("\xd9\x03" "abc", 5), 0);
    assert_int_equal (s_prescan ("\xff", 1), 0);
    assert_int_equal (s_prescan ("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9), 0);
}

static void
test_prescan_empty (void **state)
{
    (void) state;
    assert_int_equal (pst_msg_prescan ((const uint8_t *) "", 0), PST_MSG_MALFORMED);
    assert_int_equal (pst_msg_prescan (NULL, 0), PST_MSG_MALFORMED);
    pst_msg_t *msg = (pst_msg_t *) 1;
    assert_int_equal (pst_msg_decode ((const uint8_t *) "", 0, &msg), PST_MSG_MALFORMED);
    assert_null (msg);
}

static void
test_prescan_oversize (void **state)
{
    (void) state;
    //  One honest str that makes the frame a byte too big
    size_t size = PST_MSG_MAX_SIZE + 1;
    uint8_t *data = malloc (size);
    assert_non_null (data);
    memset (data, 'a', size);
    uint32_t len = (uint32_t) (size - 5);
    data [0] = 0xdb;
    data [1] = (uint8_t) (len >> 24);
    data [2] = (uint8_t) (len >> 16);
    data [3] = (uint8_t) (len >> 8);
    data [4] = (uint8_t) len;
    assert_int_equal (pst_msg_prescan (data, size), PST_MSG_MALFORMED);
    //  the same shape one byte smaller is fine
    len--;
    data [4] = (uint8_t) len;
    assert_int_equal (pst_msg_prescan (data, size - 1), 0);
    free (data);
}

static void
test_prescan_map_count_lies (void **state)
{
    (void) state;
    //  map32 declaring 2^32-1 entries in a 10-byte buffer
    const char frame [10] = { (char) 0xdf, (char) 0xff, (char) 0xff, (char) 0xff, (char) 0xff,
                              (char) 0xa1, 'a', (char) 0xc0, (char) 0xa1, 'b' };
    assert_int_equal (s_prescan (frame, sizeof frame), PST_MSG_MALFORMED);
    pst_msg_t *msg = (pst_msg_t *) 1;
    assert_int_equal (pst_msg_decode ((const uint8_t *) frame, sizeof frame, &msg), PST_MSG_MALFORMED);
    assert_null (msg);
    //  a map needs two objects per entry: 3 entries cannot fit in 5 bytes
    assert_int_equal (s_prescan ("\x83\x01\x02\x03\x04\x05", 6), PST_MSG_MALFORMED);
}

static void
test_prescan_array_count_lies (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xdd\xff\xff\xff\xff\x01\x02", 7), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xdc\x00\x03\x01\x02", 5), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\x92\x01", 2), PST_MSG_MALFORMED);
}

static void
s_nested (char *frame, int depth, char innermost)
{
    memset (frame, (char) 0x91, (size_t) depth - 1);
    frame [depth - 1] = innermost;
}

static void
test_prescan_depth_8_ok (void **state)
{
    (void) state;
    char frame [16];
    //  eight arrays, the innermost empty
    s_nested (frame, 8, (char) 0x90);
    assert_int_equal (s_prescan (frame, 8), 0);
    //  eight arrays around a scalar
    memset (frame, (char) 0x91, 8);
    frame [8] = (char) 0xc0;
    assert_int_equal (s_prescan (frame, 9), 0);
}

static void
test_prescan_depth_9 (void **state)
{
    (void) state;
    char frame [16];
    s_nested (frame, 9, (char) 0x90);
    assert_int_equal (s_prescan (frame, 9), PST_MSG_MALFORMED);
    //  maps count too
    const char maps [] = "\x81\xa1" "a" "\x81\xa1" "a" "\x81\xa1" "a" "\x81\xa1" "a"
                         "\x81\xa1" "a" "\x81\xa1" "a" "\x81\xa1" "a" "\x81\xa1" "a" "\x80";
    assert_int_equal (s_prescan (maps, sizeof maps - 1), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan (maps + 3, sizeof maps - 4), 0);
}

static void
test_prescan_deep_envelope_body (void **state)
{
    (void) state;
    //  A body nested 7 deep is depth 8 on the wire; one more is refused
    frame_t frame;
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "a");
    for (int i = 0; i < 6; i++)
        msgpack_pack_array (&frame.packer, 1);
    msgpack_pack_nil (&frame.packer);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    pst_msg_destroy (&msg);

    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "a");
    for (int i = 0; i < 7; i++)
        msgpack_pack_array (&frame.packer, 1);
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);
}

static void
test_prescan_trailing_bytes (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xc0\xc0", 2), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\x80\x00", 2), PST_MSG_MALFORMED);
    //  a whole valid envelope followed by one byte
    frame_t frame;
    s_frame_begin (&frame, NULL, 0);
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);
}

static void
test_prescan_truncated_str (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xd9\x10" "abc", 5), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xa5" "abcd", 5), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xdb\x00\x00\x00\x04" "abc", 8), PST_MSG_MALFORMED);
    //  length field itself cut short
    assert_int_equal (s_prescan ("\xda\x00", 2), PST_MSG_MALFORMED);
}

static void
test_prescan_truncated (void **state)
{
    (void) state;
    //  honest counts, but the second element of the outer array is missing
    assert_int_equal (s_prescan ("\x92\x92\x01\x01", 4), PST_MSG_MALFORMED);
    //  scalars cut short
    assert_int_equal (s_prescan ("\xcb\x00\x00", 3), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xcd\x01", 2), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xd3\x00\x00\x00\x00\x00\x00\x00", 8), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xde\x00", 2), PST_MSG_MALFORMED);
    //  a real envelope cut anywhere
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    uint8_t *data;
    size_t size;
    assert_int_equal (pst_msg_encode (msg, &data, &size), 0);
    for (size_t cut = 0; cut < size; cut++)
        assert_int_equal (pst_msg_prescan (data, cut), PST_MSG_MALFORMED);
    free (data);
    pst_msg_destroy (&msg);
}

static void
test_prescan_bin (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xc4\x01\x00", 3), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xc5\x00\x01\x00", 4), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xc6\x00\x00\x00\x01\x00", 6), PST_MSG_MALFORMED);
    frame_t frame;
    s_frame_with (&frame, "blob");
    msgpack_pack_bin (&frame.packer, 2);
    msgpack_pack_bin_body (&frame.packer, "ab", 2);
    s_assert_malformed (&frame);
}

static void
test_prescan_ext (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xd4\x01\x00", 3), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xd8\x01" "0123456789abcdef", 18), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xc7\x01\x01\x00", 4), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\xc9\x00\x00\x00\x01\x01\x00", 7), PST_MSG_MALFORMED);
    frame_t frame;
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "when");
    msgpack_pack_ext (&frame.packer, 1, -1);
    msgpack_pack_ext_body (&frame.packer, "x", 1);
    s_assert_malformed (&frame);
}

static void
test_prescan_reserved_byte (void **state)
{
    (void) state;
    assert_int_equal (s_prescan ("\xc1", 1), PST_MSG_MALFORMED);
    assert_int_equal (s_prescan ("\x91\xc1", 2), PST_MSG_MALFORMED);
}


//  --------------------------------------------------------------------------
//  Malformed envelopes

static void
test_decode_invalid_utf8 (void **state)
{
    (void) state;
    static const char *bad [] = {
        "\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\x80", NULL
    };
    for (int i = 0; bad [i]; i++) {
        frame_t frame;
        //  in a body value
        s_frame_begin (&frame, "body", 1);
        s_str (&frame, "body");
        msgpack_pack_map (&frame.packer, 1);
        s_str (&frame, "k");
        s_str (&frame, bad [i]);
        s_assert_malformed (&frame);
        //  in a body key
        s_frame_begin (&frame, "body", 1);
        s_str (&frame, "body");
        msgpack_pack_map (&frame.packer, 1);
        s_str (&frame, bad [i]);
        msgpack_pack_nil (&frame.packer);
        s_assert_malformed (&frame);
        //  in an envelope string
        s_frame_with (&frame, "sub");
        s_str (&frame, bad [i]);
        s_assert_malformed (&frame);
        //  in an ignored envelope key
        s_frame_with (&frame, bad [i]);
        msgpack_pack_nil (&frame.packer);
        s_assert_malformed (&frame);
    }
}

static void
test_decode_nul_in_string (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "user");
    s_strn (&frame, "admin\0evil", 10);
    s_assert_malformed (&frame);

    s_frame_with (&frame, "sub");
    s_strn (&frame, "a\0b", 3);
    s_assert_malformed (&frame);
}

static void
test_decode_missing_id (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, "id", 0);
    s_assert_malformed (&frame);
}

static void
test_decode_missing_mandatory (void **state)
{
    (void) state;
    static const char *keys [] = { "v", "op", "dl", NULL };
    for (int i = 0; keys [i]; i++) {
        frame_t frame;
        s_frame_begin (&frame, keys [i], 0);
        s_assert_malformed (&frame);
    }
    //  body is optional: an absent one decodes as {}
    frame_t frame;
    s_frame_begin (&frame, "body", 0);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_true (json_is_object (pst_msg_body (msg)));
    assert_int_equal (json_object_size (pst_msg_body (msg)), 0);
    pst_msg_destroy (&msg);
}

static void
test_decode_wrong_version (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_replacing (&frame, "v");
    msgpack_pack_uint64 (&frame.packer, 2);
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "v");
    msgpack_pack_uint64 (&frame.packer, 0);
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "v");
    s_str (&frame, "1");
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "v");
    msgpack_pack_double (&frame.packer, 1.0);
    s_assert_malformed (&frame);
}

static void
test_decode_bad_id (void **state)
{
    (void) state;
    static const char *bad [] = {
        "0123456789abcdef0123456789abcde",          //  31
        "0123456789abcdef0123456789abcdef0",        //  33
        "0123456789ABCDEF0123456789abcdef",         //  upper case
        "0123456789abcdef0123456789abcdeg",         //  not hex
        "", NULL
    };
    for (int i = 0; bad [i]; i++) {
        frame_t frame;
        s_frame_replacing (&frame, "id");
        s_str (&frame, bad [i]);
        s_assert_malformed (&frame);
    }
    frame_t frame;
    s_frame_replacing (&frame, "id");
    msgpack_pack_uint64 (&frame.packer, 12345);
    s_assert_malformed (&frame);
}

static void
test_decode_bad_op (void **state)
{
    (void) state;
    char long_op [PST_MSG_OP_MAX + 2];
    memset (long_op, 'a', PST_MSG_OP_MAX + 1);
    long_op [PST_MSG_OP_MAX + 1] = 0;
    const char *bad [] = { "", "Token.grant", "token grant", "token-grant", "tok\xc3\xa9n", long_op, NULL };
    for (int i = 0; bad [i]; i++) {
        frame_t frame;
        s_frame_replacing (&frame, "op");
        s_str (&frame, bad [i]);
        s_assert_malformed (&frame);
    }
    //  exactly the maximum is fine
    long_op [PST_MSG_OP_MAX] = 0;
    frame_t frame;
    s_frame_replacing (&frame, "op");
    s_str (&frame, long_op);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_string_equal (pst_msg_op (msg), long_op);
    pst_msg_destroy (&msg);
}

static void
test_decode_bad_deadline (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_replacing (&frame, "dl");
    msgpack_pack_int64 (&frame.packer, -1);
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "dl");
    s_str (&frame, "1700000000000");
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "dl");
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);
    //  any uint is a deadline
    s_frame_replacing (&frame, "dl");
    msgpack_pack_uint64 (&frame.packer, UINT64_MAX);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_true (pst_msg_deadline (msg) == UINT64_MAX);
    pst_msg_destroy (&msg);
}

static void
s_assert_limit (const char *key, size_t limit)
{
    char *text = malloc (limit + 2);
    assert_non_null (text);
    memset (text, 'x', limit + 1);
    text [limit + 1] = 0;
    frame_t frame;
    s_frame_with (&frame, key);
    s_str (&frame, text);
    s_assert_malformed (&frame);

    text [limit] = 0;
    s_frame_with (&frame, key);
    s_str (&frame, text);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    pst_msg_destroy (&msg);
    free (text);
}

static void
test_decode_string_limits (void **state)
{
    (void) state;
    s_assert_limit ("sub", 256);
    s_assert_limit ("azp", 256);
    s_assert_limit ("scp", 4096);
    s_assert_limit ("ip", 64);
    s_assert_limit ("msg", 1024);
    //  err only means something with st = 1
    char err [66];
    memset (err, 'e', 65);
    err [65] = 0;
    frame_t frame;
    s_frame_begin (&frame, NULL, 2);
    s_str (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_str (&frame, "err");
    s_str (&frame, err);
    s_assert_malformed (&frame);
    err [64] = 0;
    s_frame_begin (&frame, NULL, 2);
    s_str (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_str (&frame, "err");
    s_str (&frame, err);
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_string_equal (pst_msg_error (msg), err);
    pst_msg_destroy (&msg);
}

static void
test_decode_wrong_types (void **state)
{
    (void) state;
    static const char *keys [] = { "sub", "scp", "azp", "ip", "msg", NULL };
    for (int i = 0; keys [i]; i++) {
        frame_t frame;
        s_frame_with (&frame, keys [i]);
        msgpack_pack_uint64 (&frame.packer, 7);
        s_assert_malformed (&frame);
    }
    frame_t frame;
    s_frame_replacing (&frame, "body");
    msgpack_pack_array (&frame.packer, 0);
    s_assert_malformed (&frame);
    s_frame_replacing (&frame, "body");
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);
}

static void
test_decode_bad_status (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_with (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 2);
    s_assert_malformed (&frame);
    //  a failure must say which
    s_frame_with (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_assert_malformed (&frame);
    s_frame_begin (&frame, NULL, 2);
    s_str (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 1);
    s_str (&frame, "err");
    s_str (&frame, "");
    s_assert_malformed (&frame);
    //  success: err and msg mean nothing
    s_frame_begin (&frame, NULL, 3);
    s_str (&frame, "st");
    msgpack_pack_uint64 (&frame.packer, 0);
    s_str (&frame, "err");
    s_str (&frame, "server_error");
    s_str (&frame, "msg");
    s_str (&frame, "ignored");
    pst_msg_t *msg = NULL;
    assert_int_equal (s_frame_decode (&frame, &msg), 0);
    assert_false (pst_msg_is_error (msg));
    assert_null (pst_msg_error (msg));
    assert_null (pst_msg_error_text (msg));
    pst_msg_destroy (&msg);
}

static void
test_decode_non_string_keys (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, NULL, 1);
    msgpack_pack_int (&frame.packer, 1);
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);

    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    msgpack_pack_nil (&frame.packer);
    s_str (&frame, "v");
    s_assert_malformed (&frame);

    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    msgpack_pack_array (&frame.packer, 0);
    s_str (&frame, "v");
    s_assert_malformed (&frame);
}

static void
test_decode_duplicate_keys (void **state)
{
    (void) state;
    //  a second op could smuggle a different operation past a check of the first
    frame_t frame;
    s_frame_with (&frame, "op");
    s_str (&frame, "users.delete");
    s_assert_malformed (&frame);
    //  also among unknown keys
    s_frame_begin (&frame, NULL, 2);
    s_str (&frame, "zz");
    msgpack_pack_nil (&frame.packer);
    s_str (&frame, "zz");
    msgpack_pack_nil (&frame.packer);
    s_assert_malformed (&frame);
    //  and inside the body, as JSON_REJECT_DUPLICATES does for HTTP
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 2);
    s_str (&frame, "a");
    msgpack_pack_int (&frame.packer, 1);
    s_str (&frame, "a");
    msgpack_pack_int (&frame.packer, 2);
    s_assert_malformed (&frame);
}

static void
test_decode_top_not_map (void **state)
{
    (void) state;
    pst_msg_t *msg = (pst_msg_t *) 1;
    assert_int_equal (pst_msg_decode ((const uint8_t *) "\x90", 1, &msg), PST_MSG_MALFORMED);
    assert_null (msg);
    assert_int_equal (pst_msg_decode ((const uint8_t *) "\xa1" "a", 2, &msg), PST_MSG_MALFORMED);
    assert_int_equal (pst_msg_decode ((const uint8_t *) "\x80", 1, &msg), PST_MSG_MALFORMED);
}

static void
test_decode_unrepresentable_numbers (void **state)
{
    (void) state;
    frame_t frame;
    s_frame_begin (&frame, "body", 1);
    s_str (&frame, "body");
    msgpack_pack_map (&frame.packer, 1);
    s_str (&frame, "n");
    msgpack_pack_uint64 (&frame.packer, (uint64_t) INT64_MAX + 1);
    s_assert_malformed (&frame);

    const double bad [] = { NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < 3; i++) {
        s_frame_begin (&frame, "body", 1);
        s_str (&frame, "body");
        msgpack_pack_map (&frame.packer, 1);
        s_str (&frame, "x");
        msgpack_pack_double (&frame.packer, bad [i]);
        s_assert_malformed (&frame);
    }
}


//  --------------------------------------------------------------------------
//  Encoder limits: nothing leaves that the decoder would refuse

static void
test_encode_refuses_too_deep (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    json_t *body = json_object ();
    json_t *inner = json_array ();
    json_object_set_new (body, "a", inner);
    for (int i = 0; i < 5; i++) {
        json_t *next = json_array ();
        json_array_append_new (inner, next);
        inner = next;
    }
    //  envelope 1, body 2, "a" 3, five more arrays: 8
    pst_msg_set_body (msg, &body);
    pst_msg_t *copy = NULL;
    s_round_trip (msg, &copy);
    pst_msg_destroy (&copy);

    json_array_append_new (inner, json_object ());
    uint8_t *data = (uint8_t *) 1;
    size_t size = 1;
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    assert_null (data);
    assert_int_equal (size, 0);
    pst_msg_destroy (&msg);
}

static void
test_encode_refuses_oversize (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    char *big = malloc (PST_MSG_MAX_SIZE + 1);
    memset (big, 'x', PST_MSG_MAX_SIZE);
    big [PST_MSG_MAX_SIZE] = 0;
    json_object_set_new (pst_msg_body (msg), "big", json_string (big));
    free (big);
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    assert_null (data);
    pst_msg_destroy (&msg);
}

static void
test_encode_refuses_long_fields (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    char caller [258];
    memset (caller, 'c', 257);
    caller [257] = 0;
    pst_msg_set_caller (msg, caller, "openid");
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    caller [256] = 0;
    pst_msg_set_caller (msg, caller, "openid");
    assert_int_equal (pst_msg_encode (msg, &data, &size), 0);
    free (data);
    pst_msg_set_caller_client (msg, caller);
    assert_int_equal (pst_msg_encode (msg, &data, &size), 0);
    free (data);
    caller [256] = 'c';
    pst_msg_set_caller_client (msg, caller);
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    pst_msg_set_caller_client (msg, NULL);
    //  invalid UTF-8 would be refused by the receiver
    pst_msg_set_client_ip (msg, "\xff");
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    pst_msg_destroy (&msg);
}

static void
test_encode_refuses_nul_in_body (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    json_object_set_new (pst_msg_body (msg), "s", json_stringn ("a\0b", 3));
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal (pst_msg_encode (msg, &data, &size), -1);
    pst_msg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Requests, replies, failures

static void
test_request_id (void **state)
{
    (void) state;
    pst_msg_t *one = pst_msg_new_request ("a.b", 100);
    pst_msg_t *two = pst_msg_new_request ("a.b", 100);
    assert_non_null (one);
    const char *id = pst_msg_id (one);
    assert_int_equal (strlen (id), PST_MSG_ID_LEN);
    assert_int_equal (strspn (id, "0123456789abcdef"), PST_MSG_ID_LEN);
    assert_string_not_equal (pst_msg_id (one), pst_msg_id (two));
    pst_msg_destroy (&one);
    pst_msg_destroy (&two);
}

static void
test_request_bad_op (void **state)
{
    (void) state;
    char long_op [PST_MSG_OP_MAX + 2];
    memset (long_op, 'a', PST_MSG_OP_MAX + 1);
    long_op [PST_MSG_OP_MAX + 1] = 0;
    assert_null (pst_msg_new_request (NULL, 100));
    assert_null (pst_msg_new_request ("", 100));
    assert_null (pst_msg_new_request ("Users.list", 100));
    assert_null (pst_msg_new_request ("users list", 100));
    assert_null (pst_msg_new_request (long_op, 100));
    long_op [PST_MSG_OP_MAX] = 0;
    pst_msg_t *msg = pst_msg_new_request (long_op, 100);
    assert_non_null (msg);
    pst_msg_destroy (&msg);
}

static void
test_reply (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("users.get", 3000);
    pst_msg_set_caller (request, "admin", "read:users");
    json_object_set_new (pst_msg_body (request), "id", json_string ("u1"));
    pst_msg_t *reply = pst_msg_new_reply (request);
    assert_non_null (reply);
    assert_string_equal (pst_msg_id (reply), pst_msg_id (request));
    assert_string_equal (pst_msg_op (reply), "users.get");
    assert_int_equal (pst_msg_deadline (reply), pst_msg_deadline (request));
    assert_int_equal (json_object_size (pst_msg_body (reply)), 0);
    assert_null (pst_msg_caller (reply));
    assert_false (pst_msg_is_error (reply));

    json_t *result = json_pack ("{s:s, s:b}", "user_id", "u1", "email_verified", 1);
    pst_msg_set_body (reply, &result);
    pst_msg_t *copy = NULL;
    s_round_trip (reply, &copy);
    assert_false (pst_msg_is_error (copy));
    assert_string_equal (pst_msg_get_str (copy, "user_id"), "u1");
    assert_string_equal (pst_msg_id (copy), pst_msg_id (request));
    pst_msg_destroy (&copy);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

//  A forwarded request is the same errand: id, op, deadline, caller, scopes and
//  client address carry over, and the body is a copy the forwarder may change
static void
test_forward (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("authentication_methods.list", 3000);
    pst_msg_set_caller (request, "admin@clients", "read:authentication_methods");
    pst_msg_set_client_ip (request, "2001:db8::7");
    pst_msg_set_caller_client (request, "dev_mgmt");
    json_object_set_new (pst_msg_body (request), "id", json_string ("auth0|u1"));
    pst_msg_t *forward = pst_msg_new_forward (request);
    assert_non_null (forward);
    assert_string_equal (pst_msg_id (forward), pst_msg_id (request));
    assert_string_equal (pst_msg_op (forward), "authentication_methods.list");
    assert_int_equal (pst_msg_deadline (forward), pst_msg_deadline (request));
    assert_string_equal (pst_msg_caller (forward), "admin@clients");
    assert_string_equal (pst_msg_scopes (forward), "read:authentication_methods");
    assert_string_equal (pst_msg_client_ip (forward), "2001:db8::7");
    assert_string_equal (pst_msg_caller_client (forward), "dev_mgmt");
    assert_string_equal (pst_msg_get_str (forward, "id"), "auth0|u1");
    json_object_set_new (pst_msg_body (forward), "id", json_string ("changed"));
    assert_string_equal (pst_msg_get_str (request, "id"), "auth0|u1");

    pst_msg_t *copy = NULL;
    s_round_trip (forward, &copy);
    assert_false (pst_msg_is_error (copy));
    assert_string_equal (pst_msg_id (copy), pst_msg_id (request));
    assert_string_equal (pst_msg_caller (copy), "admin@clients");
    pst_msg_destroy (&copy);

    //  Replies go back, never on
    pst_msg_t *reply = pst_msg_new_reply (request);
    assert_null (pst_msg_new_forward (reply));
    pst_msg_destroy (&reply);
    pst_msg_destroy (&forward);
    pst_msg_destroy (&request);
}

static void
test_fail (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("token.grant", 3000);
    pst_msg_t *reply = pst_msg_new_reply (request);
    assert_int_equal (pst_msg_fail (reply, PST_ERR_TOO_MANY_ATTEMPTS, "wait %d s", 30), -1);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), "too_many_attempts");
    assert_string_equal (pst_msg_error_text (reply), "wait 30 s");
    json_object_set_new (pst_msg_body (reply), "retry_after", json_integer (30));

    pst_msg_t *copy = NULL;
    s_round_trip (reply, &copy);
    assert_true (pst_msg_is_error (copy));
    assert_string_equal (pst_msg_error (copy), "too_many_attempts");
    assert_string_equal (pst_msg_error_text (copy), "wait 30 s");
    assert_int_equal (pst_msg_get_int (copy, "retry_after", 0), 30);
    pst_msg_destroy (&copy);

    //  a second failure replaces the first
    pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "%s", "");
    assert_string_equal (pst_msg_error (reply), "invalid_grant");
    assert_string_equal (pst_msg_error_text (reply), "");
    s_round_trip (reply, &copy);
    assert_string_equal (pst_msg_error_text (copy), "");
    pst_msg_destroy (&copy);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

static void
test_fail_truncates_text (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("a.b", 100);
    pst_msg_t *reply = pst_msg_new_reply (request);
    char long_text [3000];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text [sizeof long_text - 1] = 0;
    pst_msg_fail (reply, PST_ERR_INTERNAL, "%s", long_text);
    assert_int_equal (strlen (pst_msg_error_text (reply)), 1024);

    //  a two-byte character across the limit is not cut in half
    memset (long_text, 'x', 1023);
    strcpy (long_text + 1023, "\xc3\xa9tail");
    pst_msg_fail (reply, PST_ERR_INTERNAL, "%s", long_text);
    assert_int_equal (strlen (pst_msg_error_text (reply)), 1023);
    pst_msg_t *copy = NULL;
    s_round_trip (reply, &copy);
    assert_string_equal (pst_msg_error_text (copy), pst_msg_error_text (reply));
    pst_msg_destroy (&copy);

    //  text that is not UTF-8 would be dropped by the receiver: the code stands in
    pst_msg_fail (reply, PST_ERR_BAD_REQUEST, "bad %s", "\xff\xfe");
    assert_string_equal (pst_msg_error_text (reply), "bad_request");
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

static void
test_body_readers (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("a.b", 100);
    json_t *body = json_pack ("{s:s, s:I, s:f, s:n, s:s}", "s", "text", "i", (json_int_t) 42,
                              "r", 1.5, "z", "e", "");
    pst_msg_set_body (msg, &body);
    assert_string_equal (pst_msg_get_str (msg, "s"), "text");
    assert_string_equal (pst_msg_get_str (msg, "e"), "");
    assert_null (pst_msg_get_str (msg, "i"));
    assert_null (pst_msg_get_str (msg, "missing"));
    assert_int_equal (pst_msg_get_int (msg, "i", -1), 42);
    assert_int_equal (pst_msg_get_int (msg, "r", -1), -1);
    assert_int_equal (pst_msg_get_int (msg, "s", -1), -1);
    assert_int_equal (pst_msg_get_int (msg, "z", -1), -1);
    assert_int_equal (pst_msg_get_int (msg, "missing", 7), 7);
    pst_msg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Scopes and deadlines

static void
test_has_scope (void **state)
{
    (void) state;
    pst_msg_t *msg = pst_msg_new_request ("users.list", 100);
    assert_false (pst_msg_has_scope (msg, "read:users"));
    pst_msg_set_caller (msg, "admin", "read:users  create:users update:users_app_metadata");
    assert_true (pst_msg_has_scope (msg, "read:users"));
    assert_true (pst_msg_has_scope (msg, "create:users"));
    assert_true (pst_msg_has_scope (msg, "update:users_app_metadata"));
    assert_false (pst_msg_has_scope (msg, "read"));
    assert_false (pst_msg_has_scope (msg, "users"));
    assert_false (pst_msg_has_scope (msg, "update:users"));
    assert_false (pst_msg_has_scope (msg, "read:users create:users"));
    assert_false (pst_msg_has_scope (msg, "read:user"));
    assert_false (pst_msg_has_scope (msg, "read:userss"));
    assert_false (pst_msg_has_scope (msg, ""));
    assert_false (pst_msg_has_scope (msg, NULL));
    pst_msg_set_caller (msg, "admin", " delete:users ");
    assert_true (pst_msg_has_scope (msg, "delete:users"));
    assert_false (pst_msg_has_scope (msg, " "));
    pst_msg_destroy (&msg);
}

static void
test_deadline (void **state)
{
    (void) state;
    uint64_t before = s_now_ms ();
    pst_msg_t *msg = pst_msg_new_request ("a.b", 5000);
    uint64_t after = s_now_ms ();
    assert_true (pst_msg_deadline (msg) >= before + 5000);
    assert_true (pst_msg_deadline (msg) <= after + 5000);
    int left = pst_msg_remaining_ms (msg);
    assert_true (left > 0 && left <= 5000);

    pst_msg_set_deadline (msg, s_now_ms () - 1);
    assert_int_equal (pst_msg_remaining_ms (msg), 0);
    pst_msg_set_deadline (msg, 0);
    assert_int_equal (pst_msg_remaining_ms (msg), 0);
    pst_msg_set_deadline (msg, UINT64_MAX);
    assert_int_equal (pst_msg_remaining_ms (msg), INT_MAX);
    pst_msg_destroy (&msg);

    //  no time at all, or negative: already due
    msg = pst_msg_new_request ("a.b", -10);
    assert_int_equal (pst_msg_remaining_ms (msg), 0);
    pst_msg_destroy (&msg);
}

static void
test_deadline_caps (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("a.b", 1000);
    pst_msg_t *call = pst_msg_new_request ("c.d", 60000);
    pst_msg_cap_deadline (call, request);
    assert_int_equal (pst_msg_deadline (call), pst_msg_deadline (request));
    assert_true (pst_msg_remaining_ms (call) <= 1000);
    //  a later limit changes nothing
    pst_msg_t *later = pst_msg_new_request ("e.f", 60000);
    pst_msg_cap_deadline (request, later);
    assert_true (pst_msg_remaining_ms (request) > 0 && pst_msg_remaining_ms (request) <= 1000);

    uint64_t before = s_now_ms ();
    pst_msg_cap_timeout (later, 2000);
    assert_true (pst_msg_deadline (later) >= before + 2000);
    assert_true (pst_msg_deadline (later) <= s_now_ms () + 2000);
    assert_true (pst_msg_remaining_ms (later) <= 2000);
    uint64_t sooner = pst_msg_deadline (call);
    pst_msg_cap_timeout (call, 60000);
    assert_int_equal (pst_msg_deadline (call), sooner);
    pst_msg_cap_timeout (call, -5);
    assert_int_equal (pst_msg_remaining_ms (call), 0);
    pst_msg_destroy (&request);
    pst_msg_destroy (&call);
    pst_msg_destroy (&later);
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip_all_types),
        cmocka_unit_test (test_round_trip_minimal),
        cmocka_unit_test (test_decode_float32_and_small_ints),
        cmocka_unit_test (test_unknown_keys_ignored),
        cmocka_unit_test (test_empty_strings_first),
        cmocka_unit_test (test_empty_caller_is_absent),
        cmocka_unit_test (test_prescan_accepts_well_formed),
        cmocka_unit_test (test_prescan_empty),
        cmocka_unit_test (test_prescan_oversize),
        cmocka_unit_test (test_prescan_map_count_lies),
        cmocka_unit_test (test_prescan_array_count_lies),
        cmocka_unit_test (test_prescan_depth_8_ok),
        cmocka_unit_test (test_prescan_depth_9),
        cmocka_unit_test (test_prescan_deep_envelope_body),
        cmocka_unit_test (test_prescan_trailing_bytes),
        cmocka_unit_test (test_prescan_truncated_str),
        cmocka_unit_test (test_prescan_truncated),
        cmocka_unit_test (test_prescan_bin),
        cmocka_unit_test (test_prescan_ext),
        cmocka_unit_test (test_prescan_reserved_byte),
        cmocka_unit_test (test_decode_invalid_utf8),
        cmocka_unit_test (test_decode_nul_in_string),
        cmocka_unit_test (test_decode_missing_id),
        cmocka_unit_test (test_decode_missing_mandatory),
        cmocka_unit_test (test_decode_wrong_version),
        cmocka_unit_test (test_decode_bad_id),
        cmocka_unit_test (test_decode_bad_op),
        cmocka_unit_test (test_decode_bad_deadline),
        cmocka_unit_test (test_decode_string_limits),
        cmocka_unit_test (test_decode_wrong_types),
        cmocka_unit_test (test_decode_bad_status),
        cmocka_unit_test (test_decode_non_string_keys),
        cmocka_unit_test (test_decode_duplicate_keys),
        cmocka_unit_test (test_decode_top_not_map),
        cmocka_unit_test (test_decode_unrepresentable_numbers),
        cmocka_unit_test (test_encode_refuses_too_deep),
        cmocka_unit_test (test_encode_refuses_oversize),
        cmocka_unit_test (test_encode_refuses_long_fields),
        cmocka_unit_test (test_encode_refuses_nul_in_body),
        cmocka_unit_test (test_request_id),
        cmocka_unit_test (test_request_bad_op),
        cmocka_unit_test (test_reply),
        cmocka_unit_test (test_forward),
        cmocka_unit_test (test_fail),
        cmocka_unit_test (test_fail_truncates_text),
        cmocka_unit_test (test_body_readers),
        cmocka_unit_test (test_has_scope),
        cmocka_unit_test (test_deadline),
        cmocka_unit_test (test_deadline_caps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
