#include "mfa_template.h"
#include "pst_email.h"
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mfa_template_default_subject =
    "{{ friendly_name }} verification code";

const char *mfa_template_default_text =
    "Your verification code is: {{ code }}\n"
    "\n"
    "Enter it to sign in to {{ application.name }} as {{ user.email }}.\n"
    "The code expires in {{ expires_in_minutes }} minutes and works once.\n"
    "\n"
    "If you did not try to sign in, change your password: someone else knows it.\n"
    "\n"
    "{{ friendly_name }}\n";

const char *mfa_template_default_html =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>{{ friendly_name }}</title></head>\n"
    "<body style=\"font-family: sans-serif\">\n"
    "<p>Your verification code is:</p>\n"
    "<p style=\"font-size: 24px; font-weight: bold; letter-spacing: 4px\">{{ code }}</p>\n"
    "<p>Enter it to sign in to {{ application.name }} as {{ user.email }}.\n"
    "The code expires in {{ expires_in_minutes }} minutes and works once.</p>\n"
    "<p>If you did not try to sign in, change your password: someone else knows it.</p>\n"
    "<p>{{ friendly_name }}</p>\n"
    "</body></html>\n";

//  Output buffer that refuses to grow past MFA_TEMPLATE_MAX_OUTPUT.
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
    int failed;
} s_buffer_t;

static void
s_append (s_buffer_t *buffer, const char *data, size_t size)
{
    if (buffer->failed)
        return;
    if (buffer->size + size > MFA_TEMPLATE_MAX_OUTPUT) {
        buffer->failed = 1;
        return;
    }
    if (buffer->size + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity? buffer->capacity: 256;
        while (capacity < buffer->size + size + 1)
            capacity *= 2;
        char *data_new = (char *) realloc (buffer->data, capacity);
        if (!data_new) {
            buffer->failed = 1;
            return;
        }
        buffer->data = data_new;
        buffer->capacity = capacity;
    }
    memcpy (buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data [buffer->size] = '\0';
}

//  The variables, each with the most bytes it renders (before escaping)
typedef enum { V_CODE, V_EMAIL, V_APPLICATION, V_FRIENDLY, V_MINUTES, V_COUNT } s_variable_t;

static const struct {
    const char *name;
    size_t max;
} s_variables [V_COUNT] = {
    [V_CODE]        = { "code", 32 },
    [V_EMAIL]       = { "user.email", PST_EMAIL_MAX },
    [V_APPLICATION] = { "application.name", MFA_TEMPLATE_VALUE_MAX },
    [V_FRIENDLY]    = { "friendly_name", MFA_TEMPLATE_VALUE_MAX },
    [V_MINUTES]     = { "expires_in_minutes", 11 },
};

//  The longest an escaped byte gets: "&quot;"
#define S_ESCAPE_MAX    6

//  One rendering, or one check (vars NULL: nothing is written, the most the
//  template could write is counted instead)
typedef struct {
    const mfa_template_vars_t *vars;
    mfa_template_mode_t mode;
    s_buffer_t buffer;
    size_t bound;                   //  checking: the most it can render
    int depth;                      //  open {% if %}
    bool active [MFA_TEMPLATE_DEPTH_MAX + 1];   //  whether each level's branch renders
    bool in_else [MFA_TEMPLATE_DEPTH_MAX + 1];
    bool broken;                    //  a tag that cannot be rendered
    char *error;                    //  checking: why (NULL: not wanted)
    size_t error_size;
} s_run_t;

//  Notes why the template cannot render; quotes the fragment only when it is
//  short and printable, so the sentence is safe to send back.
static void
s_refuse (s_run_t *run, const char *what, const char *fragment, size_t size)
{
    if (run->broken)
        return;
    run->broken = true;
    if (!run->error)
        return;
    bool quotable = fragment && size > 0 && size <= 32;
    for (size_t i = 0; quotable && i < size; i++)
        quotable = (unsigned char) fragment [i] >= 0x20 && fragment [i] != 0x7f;
    if (quotable)
        snprintf (run->error, run->error_size, "%s: '%.*s'", what, (int) size, fragment);
    else
        snprintf (run->error, run->error_size, "%s", what);
}

static bool
s_rendering (const s_run_t *run)
{
    for (int level = 1; level <= run->depth; level++)
        if (!run->active [level])
            return false;
    return true;
}

static void
s_literal (s_run_t *run, const char *data, size_t size)
{
    if (!run->vars)
        run->bound += size;
    else
    if (s_rendering (run))
        s_append (&run->buffer, data, size);
}

static int
s_is_blank (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

//  Trims blanks and Liquid's '-' whitespace control from both ends.
static void
s_trim (const char **start_p, const char **end_p)
{
    const char *start = *start_p, *end = *end_p;
    while (start < end && (s_is_blank (*start) || *start == '-'))
        start++;
    while (end > start && (s_is_blank (end [-1]) || end [-1] == '-'))
        end--;
    *start_p = start;
    *end_p = end;
}

static int
s_variable (const char *name, size_t size)
{
    for (int i = 0; i < V_COUNT; i++)
        if (strlen (s_variables [i].name) == size && memcmp (s_variables [i].name, name, size) == 0)
            return i;
    return -1;
}

//  Value of a variable; "" when unset.
static const char *
s_value (const mfa_template_vars_t *vars, int variable, char number [16])
{
    switch (variable) {
        case V_CODE:        return vars->code? vars->code: "";
        case V_EMAIL:       return vars->user_email? vars->user_email: "";
        case V_APPLICATION: return vars->application_name? vars->application_name: "";
        case V_FRIENDLY:    return vars->friendly_name? vars->friendly_name: "";
        case V_MINUTES:
            snprintf (number, 16, "%d", vars->expires_in_minutes);
            return number;
        default:            return "";
    }
}

//  Appends value escaped for the mode, cut to max bytes (at a UTF-8 boundary).
static void
s_value_append (s_run_t *run, const char *value, size_t max)
{
    size_t size = strlen (value);
    if (size > max) {
        size = max;
        while (size > 0 && ((unsigned char) value [size] & 0xC0) == 0x80)
            size--;
    }
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char) value [i];
        const char *entity = NULL;
        if (run->mode == MFA_TEMPLATE_HTML) {
            switch (c) {
                case '&':  entity = "&amp;"; break;
                case '<':  entity = "&lt;"; break;
                case '>':  entity = "&gt;"; break;
                case '"':  entity = "&quot;"; break;
                case '\'': entity = "&#39;"; break;
                default: break;
            }
        }
        else
        if (run->mode == MFA_TEMPLATE_HEADER && (c < 0x20 || c == 0x7f))
            entity = " ";
        if (entity)
            s_append (&run->buffer, entity, strlen (entity));
        else
            s_append (&run->buffer, value + i, 1);
    }
}

