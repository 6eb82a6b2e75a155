#include "mfa_template.h"
#include <sodium.h>
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

static void
s_append_value (s_buffer_t *buffer, const char *value, mfa_template_mode_t mode)
{
    for (const char *scan = value; *scan; scan++) {
        unsigned char c = (unsigned char) *scan;
        const char *entity = NULL;
        if (mode == MFA_TEMPLATE_HTML) {
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
        if (mode == MFA_TEMPLATE_HEADER && (c < 0x20 || c == 0x7f))
            entity = " ";
        if (entity)
            s_append (buffer, entity, strlen (entity));
        else
            s_append (buffer, scan, 1);
    }
}

//  Value of a variable name; "" when unknown or unset.
static const char *
s_lookup (const mfa_template_vars_t *vars, const char *name, size_t size,
          char *number, size_t number_size)
{
    snprintf (number, number_size, "%d", vars->expires_in_minutes);
    const struct {
        const char *name;
        const char *value;
    } table [] = {
        { "code", vars->code },
        { "user.email", vars->user_email },
        { "application.name", vars->application_name },
        { "friendly_name", vars->friendly_name },
        { "expires_in_minutes", number },
    };
    for (size_t i = 0; i < sizeof table / sizeof table [0]; i++)
        if (strlen (table [i].name) == size && memcmp (table [i].name, name, size) == 0)
            return table [i].value? table [i].value: "";
    return "";
}

static int
s_is_blank (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

//  The variable name inside {{ ... }}: trims blanks and Liquid's '-' whitespace
//  control, and drops filters after '|'.
static void
s_expression_name (const char *start, const char *end, const char **name_p, size_t *size_p)
{
    const char *pipe = memchr (start, '|', (size_t) (end - start));
    if (pipe)
        end = pipe;
    while (start < end && (s_is_blank (*start) || *start == '-'))
        start++;
    while (end > start && (s_is_blank (end [-1]) || end [-1] == '-'))
        end--;
    *name_p = start;
    *size_p = (size_t) (end - start);
}

char *
mfa_template_render (const char *source, const mfa_template_vars_t *vars,
                     mfa_template_mode_t mode)
{
    if (!source || !vars)
        return NULL;
    s_buffer_t buffer = { NULL, 0, 0, 0 };
    s_append (&buffer, "", 0);
    const char *scan = source;
    while (*scan && !buffer.failed) {
        const char *open = strstr (scan, "{{");
        const char *close = open? strstr (open + 2, "}}"): NULL;
        if (!close) {
            //  No complete tag left: the rest is literal text
            s_append (&buffer, scan, strlen (scan));
            break;
        }
        s_append (&buffer, scan, (size_t) (open - scan));
        const char *name;
        size_t size;
        s_expression_name (open + 2, close, &name, &size);
        char number [16];
        s_append_value (&buffer, s_lookup (vars, name, size, number, sizeof number), mode);
        scan = close + 2;
    }
    if (!buffer.failed && mode == MFA_TEMPLATE_HEADER) {
        //  The template text itself may hold a line break; a header never does
        for (size_t i = 0; i < buffer.size; i++)
            if ((unsigned char) buffer.data [i] < 0x20 || buffer.data [i] == 0x7f)
                buffer.data [i] = ' ';
    }
    if (buffer.failed) {
        if (buffer.data)
            sodium_memzero (buffer.data, buffer.capacity);
        free (buffer.data);
        return NULL;
    }
    return buffer.data;
}

int
mfa_template_render_email (const mfa_template_vars_t *vars, mfa_email_t *email)
{
    memset (email, 0, sizeof *email);
    email->subject = mfa_template_render (mfa_template_default_subject, vars, MFA_TEMPLATE_HEADER);
    email->text = mfa_template_render (mfa_template_default_text, vars, MFA_TEMPLATE_TEXT);
    email->html = mfa_template_render (mfa_template_default_html, vars, MFA_TEMPLATE_HTML);
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
