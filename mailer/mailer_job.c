#include "mailer_job.h"
#include "mailer_message.h"
#include <stdlib.h>
#include <string.h>

mailer_job_t *
mailer_job_new (void)
{
    return (mailer_job_t *) calloc (1, sizeof (mailer_job_t));
}

static void
s_wipe_free (char **text_p)
{
    if (*text_p) {
        explicit_bzero (*text_p, strlen (*text_p));
        free (*text_p);
        *text_p = NULL;
    }
}

void
mailer_job_destroy (mailer_job_t **self_p)
{
    if (self_p && *self_p) {
        mailer_job_t *self = *self_p;
        free (self->job_id);
        free (self->from);
        free (self->to);
        s_wipe_free (&self->subject);
        s_wipe_free (&self->text);
        s_wipe_free (&self->html);
        free (self->message_id);
        free (self);
        *self_p = NULL;
    }
}

//  String members as data, indexed by field: key, limit, whether it goes into a
//  header, whether it is required.
enum { F_JOB_ID, F_TO, F_FROM, F_SUBJECT, F_TEXT, F_HTML, F_MESSAGE_ID, F_COUNT };

typedef struct {
    const char *key;
    size_t max;
    int header;
    int required;
} field_rule_t;

static const field_rule_t s_rules [F_COUNT] = {
    [F_JOB_ID]      = { "job_id",     MAILER_JOB_ID_MAX,         1, 1 },
    [F_TO]          = { "to",         MAILER_ADDRESS_MAX,        1, 1 },
    [F_FROM]        = { "from",       MAILER_DISPLAY_NAME_MAX + MAILER_ADDRESS_MAX + 3, 1, 0 },
    [F_SUBJECT]     = { "subject",    MAILER_SUBJECT_MAX,        1, 1 },
    [F_TEXT]        = { "text",       MAILER_TEXT_MAX,           0, 1 },
    [F_HTML]        = { "html",       MAILER_HTML_MAX,           0, 1 },
    [F_MESSAGE_ID]  = { "message_id", MAILER_MESSAGE_ID_MAX + 2, 1, 1 },
};

//  The string of a member, or NULL when absent, not a string, holding a NUL
//  (json strings may), too long, or with control characters where a header goes.
static const char *
s_checked_string (const json_t *body, const field_rule_t *rule, const char **reason_p)
{
    const json_t *value = json_object_get (body, rule->key);
    if (!value || json_is_null (value)) {
        if (rule->required)
            *reason_p = rule->key;
        return NULL;
    }
    const char *text = json_string_value (value);
    size_t size = json_string_length (value);
    if (text && size == 0 && !rule->required)
        return NULL;        //  empty = absent, as everywhere on the bus
    if (!text || size == 0 || strlen (text) != size || size > rule->max
    ||  (rule->header && !mailer_header_safe (text, size))) {
        *reason_p = rule->key;
        return NULL;
    }
    return text;
}

//  The domain of the sender, used to complete a Message-ID that lacks one.
static const char *
s_domain_of (const char *mailbox_address)
{
    const char *at = strrchr (mailbox_address, '@');
    return at? at + 1: NULL;
}

mailer_job_t *
mailer_job_from_body (const json_t *body, const char *default_from,
                      int64_t now, const char **reason_p)
{
    const char *reason = NULL;
    const char *values [F_COUNT] = { NULL };
    for (size_t i = 0; i < F_COUNT && !reason; i++)
        values [i] = s_checked_string (body, &s_rules [i], &reason);
    const json_t *expires = json_object_get (body, "expires_at");
    if (!reason && (!json_is_integer (expires) || json_integer_value (expires) < 0))
        reason = "expires_at";
    const json_t *generation = json_object_get (body, "provider_generation");
    if (!reason && generation && !json_is_null (generation)
    &&  !(json_is_integer (generation) && json_integer_value (generation) >= 0))
        reason = "provider_generation";
    const char *from = reason? NULL: values [F_FROM]? values [F_FROM]: default_from;

    char *name = NULL;
    char *sender = NULL;
    if (!reason && !mailer_address_valid (values [F_TO]))
        reason = "to";
    if (!reason && mailer_mailbox_parse (from, &name, &sender) != 0)
        reason = "from";
    char *message_id = reason? NULL: mailer_message_id_normalize (values [F_MESSAGE_ID], s_domain_of (sender));
    if (!reason && !message_id)
        reason = "message_id";
    free (name);
    free (sender);

    mailer_job_t *self = reason? NULL: mailer_job_new ();
    if (!self && !reason)
        reason = "out of memory";
    if (self) {
        self->job_id = strdup (values [F_JOB_ID]);
        self->to = strdup (values [F_TO]);
        self->from = strdup (from);
        self->subject = strdup (values [F_SUBJECT]);
        self->text = strdup (values [F_TEXT]);
        self->html = strdup (values [F_HTML]);
        self->message_id = message_id;
        message_id = NULL;
        self->expires_at = json_integer_value (expires);
        self->created_at = now;
        self->provider_generation = json_is_integer (generation)
                                  ? (int64_t) json_integer_value (generation): 0;
        if (!self->job_id || !self->to || !self->from || !self->subject
        ||  !self->text || !self->html) {
            mailer_job_destroy (&self);
            reason = "out of memory";
        }
    }
    free (message_id);
    if (reason_p)
        *reason_p = reason;
    return self;
}
