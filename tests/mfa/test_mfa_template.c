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
    assert_int_equal (mfa_template_render_email (&s_vars, NULL, NULL, &email), 0);
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

static int
s_check (const char *source, mfa_template_mode_t mode, size_t max, char *error)
{
    return mfa_template_check (source, mode, max, error, 200);
}

static void
test_logic (void **state)
{
    (void) state;
    s_expect ("{% if application.name %}for {{ application.name }}{% else %}none{% endif %}.",
              MFA_TEMPLATE_TEXT, "for Tom & \"Jerry\" <App>.");
    mfa_template_vars_t sparse = { .code = "1" };
    char *output = mfa_template_render ("{% if application.name %}A{% else %}B{% endif %}"
                                        "{%- if code -%}C{%- endif -%}", &sparse,
                                        MFA_TEMPLATE_TEXT);
    assert_string_equal (output, "BC");
    free (output);
    //  Nested, the inner one in a branch that does not render
    output = mfa_template_render ("{% if user.email %}{% if code %}x{% else %}y{% endif %}"
                                  "{% endif %}|{% if friendly_name %}{% if code %}no{% endif %}"
                                  "{% else %}z{% endif %}", &sparse, MFA_TEMPLATE_TEXT);
    assert_string_equal (output, "|z");
    free (output);
    //  A broken logic tag renders nothing at all
    assert_null (mfa_template_render ("{% if code %}open", &s_vars, MFA_TEMPLATE_TEXT));
    assert_null (mfa_template_render ("{% endif %}", &s_vars, MFA_TEMPLATE_TEXT));
    assert_null (mfa_template_render ("{% for x in y %}{% endfor %}", &s_vars, MFA_TEMPLATE_TEXT));
    assert_null (mfa_template_render ("{% if code", &s_vars, MFA_TEMPLATE_TEXT));
}

