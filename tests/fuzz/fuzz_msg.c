/*  fuzz_msg - libFuzzer target for the envelope codec (pst_msg_prescan/decode/encode).

    Whatever the input, decoding must not crash, leak or read out of bounds. When
    a frame decodes, re-encoding must succeed, the result must decode to the same
    message, and encoding that again must give the very same bytes.
*/
#include "pst_msg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The checks must hold in release builds too, where NDEBUG disables assert.
#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_msg: check failed: %s\n", #condition); abort (); \
    } } while (0)

static int
s_same_text (const char *one, const char *two)
{
    if (!one || !two)
        return one == two;
    return strcmp (one, two) == 0;
}

static void
s_check_same (const pst_msg_t *one, const pst_msg_t *two)
{
    CHECK (strcmp (pst_msg_id (one), pst_msg_id (two)) == 0);
    CHECK (strcmp (pst_msg_op (one), pst_msg_op (two)) == 0);
    CHECK (pst_msg_deadline (one) == pst_msg_deadline (two));
    CHECK (s_same_text (pst_msg_caller (one), pst_msg_caller (two)));
    CHECK (s_same_text (pst_msg_scopes (one), pst_msg_scopes (two)));
    CHECK (s_same_text (pst_msg_client_ip (one), pst_msg_client_ip (two)));
    CHECK (pst_msg_is_error (one) == pst_msg_is_error (two));
    CHECK (s_same_text (pst_msg_error (one), pst_msg_error (two)));
    CHECK (s_same_text (pst_msg_error_text (one), pst_msg_error_text (two)));
    CHECK (json_equal (pst_msg_body (one), pst_msg_body (two)));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    int scanned = pst_msg_prescan (data, size);
    CHECK (scanned == 0 || scanned == PST_MSG_MALFORMED);
    pst_msg_t *msg = NULL;
    int rc = pst_msg_decode (data, size, &msg);
    if (rc != 0) {
        CHECK (rc == PST_MSG_MALFORMED);
        CHECK (msg == NULL);
        return 0;
    }
    //  decode only ever accepts what the pre-scan accepted
    CHECK (scanned == 0);
    CHECK (msg != NULL);
    CHECK (json_is_object (pst_msg_body (msg)));
    (void) pst_msg_remaining_ms (msg);
    (void) pst_msg_has_scope (msg, "read:users");

    //  Re-encoding can only grow by float32 becoming float64 (5 -> 9 bytes) and an
    //  absent body becoming {}, so below half the limit it must always succeed.
    uint8_t *first = NULL;
    size_t first_size = 0;
    if (pst_msg_encode (msg, &first, &first_size)) {
        CHECK (size > PST_MSG_MAX_SIZE / 2 - 16);
        pst_msg_destroy (&msg);
        return 0;
    }
    pst_msg_t *copy = NULL;
    CHECK (pst_msg_decode (first, first_size, &copy) == 0);
    s_check_same (msg, copy);

    uint8_t *second = NULL;
    size_t second_size = 0;
    CHECK (pst_msg_encode (copy, &second, &second_size) == 0);
    CHECK (second_size == first_size && memcmp (first, second, first_size) == 0);

    free (first);
    free (second);
    pst_msg_destroy (&copy);
    pst_msg_destroy (&msg);
    return 0;
}