//  {{ name | filter | ... }}
static void
s_output_tag (s_run_t *run, const char *start, const char *end)
{
    const char *pipe = memchr (start, '|', (size_t) (end - start));
    const char *name = start, *name_end = pipe? pipe: end;
    s_trim (&name, &name_end);
    int variable = s_variable (name, (size_t) (name_end - name));
    while (pipe && !run->vars) {
        //  Checking: every filter must be one we honour by escaping anyway
        const char *filter = pipe + 1;
        pipe = memchr (filter, '|', (size_t) (end - filter));
        const char *filter_end = pipe? pipe: end;
        s_trim (&filter, &filter_end);
        size_t size = (size_t) (filter_end - filter);
        if (!((size == 6 && memcmp (filter, "escape", 6) == 0)
           || (size == 11 && memcmp (filter, "escape_once", 11) == 0)))
            s_refuse (run, "Unsupported filter (escape and escape_once are accepted)",
                      filter, size);
    }
    if (!run->vars) {
        if (variable < 0)
            s_refuse (run, "Unknown variable (code, user.email, application.name,"
                      " friendly_name and expires_in_minutes are known)",
                      name, (size_t) (name_end - name));
        else
            run->bound += s_variables [variable].max
                        * (run->mode == MFA_TEMPLATE_HTML? S_ESCAPE_MAX: 1);
    }
    else
    if (variable >= 0 && s_rendering (run)) {
        char number [16];
        s_value_append (run, s_value (run->vars, variable, number), s_variables [variable].max);
    }
}

static bool
s_word_is (const char *word, size_t size, const char *expected)
{
    return strlen (expected) == size && memcmp (word, expected, size) == 0;
}

//  {% if name %}, {% else %}, {% endif %}
static void
s_logic_tag (s_run_t *run, const char *start, const char *end)
{
    s_trim (&start, &end);
    const char *word_end = start;
    while (word_end < end && !s_is_blank (*word_end))
        word_end++;
    size_t word_size = (size_t) (word_end - start);
    const char *rest = word_end, *rest_end = end;
    s_trim (&rest, &rest_end);
    size_t rest_size = (size_t) (rest_end - rest);
    if (s_word_is (start, word_size, "if")) {
        int variable = s_variable (rest, rest_size);
        if (variable < 0)
            s_refuse (run, "{% if %} takes one known variable", rest, rest_size);
        else
        if (run->depth == MFA_TEMPLATE_DEPTH_MAX)
            s_refuse (run, "{% if %} nested too deep", NULL, 0);
        else {
            run->depth++;
            char number [16];
            run->active [run->depth] = !run->vars
                || *s_value (run->vars, variable, number) != '\0';
            run->in_else [run->depth] = false;
        }
    }
    else
    if (s_word_is (start, word_size, "else") && rest_size == 0) {
        if (run->depth == 0 || run->in_else [run->depth])
            s_refuse (run, "{% else %} without its {% if %}", NULL, 0);
        else {
            run->in_else [run->depth] = true;
            //  Checking counts both branches: either may render
            run->active [run->depth] = !run->vars || !run->active [run->depth];
        }
    }
    else
    if (s_word_is (start, word_size, "endif") && rest_size == 0) {
        if (run->depth == 0)
            s_refuse (run, "{% endif %} without its {% if %}", NULL, 0);
        else
            run->depth--;
    }
    else
        s_refuse (run, "Unsupported tag ({% if x %}, {% else %} and {% endif %} are supported)",
                  start, (size_t) (end - start));
}

