/*  mfa_template - the `mfa_oob_code` email: subject, text and HTML bodies.

    Templates use Liquid-style output tags: {{ code }}, {{ user.email }},
    {{ application.name }}, {{ friendly_name }}, {{ expires_in_minutes }}.
    Filters ({{ code | escape }}) and whitespace control ({{- x -}}) are accepted
    and ignored; an unknown variable renders empty; any other text is copied.
    Values are escaped for the part they land in: HTML entities in the HTML body,
    control characters removed from the subject (a header: no CR/LF injection).
*/
#ifndef MFA_TEMPLATE_H_INCLUDED
#define MFA_TEMPLATE_H_INCLUDED

#include <stddef.h>

//  Rendering stops with NULL rather than produce a part bigger than this.
#define MFA_TEMPLATE_MAX_OUTPUT     (64 * 1024)

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

//  Renders source; NULL when the output would exceed MFA_TEMPLATE_MAX_OUTPUT or
//  memory runs out. Caller frees.
char *
    mfa_template_render (const char *source, const mfa_template_vars_t *vars,
                         mfa_template_mode_t mode);

//  Renders the three parts of the default mfa_oob_code template into email.
//  0, or -1 with email left empty.
int
    mfa_template_render_email (const mfa_template_vars_t *vars, mfa_email_t *email);

//  Frees the parts and zeroes them (they hold the code).
void
    mfa_email_clear (mfa_email_t *email);

//  The default template parts, for documentation and tests.
extern const char *mfa_template_default_subject;
extern const char *mfa_template_default_text;
extern const char *mfa_template_default_html;

#endif
