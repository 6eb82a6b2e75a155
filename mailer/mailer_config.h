/*  mailer_config - the mailer's settings, from POSTERN_* environment variables.

    A plain struct, like pst_service_config_t, so tests can build one by hand. The
    strings are owned by the struct: set them with mailer_config_set, which copies.

    Most bad values fall back to the default with a warning (pst_config), but the
    settings that decide whether mail and credentials travel encrypted do not: an
    unknown POSTERN_SMTP_STARTTLS, or SMTP AUTH that would go out in clear text,
    stops the mailer at startup instead of weakening it silently.
*/
#ifndef MAILER_CONFIG_H_INCLUDED
#define MAILER_CONFIG_H_INCLUDED

typedef struct {
    char *jobs_endpoint;        //  mfa's mail-jobs ROUTER, e.g. ipc://data/bus/mfa-jobs.sock
    char *keys_dir;             //  the bus keys (pst_curve)
    char *key_name;             //  this mailer's key: "mailer", "mailer-2" ...
    char *outbox_path;          //  this replica's SQLite outbox
    char *smtp_host;
    int smtp_port;
    char *smtp_user;            //  NULL: no SMTP AUTH
    char *smtp_password;
    int smtp_starttls;          //  0 off, 1 required (CURLUSESSL_ALL, peer and host verified)
    int smtp_allow_plaintext_auth;  //  1: AUTH without TLS accepted (a relay on localhost)
    char *smtp_ca_file;         //  NULL: system CA store
    char *default_from;         //  From when a job has none, "Name <addr>" or "addr"
    int concurrency;            //  deliveries in flight (worker threads)
    int connect_timeout_s;      //  TCP connect
    int response_timeout_s;     //  each SMTP stage (greeting, MAIL, RCPT, DATA...)
    int total_timeout_s;        //  one whole delivery attempt
    int max_backlog;            //  unfinished jobs in the outbox beyond which no credit
} mailer_config_t;

//  Built-in defaults, ignoring the environment. outbox_path is NULL: the caller
//  must set one. NULL when out of memory.
mailer_config_t *
    mailer_config_new (void);

//  Defaults overridden by POSTERN_MFA_JOBS_ENDPOINT, POSTERN_KEYS_DIR,
//  POSTERN_KEY_NAME, POSTERN_MAILER_OUTBOX,
//  POSTERN_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS, _CA_FILE, _FROM,
//  _ALLOW_PLAINTEXT_AUTH, POSTERN_MAILER_CONCURRENCY, POSTERN_MAILER_MAX_BACKLOG,
//  POSTERN_SMTP_CONNECT_TIMEOUT, POSTERN_SMTP_RESPONSE_TIMEOUT and
//  POSTERN_SMTP_TIMEOUT (seconds). NULL when out of memory or when
//  POSTERN_SMTP_STARTTLS is not one of the accepted values (logged). Settings that
//  only make sense together are judged by mailer_config_check, which the server
//  runs before it starts.
mailer_config_t *
    mailer_config_from_env (void);

//  1 when host is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x) or
//  "localhost": where POSTERN_SMTP_STARTTLS may default to off.
int
    mailer_config_host_is_loopback (const char *host);

//  Parses a POSTERN_SMTP_STARTTLS value, case-insensitively: "off" (also "0",
//  "false", "no") gives 0, "required" (also "on", "1", "true", "yes") gives 1.
//  Anything else: -1, and nothing is guessed.
int
    mailer_config_starttls_parse (const char *value);

//  Refuses settings that would expose secrets: SMTP AUTH (a non-empty smtp_user)
//  without STARTTLS required, unless smtp_allow_plaintext_auth is set, which is
//  then logged as a warning. Logs a config_invalid line naming the variables for
//  each problem. 0 or -1.
int
    mailer_config_check (const mailer_config_t *self);

void
    mailer_config_destroy (mailer_config_t **self_p);

//  Replaces the string at *field_p with a copy of value (NULL clears it). 0 or -1.
int
    mailer_config_set (char **field_p, const char *value);

#endif
