/*  mfa_template - the `mfa_oob_code` email: subject, text and HTML bodies, from
    the compiled-in default or from a template stored through the Management
    API (mfa_message keeps that one).

    Templates are a Liquid subset. Output tags: {{ code }}, {{ user.email }},
    {{ application.name }}, {{ friendly_name }}, {{ expires_in_minutes }}, with
    Liquid's whitespace control ({{- x -}}) and the filters `escape` and
    `escape_once` (accepted and ignored: values are escaped anyway). Logic tags:
    {% if x %} ... {% else %} ... {% endif %}, x one of those variables, true
    when it is not empty; nested at most MFA_TEMPLATE_DEPTH_MAX deep.
    Values are escaped for the part they land in: HTML entities in the HTML body,
    control characters removed from the subject (a header: no CR/LF injection),
    and each is cut to its longest size (MFA_TEMPLATE_VALUE_MAX at most).

    A stored template is checked when it is saved (mfa_template_check): an
    unknown variable, filter or tag, an unbalanced if, or a template that could
    render more than its part allows is refused then, so that rendering it
    later cannot fail. The renderer itself stays lenient for the defaults and
    old callers: an unknown variable renders empty, an unclosed {{ is text; a
    broken logic tag makes it answer NULL.
*/
#ifndef MFA_TEMPLATE_H_INCLUDED
#define MFA_TEMPLATE_H_INCLUDED

#include <stddef.h>

//  Rendering stops with NULL rather than produce a part bigger than this.
#define MFA_TEMPLATE_MAX_OUTPUT     (64 * 1024)
//  What a checked subject may render at most (the mailer takes 512 bytes).
#define MFA_TEMPLATE_SUBJECT_MAX    512
//  The longest a value renders, before escaping; longer ones are cut.
#define MFA_TEMPLATE_VALUE_MAX      256
//  Nesting of {% if %}.
#define MFA_TEMPLATE_DEPTH_MAX      8
//  The longest From a template may name: "Display Name <address>".
#define MFA_TEMPLATE_FROM_MAX       (128 + 254 + 3)

typedef enum {
    MFA_TEMPLATE_TEXT,          //  values copied as they are
    MFA_TEMPLATE_HTML,          //  values HTML-escaped
    MFA_TEMPLATE_HEADER         //  values and result stripped of control characters
} mfa_template_mode_t;

typedef struct {
    const char *code;
    const char *user_email;
    const char *application_name;
    const char *friendly_name;
    int expires_in_minutes;
} mfa_template_vars_t;

typedef struct {
    char *subject;
    char *text;
    char *html;
} mfa_email_t;

//  Renders source; NULL when the output would exceed MFA_TEMPLATE_MAX_OUTPUT,
//  a logic tag is broken or memory runs out. Caller frees.
char *
    mfa_template_render (const char *source, const mfa_template_vars_t *vars,
                         mfa_template_mode_t mode);

//  Checks source as a template to store for a part rendered in mode, whose
//  output may not exceed output_max bytes whatever the values. 0, or -1 with
//  a sentence for the caller in error (safe to send back: it quotes nothing
//  unprintable and nothing long).
int
    mfa_template_check (const char *source, mfa_template_mode_t mode, size_t output_max,
                        char *error, size_t error_size);

//  1 when from is a mailbox the mailer takes as From: "address" or
//  "Display Name <address>" (no quotes, backslashes or control characters in
//  the name, at most 128 bytes; the address as pst_email has it).
int
    mfa_template_mailbox_valid (const char *from);

//  Renders the three parts of the mfa_oob_code email into email: subject and
//  html from the given sources, or the defaults when NULL; the text part is
//  always the default one. 0, or -1 with email left empty.
int
    mfa_template_render_email (const mfa_template_vars_t *vars, const char *subject,
                               const char *html, mfa_email_t *email);

//  Frees the parts and zeroes them (they hold the code).
void
    mfa_email_clear (mfa_email_t *email);

//  The default template parts, for documentation and tests.
extern const char *mfa_template_default_subject;
extern const char *mfa_template_default_text;
extern const char *mfa_template_default_html;

#endif
