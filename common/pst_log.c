#include "pst_log.h"
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char s_service [32] = "postern";
static pst_log_level_t s_min_level = PST_LOG_INFO;
static int s_fd = STDERR_FILENO;
static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *s_level_names [] = { "debug", "info", "warn", "error" };

//  Substrings that mark a key as secret. Matching is by substring so that
//  "client_secret", "mfa_token" and "binding_code" are all caught.
static const char *s_secret_words [] = {
    "password", "secret", "token", "code", "otp", "recovery", "authorization",
    "cookie", "key", "pass", "credential", "jwt", "bearer", "assertion", NULL
};

//  Keys that contain a secret word but only ever hold non-secret identifiers.
static const char *s_safe_keys [] = {
    "error_code", "status_code", "kid", "smtp_code", "response_code", NULL
};

void
pst_log_init (const char *service)
{
    snprintf (s_service, sizeof s_service, "%s", service? service: "postern");
    const char *level = getenv ("POSTERN_LOG_LEVEL");
    if (level) {
        for (int i = 0; i < 4; i++)
            if (strcasecmp (level, s_level_names [i]) == 0)
                s_min_level = (pst_log_level_t) i;
    }
}

void
pst_log_set_fd (int fd)
{
    s_fd = fd;
}

int
pst_log_key_is_secret (const char *key)
{
    if (!key)
        return 0;
    for (int i = 0; s_safe_keys [i]; i++)
        if (strcasecmp (key, s_safe_keys [i]) == 0)
            return 0;
    for (int i = 0; s_secret_words [i]; i++)
        if (strcasestr (key, s_secret_words [i]))
            return 1;
    return 0;
}

void
pst_log (pst_log_level_t level, const char *event, ...)
{
    if (level < s_min_level || level > PST_LOG_ERROR)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r (&now.tv_sec, &utc);
    char stamp [40];
    size_t len = strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf (stamp + len, sizeof stamp - len, ".%03ldZ", now.tv_nsec / 1000000);

    json_t *line = json_object ();
    json_object_set_new (line, "ts", json_string (stamp));
    json_object_set_new (line, "level", json_string (s_level_names [level]));
    json_object_set_new (line, "svc", json_string (s_service));
    json_object_set_new (line, "event", json_string (event? event: "?"));

    va_list args;
    va_start (args, event);
    const char *key;
    while ((key = va_arg (args, const char *))) {
        const char *value = va_arg (args, const char *);
        if (pst_log_key_is_secret (key))
            value = "[redacted]";
        //  json_string refuses invalid UTF-8; never let a log line vanish for that
        json_t *string = value? json_string (value): json_null ();
        //  a caller's field never overwrites the line's own
        char renamed [80];
        if (json_object_get (line, key)) {
            snprintf (renamed, sizeof renamed, "field_%s", key);
            key = renamed;
        }
        json_object_set_new (line, key, string? string: json_string ("[invalid utf-8]"));
    }
    va_end (args);

    //  The line and its newline in one write: one system call, and a line
    //  that no other process writing to the same pipe can split (up to PIPE_BUF)
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII;
    char small [2048];
    char *large = NULL;
    char *text = small;
    size_t size = json_dumpb (line, small, sizeof small - 1, flags);
    if (size > sizeof small - 1) {
        large = (char *) malloc (size + 1);
        text = large;
        if (!large || json_dumpb (line, large, size, flags) != size)
            size = 0;
    }
    json_decref (line);
    if (size > 0) {
        text [size] = '\n';
        pthread_mutex_lock (&s_mutex);
        ssize_t rc = write (s_fd, text, size + 1);
        (void) rc;
        pthread_mutex_unlock (&s_mutex);
    }
    free (large);
}
