/*  fuzz_json - libFuzzer target for bounded JSON input (pst_json) and for the way
    such JSON travels on the bus (as a pst_msg body).

    An accepted object must be within the depth limit, dump to text that parses
    back to an equal value, and survive a msgpack round trip whenever it fits.
*/
#include "pst_json.h"
#include "pst_msg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_json: check failed: %s\n", #condition); abort (); \
    } } while (0)

//  JSON text takes at least 4 bytes for what msgpack may spend 9 on (a real "1e1,"),
//  so an object from a body this small always fits in a frame.
#define S_ALWAYS_FITS   (PST_MSG_MAX_SIZE / 4)

static void
s_check_bus_round_trip (const json_t *object, size_t size)
{
    pst_msg_t *msg = pst_msg_new_request ("fuzz.json", 1000);
    CHECK (msg);
    json_t *body = json_deep_copy (object);
    CHECK (body);
    pst_msg_set_body (msg, &body);
    uint8_t *data = NULL;
    size_t data_size = 0;
    int rc = pst_msg_encode (msg, &data, &data_size);
    //  the envelope and the body map take two of the frame's levels
    if (pst_json_depth (object) <= PST_MSG_MAX_DEPTH - 1 && size < S_ALWAYS_FITS)
        CHECK (rc == 0);
    if (rc == 0) {
        pst_msg_t *copy = NULL;
        CHECK (pst_msg_decode (data, data_size, &copy) == 0);
        CHECK (json_equal (pst_msg_body (copy), object));
        pst_msg_destroy (&copy);
        free (data);
    }
    else
        CHECK (data == NULL);
    pst_msg_destroy (&msg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *reason = NULL;
    json_t *object = pst_json_parse_object ((const char *) data, size, &reason);
    if (!object) {
        CHECK (reason != NULL);
        return 0;
    }
    CHECK (reason == NULL);
    CHECK (json_is_object (object));
    CHECK (pst_json_depth (object) <= PST_JSON_MAX_DEPTH);
    (void) pst_json_str (object, "username");

    char *text = pst_json_dump (object);
    CHECK (text);
    json_t *again = pst_json_parse_object (text, strlen (text), &reason);
    CHECK (again);
    CHECK (json_equal (object, again));
    char *text_again = pst_json_dump (again);
    CHECK (text_again && strcmp (text, text_again) == 0);

    s_check_bus_round_trip (object, size);

    free (text_again);
    free (text);
    json_decref (again);
    json_decref (object);
    return 0;
}
