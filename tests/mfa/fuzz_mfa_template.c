//  libFuzzer target for the template renderer and its save-time check: any
//  template source, every mode, with values that need escaping. Output must
//  stay bounded and NUL-terminated, and a template the check accepts must
//  render (a stored template never fails at send time), even with the longest
//  values there are.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_template.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *source = (char *) malloc (size + 1);
    if (!source)
        return 0;
    memcpy (source, data, size);
    source [size] = '\0';
    mfa_template_vars_t vars = {
        .code = "012345",
        .user_email = "a\"<b>'&@example.com",
        .application_name = "App\r\n{{ code }}",
        .friendly_name = "Postern",
        .expires_in_minutes = 5
    };
    static char value [MFA_TEMPLATE_VALUE_MAX + 64];
    memset (value, '<', sizeof value - 1);
    mfa_template_vars_t longest = {
        .code = value, .user_email = value, .application_name = value,
        .friendly_name = value, .expires_in_minutes = -2147483647 - 1
    };
    const mfa_template_mode_t modes [] = {
        MFA_TEMPLATE_TEXT, MFA_TEMPLATE_HTML, MFA_TEMPLATE_HEADER
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes [0]; i++) {
        char *output = mfa_template_render (source, &vars, modes [i]);
        if (output && (strlen (output) > MFA_TEMPLATE_MAX_OUTPUT
                   ||  (modes [i] == MFA_TEMPLATE_HEADER && strpbrk (output, "\r\n"))))
            abort ();
        free (output);
        size_t max = modes [i] == MFA_TEMPLATE_HEADER? MFA_TEMPLATE_SUBJECT_MAX
                                                      : MFA_TEMPLATE_MAX_OUTPUT;
        char error [200];
        if (mfa_template_check (source, modes [i], max, error, sizeof error) == 0) {
            output = mfa_template_render (source, &longest, modes [i]);
            if (!output || strlen (output) > max)
                abort ();
            free (output);
        }
    }
    free (source);
    return 0;
}
