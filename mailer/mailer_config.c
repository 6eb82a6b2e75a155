#include "mailer_config.h"
#include "pst_config.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_JOBS_ENDPOINT   "tcp://127.0.0.1:5603"
#define DEFAULT_SMTP_HOST       "127.0.0.1"
#define DEFAULT_SMTP_PORT       2525
#define DEFAULT_FROM            "Postern <no-reply@localhost>"
#define DEFAULT_CONCURRENCY     4
#define DEFAULT_CONNECT_S       5
#define DEFAULT_RESPONSE_S      10
#define DEFAULT_TOTAL_S         60

int
mailer_config_set (char **field_p, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup (value)))
        return -1;
    free (*field_p);
    *field_p = copy;
    return 0;
}

mailer_config_t *
mailer_config_new (void)
{
    mailer_config_t *self = (mailer_config_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->smtp_port = DEFAULT_SMTP_PORT;
    self->concurrency = DEFAULT_CONCURRENCY;
    self->connect_timeout_s = DEFAULT_CONNECT_S;
    self->response_timeout_s = DEFAULT_RESPONSE_S;
    self->total_timeout_s = DEFAULT_TOTAL_S;
    if (mailer_config_set (&self->jobs_endpoint, DEFAULT_JOBS_ENDPOINT)
    ||  mailer_config_set (&self->smtp_host, DEFAULT_SMTP_HOST)
    ||  mailer_config_set (&self->default_from, DEFAULT_FROM))
        mailer_config_destroy (&self);
    return self;
}

//  String settings as data: variable name and the field it overrides when set.
typedef struct {
    const char *name;
    size_t offset;
} env_string_t;

static const env_string_t s_env_strings [] = {
    { "POSTERN_MFA_JOBS_ENDPOINT",  offsetof (mailer_config_t, jobs_endpoint) },
    { "POSTERN_MAILER_OUTBOX",      offsetof (mailer_config_t, outbox_path) },
    { "POSTERN_SMTP_HOST",          offsetof (mailer_config_t, smtp_host) },
    { "POSTERN_SMTP_USER",          offsetof (mailer_config_t, smtp_user) },
    { "POSTERN_SMTP_PASSWORD",      offsetof (mailer_config_t, smtp_password) },
    { "POSTERN_SMTP_CA_FILE",       offsetof (mailer_config_t, smtp_ca_file) },
    { "POSTERN_SMTP_FROM",          offsetof (mailer_config_t, default_from) },
    { NULL, 0 }
};

mailer_config_t *
mailer_config_from_env (void)
{
    mailer_config_t *self = mailer_config_new ();
    if (!self)
        return NULL;
    int rc = 0;
    for (const env_string_t *env = s_env_strings; env->name && rc == 0; env++) {
        const char *value = pst_config_str (env->name, NULL);
        if (value)
            rc = mailer_config_set ((char **) ((char *) self + env->offset), value);
    }
    if (rc == 0 && !self->outbox_path) {
        char *path = pst_config_data_path ("mailer-outbox.db");
        rc = path? 0: -1;
        self->outbox_path = path;
    }
    if (rc != 0) {
        mailer_config_destroy (&self);
        return NULL;
    }
    self->smtp_port = (int) pst_config_int ("POSTERN_SMTP_PORT", DEFAULT_SMTP_PORT, 1, 65535);
    //  "required" reads better than "on" for a setting that refuses plain text
    const char *starttls = pst_config_str ("POSTERN_SMTP_STARTTLS", "off");
    self->smtp_starttls = strcasecmp (starttls, "required") == 0
                        || pst_config_bool ("POSTERN_SMTP_STARTTLS", 0);
    self->concurrency = (int) pst_config_int ("POSTERN_MAILER_CONCURRENCY", DEFAULT_CONCURRENCY, 1, 64);
    self->connect_timeout_s = (int) pst_config_int ("POSTERN_SMTP_CONNECT_TIMEOUT", DEFAULT_CONNECT_S, 1, 300);
    self->response_timeout_s = (int) pst_config_int ("POSTERN_SMTP_RESPONSE_TIMEOUT", DEFAULT_RESPONSE_S, 1, 600);
    self->total_timeout_s = (int) pst_config_int ("POSTERN_SMTP_TIMEOUT", DEFAULT_TOTAL_S, 1, 3600);
    return self;
}

void
mailer_config_destroy (mailer_config_t **self_p)
{
    if (self_p && *self_p) {
        mailer_config_t *self = *self_p;
        free (self->jobs_endpoint);
        free (self->outbox_path);
        free (self->smtp_host);
        free (self->smtp_user);
        if (self->smtp_password)
            explicit_bzero (self->smtp_password, strlen (self->smtp_password));
        free (self->smtp_password);
        free (self->smtp_ca_file);
        free (self->default_from);
        free (self);
        *self_p = NULL;
    }
}
