/*  fuzz_email - libFuzzer target for the email address rule (pst_email).

    Whatever the input, an address the rule accepts must be safe to put in an
    SMTP envelope and a header: bounded, one '@', printable ASCII without spaces,
    controls, quotes, brackets or commas, and no empty or dotted-edge halves.
*/
#include "pst_email.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_email: check failed: %s\n", #condition); abort (); \
    } } while (0)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *address = (char *) malloc (size + 1);
    if (!address)
        return 0;
    memcpy (address, data, size);
    address [size] = '\0';
    if (pst_email_valid (address)) {
        size_t length = strlen (address);
        CHECK (length >= 3 && length <= PST_EMAIL_MAX);
        const char *at = strchr (address, '@');
        CHECK (at && at != address && at [1] && !strchr (at + 1, '@'));
        CHECK ((size_t) (at - address) <= PST_EMAIL_LOCAL_MAX);
        CHECK (address [0] != '.' && address [length - 1] != '.' && at [-1] != '.' && at [1] != '.');
        CHECK (!strstr (address, ".."));
        for (size_t index = 0; index < length; index++) {
            unsigned char c = (unsigned char) address [index];
            CHECK (c > ' ' && c < 0x7f);
            CHECK (!strchr ("\"(),:;<>[\\]", c));
        }
    }
    free (address);
    return 0;
}
