/*  pst_log - structured logging, one JSON object per line on stderr.

    Fields are key/value pairs so that secrets can be recognised by name: any key
    that names a secret (password, code, token, secret, otp, recovery...) is printed
    as "[redacted]", whatever the caller passed. Messages never interpolate values.
*/
#ifndef PST_LOG_H_INCLUDED
#define PST_LOG_H_INCLUDED

typedef enum {
    PST_LOG_DEBUG = 0,
    PST_LOG_INFO = 1,
    PST_LOG_WARN = 2,
    PST_LOG_ERROR = 3
} pst_log_level_t;

//  Sets the service name put on every line and the minimum level
//  (POSTERN_LOG_LEVEL: debug, info, warn, error).
void
    pst_log_init (const char *service);

//  Logs event with NULL-terminated key, value string pairs, e.g.
//  pst_log (PST_LOG_INFO, "user_created", "user_id", id, NULL);
void
    pst_log (pst_log_level_t level, const char *event, ...)
    __attribute__ ((sentinel));

//  True when key names a secret and its value must never be printed.
int
    pst_log_key_is_secret (const char *key);

//  Writes log lines to fd instead of stderr (tests).
void
    pst_log_set_fd (int fd);

#endif
