#include "mailer_config.h"
#include "pst_config.h"
#include "pst_log.h"
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_JOBS_ENDPOINT   "ipc://./data/bus/mfa-jobs.sock"
#define DEFAULT_KEYS_DIR        "./data/keys"
#define DEFAULT_KEY_NAME        "mailer"
#define DEFAULT_SMTP_HOST       "127.0.0.1"
#define DEFAULT_SMTP_PORT       2525
#define DEFAULT_FROM            "Postern <no-reply@localhost>"
#define DEFAULT_CONCURRENCY     4
#define DEFAULT_CONNECT_S       5
#define DEFAULT_RESPONSE_S      10
#define DEFAULT_TOTAL_S         60
#define DEFAULT_MAX_BACKLOG     1000    //  a few minutes of codes for a busy tenant
#define MAX_MAX_BACKLOG         1000000

//  What the operator is told when POSTERN_SMTP_STARTTLS is not understood
#define STARTTLS_ACCEPTED       "off (or 0, false, no), required (or on, 1, true, yes)"

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
    self->max_backlog = DEFAULT_MAX_BACKLOG;
    if (mailer_config_set (&self->jobs_endpoint, DEFAULT_JOBS_ENDPOINT)
    ||  mailer_config_set (&self->keys_dir, DEFAULT_KEYS_DIR)
    ||  mailer_config_set (&self->key_name, DEFAULT_KEY_NAME)
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
    { "POSTERN_KEY_NAME",           offsetof (mailer_config_t, key_name) },
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
    //  Paths under the data directory unless set
    char *endpoint = pst_config_bus_endpoint ("POSTERN_MFA_JOBS_ENDPOINT", "mfa-jobs.sock");
    char *keys_dir = pst_config_keys_dir ();
    if (rc == 0)
        rc = endpoint && keys_dir? 0: -1;
    if (rc == 0) {
        free (self->jobs_endpoint);
        free (self->keys_dir);
        self->jobs_endpoint = endpoint;
        self->keys_dir = keys_dir;
    }
    else {
        free (endpoint);
        free (keys_dir);
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
    //  Not a fallback like the numbers below: a typo such as "requried" must not
    //  quietly send mail, and perhaps a password, in clear text. Unset, mail to
    //  a relay beyond this host (which carries the codes) needs TLS; a relay on
    //  the loopback interface is this host's own
    const char *starttls = pst_config_str ("POSTERN_SMTP_STARTTLS",
        mailer_config_host_is_loopback (self->smtp_host)? "off": "required");
    self->smtp_starttls = mailer_config_starttls_parse (starttls);
    if (self->smtp_starttls < 0) {
        pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_SMTP_STARTTLS",
                 "value", starttls, "accepted", STARTTLS_ACCEPTED, NULL);
        mailer_config_destroy (&self);
        return NULL;
    }
    //  A value that is not a boolean counts as "no" (warned): the safe side
    self->smtp_allow_plaintext_auth = pst_config_bool ("POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH", 0);
    self->smtp_port = (int) pst_config_int ("POSTERN_SMTP_PORT", DEFAULT_SMTP_PORT, 1, 65535);
    self->concurrency = (int) pst_config_int ("POSTERN_MAILER_CONCURRENCY", DEFAULT_CONCURRENCY, 1, 64);
    self->max_backlog = (int) pst_config_int ("POSTERN_MAILER_MAX_BACKLOG", DEFAULT_MAX_BACKLOG,
                                              1, MAX_MAX_BACKLOG);
    self->connect_timeout_s = (int) pst_config_int ("POSTERN_SMTP_CONNECT_TIMEOUT", DEFAULT_CONNECT_S, 1, 300);
    self->response_timeout_s = (int) pst_config_int ("POSTERN_SMTP_RESPONSE_TIMEOUT", DEFAULT_RESPONSE_S, 1, 600);
    self->total_timeout_s = (int) pst_config_int ("POSTERN_SMTP_TIMEOUT", DEFAULT_TOTAL_S, 1, 3600);
    return self;
}

int
mailer_config_host_is_loopback (const char *host)
{
    if (!host)
        return 0;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton (AF_INET, host, &v4) == 1)
        return (ntohl (v4.s_addr) >> 24) == 127;
    if (inet_pton (AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK (&v6)
            || (IN6_IS_ADDR_V4MAPPED (&v6) && v6.s6_addr [12] == 127);
    return strcasecmp (host, "localhost") == 0;
}

int
mailer_config_starttls_parse (const char *value)
{
    //  "required" reads better than "on" for a setting that refuses plain text;
    //  the others are pst_config_bool's words, accepted before this was strict
    static const char *required [] = { "required", "on", "1", "true", "yes", NULL };
    static const char *off [] = { "off", "0", "false", "no", NULL };
    if (!value)
        return -1;
    for (int i = 0; required [i]; i++)
        if (strcasecmp (value, required [i]) == 0)
            return 1;
    for (int i = 0; off [i]; i++)
        if (strcasecmp (value, off [i]) == 0)
            return 0;
    return -1;
}

int
mailer_config_check (const mailer_config_t *self)
{
    if (!self)
        return -1;
    //  mailer_smtp hands credentials to curl exactly when the user is not empty
    int auth = self->smtp_user && *self->smtp_user;
    if (!auth || self->smtp_starttls)
        return 0;
    if (!self->smtp_allow_plaintext_auth) {
        pst_log (PST_LOG_ERROR, "config_invalid", "name", "POSTERN_SMTP_USER",
                 "reason", "SMTP AUTH would send the password in clear text: set "
                 "POSTERN_SMTP_STARTTLS=required, or POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH=1 "
                 "for a relay on the same host", NULL);
        return -1;
    }
    pst_log (PST_LOG_WARN, "smtp_plaintext_auth", "reason",
             "POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH is set: SMTP AUTH goes out without TLS", NULL);
    return 0;
}

void
mailer_config_destroy (mailer_config_t **self_p)
{
    if (self_p && *self_p) {
        mailer_config_t *self = *self_p;
        free (self->jobs_endpoint);
        free (self->keys_dir);
        free (self->key_name);
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