static void
test_check (void **state)
{
    (void) state;
    char error [200];
    //  The defaults pass, as each part is used
    assert_int_equal (s_check (mfa_template_default_html, MFA_TEMPLATE_HTML,
                               MFA_TEMPLATE_MAX_OUTPUT, error), 0);
    assert_int_equal (s_check (mfa_template_default_text, MFA_TEMPLATE_TEXT,
                               MFA_TEMPLATE_MAX_OUTPUT, error), 0);
    assert_int_equal (s_check (mfa_template_default_subject, MFA_TEMPLATE_HEADER,
                               MFA_TEMPLATE_SUBJECT_MAX, error), 0);
    assert_int_equal (s_check ("<p>{{ code | escape }} {{- user.email | escape_once -}}</p>"
                               "{% if application.name %}{{ application.name }}{% else %}"
                               "{{ friendly_name }}{% endif %} {{ expires_in_minutes }}",
                               MFA_TEMPLATE_HTML, MFA_TEMPLATE_MAX_OUTPUT, error), 0);
    assert_int_equal (s_check ("", MFA_TEMPLATE_HTML, 10, error), 0);
    //  Refused, each with its reason
    const struct {
        const char *source;
        const char *reason;
    } refused [] = {
        { "{{ user.password }}", "Unknown variable (code, user.email, application.name,"
          " friendly_name and expires_in_minutes are known): 'user.password'" },
        { "{{ }}", "Unknown variable" },
        { "{{ code | upcase }}", "Unsupported filter (escape and escape_once are accepted): 'upcase'" },
        { "{{ code", "Unclosed {{ tag" },
        { "{% if code %}", "{% if %} without its {% endif %}" },
        { "{% endif %}", "{% endif %} without its {% if %}" },
        { "{% else %}", "{% else %} without its {% if %}" },
        { "{% if code %}{% else %}{% else %}{% endif %}", "{% else %} without its {% if %}" },
        { "{% if code == '1' %}{% endif %}", "{% if %} takes one known variable: 'code == '1''" },
        { "{% if nothing %}{% endif %}", "{% if %} takes one known variable: 'nothing'" },
        { "{% for x in y %}", "Unsupported tag ({% if x %}, {% else %} and {% endif %}"
          " are supported): 'for x in y'" },
        { "{% if code", "Unclosed {% tag" },
        { "{% include 'x' %}", "Unsupported tag" },
        { "{{ user.\x01name }}", "Unknown variable (code, user.email, application.name,"
          " friendly_name and expires_in_minutes are known)" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        assert_int_equal (s_check (refused [i].source, MFA_TEMPLATE_HTML,
                                   MFA_TEMPLATE_MAX_OUTPUT, error), -1);
        assert_non_null (strstr (error, refused [i].reason));
    }
    //  Nesting is bounded
    char deep [400] = "";
    for (int i = 0; i <= MFA_TEMPLATE_DEPTH_MAX; i++)
        strcat (deep, "{% if code %}");
    assert_int_equal (s_check (deep, MFA_TEMPLATE_TEXT, MFA_TEMPLATE_MAX_OUTPUT, error), -1);
    assert_string_equal (error, "{% if %} nested too deep");
}

static void
test_check_bounds (void **state)
{
    (void) state;
    char error [200];
    //  A subject can render at most 512 bytes whatever the values: two names
    //  of 256 bytes each and a little text do not fit
    assert_int_equal (s_check ("{{ application.name }}", MFA_TEMPLATE_HEADER,
                               MFA_TEMPLATE_SUBJECT_MAX, error), 0);
    assert_int_equal (s_check ("{{ application.name }} and {{ friendly_name }}",
                               MFA_TEMPLATE_HEADER, MFA_TEMPLATE_SUBJECT_MAX, error), -1);
    assert_non_null (strstr (error, "Template too long: it could render 517 bytes, at most 512"));
    //  Both branches count: either may render
    assert_int_equal (s_check ("{% if code %}{{ friendly_name }}{% else %}{{ application.name }}"
                               "{% endif %}", MFA_TEMPLATE_HEADER, 511, error), -1);
    //  HTML counts each value at its escaped worst (6 bytes a byte)
    size_t html_tags = MFA_TEMPLATE_MAX_OUTPUT / (MFA_TEMPLATE_VALUE_MAX * 6) + 1;
    char *source = (char *) calloc (html_tags, 32);
    for (size_t i = 0; i < html_tags; i++)
        strcat (source, "{{ application.name }}");
    assert_int_equal (s_check (source, MFA_TEMPLATE_HTML, MFA_TEMPLATE_MAX_OUTPUT, error), -1);
    assert_int_equal (s_check (source, MFA_TEMPLATE_TEXT, MFA_TEMPLATE_MAX_OUTPUT, error), 0);
    free (source);
    //  A source longer than the part is refused before it is read
    char *long_source = (char *) malloc (MFA_TEMPLATE_MAX_OUTPUT + 2);
    memset (long_source, 'a', MFA_TEMPLATE_MAX_OUTPUT + 1);
    long_source [MFA_TEMPLATE_MAX_OUTPUT + 1] = '\0';
    assert_int_equal (s_check (long_source, MFA_TEMPLATE_TEXT, MFA_TEMPLATE_MAX_OUTPUT, error), -1);
    assert_string_equal (error, "Template too long");
    free (long_source);
    assert_int_equal (mfa_template_check (NULL, MFA_TEMPLATE_TEXT, 10, NULL, 0), -1);
    //  What passes the check renders, with the longest values there are
    char longest [MFA_TEMPLATE_VALUE_MAX + 40];
    memset (longest, '"', sizeof longest - 1);
    longest [sizeof longest - 1] = '\0';
    mfa_template_vars_t vars = { .code = longest, .user_email = longest,
                                 .application_name = longest, .friendly_name = longest };
    const char *subject = "{{ application.name }}";
    assert_int_equal (s_check (subject, MFA_TEMPLATE_HEADER, MFA_TEMPLATE_SUBJECT_MAX, error), 0);
    char *output = mfa_template_render (subject, &vars, MFA_TEMPLATE_HEADER);
    assert_int_equal (strlen (output), MFA_TEMPLATE_VALUE_MAX);
    free (output);
    output = mfa_template_render ("{{ code }}", &vars, MFA_TEMPLATE_HTML);
    assert_int_equal (strlen (output), 32 * 6);
    free (output);
    //  A value is cut at a character, not inside one
    mfa_template_vars_t utf8 = { .application_name = NULL };
    char accents [MFA_TEMPLATE_VALUE_MAX + 4] = "x";
    for (size_t i = 1; i + 2 < sizeof accents; i += 2)
        memcpy (accents + i, "\xc3\xa9", 2);
    accents [sizeof accents - 1] = '\0';
    utf8.application_name = accents;
    output = mfa_template_render ("{{ application.name }}", &utf8, MFA_TEMPLATE_TEXT);
    assert_int_equal (strlen (output), MFA_TEMPLATE_VALUE_MAX - 1);
    free (output);
}

static void
test_mailbox (void **state)
{
    (void) state;
    assert_true (mfa_template_mailbox_valid ("codes@example.com"));
    assert_true (mfa_template_mailbox_valid ("Example Login <codes@example.com>"));
    assert_false (mfa_template_mailbox_valid ("\"Quoted\" <codes@example.com>"));
    assert_false (mfa_template_mailbox_valid ("Name <codes@example.com>\r\nBcc: x@y.z"));
    assert_false (mfa_template_mailbox_valid ("Name <not an address>"));
    assert_false (mfa_template_mailbox_valid ("Name <codes@example.com"));
    assert_false (mfa_template_mailbox_valid ("codes"));
    assert_false (mfa_template_mailbox_valid (""));
    assert_false (mfa_template_mailbox_valid (NULL));
}

static void
test_stored_email (void **state)
{
    (void) state;
    mfa_email_t email;
    assert_int_equal (mfa_template_render_email (&s_vars, "Code for {{ user.email }}",
                      "<b>{{ code }}</b> {{ application.name }}", &email), 0);
    assert_string_equal (email.subject, "Code for o'brien+<tag>@example.com");
    assert_string_equal (email.html,
                         "<b>012345</b> Tom &amp; &quot;Jerry&quot; &lt;App&gt;");
    assert_non_null (strstr (email.text, "code is: 012345"));
    mfa_email_clear (&email);
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
        cmocka_unit_test (test_logic),
        cmocka_unit_test (test_check),
        cmocka_unit_test (test_check_bounds),
        cmocka_unit_test (test_mailbox),
        cmocka_unit_test (test_stored_email),
        cmocka_unit_test (test_recovery_normalise),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
