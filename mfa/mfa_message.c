#include "mfa_message.h"
#include "pst_log.h"
#include <stdlib.h>
#include <string.h>

struct _mfa_message_t {
    int64_t template_generation;    //  of the copy below; 0 none stored
    json_t *template;               //  the stored document, or NULL
    int64_t provider_generation;
    json_t *provider;               //  its document (no password), or NULL
};

mfa_message_t *
mfa_message_new (void)
{
    return (mfa_message_t *) calloc (1, sizeof (mfa_message_t));
}

void
mfa_message_destroy (mfa_message_t **self_p)
{
    if (self_p && *self_p) {
        json_decref ((*self_p)->template);
        json_decref ((*self_p)->provider);
        free (*self_p);
        *self_p = NULL;
    }
}

int
mfa_message_refresh (mfa_message_t *self, mfa_store_t *store)
{
    int64_t template_generation, provider_generation;
    if (mfa_store_mail_generations (store, MFA_MESSAGE_TEMPLATE,
                                    &template_generation, &provider_generation))
        return -1;
    int failed = 0;
    if (template_generation != self->template_generation) {
        int64_t generation = 0;
        json_t *document = mfa_store_template_get (store, MFA_MESSAGE_TEMPLATE,
                                                   &generation, &failed);
        if (!failed) {
            json_decref (self->template);
            self->template = document;
            self->template_generation = document? generation: 0;
        }
    }
    if (!failed && provider_generation != self->provider_generation) {
        int64_t generation = 0;
        json_t *document = mfa_store_provider_get (store, &generation, NULL, NULL, &failed);
        if (!failed) {
            json_decref (self->provider);
            self->provider = document;
            self->provider_generation = document? generation: 0;
        }
    }
    if (failed)
        pst_log (PST_LOG_WARN, "mail_settings_unread", "reason",
                 "the stored template or provider could not be read: the last copy is used", NULL);
    return failed? -1: 0;
}

static int
s_enabled (const json_t *document)
{
    return document && json_is_true (json_object_get (document, "enabled"));
}

static const char *
s_text (const json_t *document, const char *key)
{
    const char *text = json_string_value (json_object_get (document, key));
    return text && *text? text: NULL;
}

const char *
mfa_message_subject (mfa_message_t *self)
{
    return s_enabled (self->template)? s_text (self->template, "subject"): NULL;
}

const char *
mfa_message_html (mfa_message_t *self)
{
    return s_enabled (self->template)? s_text (self->template, "body"): NULL;
}

const char *
mfa_message_from (mfa_message_t *self)
{
    const char *from = s_enabled (self->template)? s_text (self->template, "from"): NULL;
    if (!from && s_enabled (self->provider))
        from = s_text (self->provider, "default_from_address");
    return from;
}

int64_t
mfa_message_provider_generation (mfa_message_t *self)
{
    return self->provider_generation;
}
