//  Unit tests of mfa_template: variables, escaping per part, bounds, the default
//  email; and of the flow's input checks (email addresses, recovery codes).

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_flow.h"
#include "mfa_verify.h"
#include "mfa_template.h"

static const mfa_template_vars_t s_vars = {
    .code = "012345",
    .user_email = "o'brien+<tag>@example.com",
    .application_name = "Tom & \"Jerry\" <App>",
    .friendly_name = "Postern",
    .expires_in_minutes = 5
};

static void
s_expect (const char *source, mfa_template_mode_t mode, const char *expected)
{
    char *output = mfa_template_render (source, &s_vars, mode);
    assert_non_null (output);
    assert_string_equal (output, expected);
    free (output);
}

static void
test_variables (void **state)
{
    (void) state;
    s_expect ("Code {{ code }} for {{ friendly_name }}, {{ expires_in_minutes }} min",
              MFA_TEMPLATE_TEXT, "Code 012345 for Postern, 5 min");
    //  Spacing, Liquid whitespace control and filters
    s_expect ("[{{code}}][{{- code -}}][{{ code | escape }}][{{\tuser.email\n}}]",
              MFA_TEMPLATE_TEXT, "[012345][012345][012345][o'brien+<tag>@example.com]");
    //  Unknown variables render empty; so do unset ones
    s_expect ("a{{ nope }}b{{ }}c{{ user.password }}d", MFA_TEMPLATE_TEXT, "abcd");
    mfa_template_vars_t sparse = { .code = "1", .expires_in_minutes = 0 };
    char *output = mfa_template_render ("{{ application.name }}|{{ code }}", &sparse,
                                        MFA_TEMPLATE_TEXT);
    assert_string_equal (output, "|1");
    free (output);
    //  Text without complete tags is copied as it is
    s_expect ("plain", MFA_TEMPLATE_TEXT, "plain");
    s_expect ("", MFA_TEMPLATE_TEXT, "");
    s_expect ("open {{ code", MFA_TEMPLATE_TEXT, "open {{ code");
    s_expect ("}} {{ code }} {{", MFA_TEMPLATE_TEXT, "}} 012345 {{");
    //  A value is never parsed as a template itself
    mfa_template_vars_t nested = { .code = "{{ friendly_name }}", .friendly_name = "X" };
    output = mfa_template_render ("{{ code }}", &nested, MFA_TEMPLATE_TEXT);
    assert_string_equal (output, "{{ friendly_name }}");
    free (output);
}

static void
test_escaping (void **state)
{
    (void) state;
    s_expect ("<p>{{ application.name }} / {{ user.email }}</p>", MFA_TEMPLATE_HTML,
              "<p>Tom &amp; &quot;Jerry&quot; &lt;App&gt; / "
              "o&#39;brien+&lt;tag&gt;@example.com</p>");
    s_expect ("{{ application.name }}", MFA_TEMPLATE_TEXT, "Tom & \"Jerry\" <App>");
    //  A header never gets a line break, from a value or from the template
    mfa_template_vars_t evil = { .application_name = "App\r\nBcc: victim@example.com" };
    char *subject = mfa_template_render ("Sign in to {{ application.name }}\r\nX-Extra: 1",
                                         &evil, MFA_TEMPLATE_HEADER);
    assert_non_null (subject);
    assert_null (strpbrk (subject, "\r\n"));
    assert_non_null (strstr (subject, "App  Bcc: victim@example.com"));
    free (subject);
}

static void
test_output_bound (void **state)
{
    (void) state;
    //  Small source, huge expansion: refused instead of grown without end
    size_t repeats = MFA_TEMPLATE_MAX_OUTPUT / 8;
    const char *tag = "{{ application.name }}";
    char *source = (char *) malloc (repeats * strlen (tag) + 1);
    for (size_t i = 0; i < repeats; i++)
        memcpy (source + i * strlen (tag), tag, strlen (tag));
    source [repeats * strlen (tag)] = '\0';
    assert_null (mfa_template_render (source, &s_vars, MFA_TEMPLATE_HTML));
    //  The same with fewer repeats fits
    source [strlen (tag) * 100] = '\0';
    char *output = mfa_template_render (source, &s_vars, MFA_TEMPLATE_HTML);
    assert_non_null (output);
    free (output);
    free (source);
    assert_null (mfa_template_render (NULL, &s_vars, MFA_TEMPLATE_TEXT));
}

static void
test_default_email (void **state)
{
    (void) state;
    mfa_email_t email;
    assert_int_equal (mfa_template_render_email (&s_vars, &email), 0);
    assert_non_null (strstr (email.subject, "Postern"));
    assert_null (strpbrk (email.subject, "\r\n"));
    assert_non_null (strstr (email.text, "code is: 012345"));
    assert_non_null (strstr (email.text, "5 minutes"));
    assert_non_null (strstr (email.text, s_vars.application_name));
    assert_non_null (strstr (email.html, ">012345<"));
    assert_non_null (strstr (email.html, "Tom &amp; &quot;Jerry&quot; &lt;App&gt;"));
    assert_null (strstr (email.html, "<App>"));
    mfa_email_clear (&email);
    assert_null (email.subject);
    assert_null (email.text);
    assert_null (email.html);
}

static void
test_recovery_normalise (void **state)
{
    (void) state;
    char out [25];
    assert_int_equal (mfa_verify_recovery_normalise ("n3bg pzzw jj85 jlcn pzbd w6qx", out), 0);
    assert_string_equal (out, "N3BGPZZWJJ85JLCNPZBDW6QX");
    assert_int_equal (mfa_verify_recovery_normalise ("N3BGPZZWJJ85JLCNPZBDW6QX", out), 0);
    assert_int_equal (mfa_verify_recovery_normalise ("N3BGPZZWJJ85JLCNPZBDW6Q", out), -1);
    assert_int_equal (mfa_verify_recovery_normalise ("N3BGPZZWJJ85JLCNPZBDW6QXY", out), -1);
    assert_int_equal (mfa_verify_recovery_normalise ("N3BG-PZZWJJ85JLCNPZBDW6QX", out), -1);
    assert_int_equal (mfa_verify_recovery_normalise ("", out), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_variables),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_output_bound),
        cmocka_unit_test (test_default_email),
        cmocka_unit_test (test_recovery_normalise),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