//  Runs source: renders into run->buffer, or (vars NULL) checks it.
static void
s_run (s_run_t *run, const char *source)
{
    run->active [0] = true;
    const char *scan = source;
    while (*scan && !run->buffer.failed && !run->broken) {
        const char *output = strstr (scan, "{{");
        const char *logic = strstr (scan, "{%");
        const char *open = !logic || (output && output < logic)? output: logic;
        if (!open) {
            s_literal (run, scan, strlen (scan));
            break;
        }
        bool is_logic = open == logic;
        const char *close = strstr (open + 2, is_logic? "%}": "}}");
        if (!close) {
            if (is_logic || !run->vars)
                s_refuse (run, is_logic? "Unclosed {% tag": "Unclosed {{ tag", NULL, 0);
            else
                s_literal (run, scan, strlen (scan));   //  as text, as it always was
            break;
        }
        s_literal (run, scan, (size_t) (open - scan));
        if (is_logic)
            s_logic_tag (run, open + 2, close);
        else
            s_output_tag (run, open + 2, close);
        scan = close + 2;
    }
    if (run->depth > 0)
        s_refuse (run, "{% if %} without its {% endif %}", NULL, 0);
}

char *
mfa_template_render (const char *source, const mfa_template_vars_t *vars,
                     mfa_template_mode_t mode)
{
    if (!source || !vars)
        return NULL;
    s_run_t run = { .vars = vars, .mode = mode };
    s_append (&run.buffer, "", 0);
    s_run (&run, source);
    s_buffer_t buffer = run.buffer;
    if (!buffer.failed && !run.broken && mode == MFA_TEMPLATE_HEADER) {
        //  The template text itself may hold a line break; a header never does
        for (size_t i = 0; i < buffer.size; i++)
            if ((unsigned char) buffer.data [i] < 0x20 || buffer.data [i] == 0x7f)
                buffer.data [i] = ' ';
    }
    if (buffer.failed || run.broken) {
        if (buffer.data)
            sodium_memzero (buffer.data, buffer.capacity);
        free (buffer.data);
        return NULL;
    }
    return buffer.data;
}

int
mfa_template_check (const char *source, mfa_template_mode_t mode, size_t output_max,
                    char *error, size_t error_size)
{
    char scratch [8];
    s_run_t run = { .mode = mode, .error = error? error: scratch,
                    .error_size = error? error_size: sizeof scratch };
    if (!source)
        s_refuse (&run, "No template", NULL, 0);
    else
    if (strlen (source) > output_max)
        s_refuse (&run, "Template too long", NULL, 0);
    else
        s_run (&run, source);
    if (!run.broken && run.bound > output_max) {
        run.broken = true;
        snprintf (run.error, run.error_size, "Template too long: it could render %zu bytes,"
                  " at most %zu are allowed", run.bound, output_max);
    }
    return run.broken? -1: 0;
}

int
mfa_template_mailbox_valid (const char *from)
{
    if (!from || strlen (from) > MFA_TEMPLATE_FROM_MAX)
        return 0;
    for (const char *scan = from; *scan; scan++)
        if ((unsigned char) *scan < 0x20 || *scan == 0x7f)
            return 0;
    const char *open = strrchr (from, '<');
    if (!open)
        return pst_email_valid (from);
    size_t size = strlen (from);
    if (from [size - 1] != '>' || (size_t) (open - from) > 128)
        return 0;
    for (const char *scan = from; scan < open; scan++)
        if (strchr ("\"\\<>", *scan))
            return 0;
    char address [PST_EMAIL_MAX + 2];
    size_t address_size = size - 1 - (size_t) (open + 1 - from);
    if (address_size >= sizeof address)
        return 0;
    memcpy (address, open + 1, address_size);
    address [address_size] = '\0';
    return pst_email_valid (address);
}

int
mfa_template_render_email (const mfa_template_vars_t *vars, const char *subject,
                           const char *html, mfa_email_t *email)
{
    memset (email, 0, sizeof *email);
    email->subject = mfa_template_render (subject? subject: mfa_template_default_subject,
                                          vars, MFA_TEMPLATE_HEADER);
    email->text = mfa_template_render (mfa_template_default_text, vars, MFA_TEMPLATE_TEXT);
    email->html = mfa_template_render (html? html: mfa_template_default_html,
                                       vars, MFA_TEMPLATE_HTML);
    if (!email->subject || !email->text || !email->html) {
        mfa_email_clear (email);
        return -1;
    }
    return 0;
}

static void
s_wipe (char **text_p)
{
    if (*text_p) {
        sodium_memzero (*text_p, strlen (*text_p));
        free (*text_p);
        *text_p = NULL;
    }
}

void
mfa_email_clear (mfa_email_t *email)
{
    s_wipe (&email->subject);
    s_wipe (&email->text);
    s_wipe (&email->html);
}
