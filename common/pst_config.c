#include "pst_config.h"
#include "pst_log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *
pst_config_str (const char *name, const char *dflt)
{
    const char *value = getenv (name);
    return value && *value? value: dflt;
}

long
pst_config_int (const char *name, long dflt, long min, long max)
{
    const char *value = getenv (name);
    if (!value || !*value)
        return dflt;
    char *end = NULL;
    errno = 0;
    long number = strtol (value, &end, 10);
    if (errno || !end || *end || number < min || number > max) {
        pst_log (PST_LOG_WARN, "config_value_ignored", "name", name,
                 "reason", "not an integer in range", NULL);
        return dflt;
    }
    return number;
}

int
pst_config_bool (const char *name, int dflt)
{
    const char *value = getenv (name);
    if (!value || !*value)
        return dflt;
    const char *yes [] = { "1", "true", "yes", "on" };
    const char *no [] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp (value, yes [i]) == 0)
            return 1;
        if (strcasecmp (value, no [i]) == 0)
            return 0;
    }
    pst_log (PST_LOG_WARN, "config_value_ignored", "name", name, "reason", "not a boolean", NULL);
    return dflt;
}

char *
pst_config_data_path (const char *file)
{
    const char *dir = pst_config_str ("POSTERN_DATA_DIR", "./data");
    if (mkdir (dir, 0700) != 0 && errno != EEXIST)
        pst_log (PST_LOG_ERROR, "data_dir_unusable", "path", dir, "reason", strerror (errno), NULL);
    char *path = NULL;
    if (asprintf (&path, "%s%s%s", dir, file? "/": "", file? file: "") < 0)
        return NULL;
    return path;
}

char *
pst_config_bus_endpoint (const char *name, const char *file)
{
    const char *value = pst_config_str (name, NULL);
    char *endpoint = NULL;
    if (value)
        endpoint = strdup (value);
    else
    if (asprintf (&endpoint, "ipc://%s/bus/%s", pst_config_str ("POSTERN_DATA_DIR", "./data"),
                  file) < 0)
        endpoint = NULL;
    return endpoint;
}

char *
pst_config_bus_bind (const char *bind_name, const char *name, const char *file)
{
    const char *bind = pst_config_str (bind_name, NULL);
    if (bind)
        return strdup (bind);
    char *endpoint = pst_config_bus_endpoint (name, file);
    if (endpoint && strchr (endpoint, ',')) {
        pst_log (PST_LOG_ERROR, "config_invalid", "name", bind_name,
                 "reason", "the endpoint lists several instances: say which one this is", NULL);
        free (endpoint);
        return NULL;
    }
    return endpoint;
}

char *
pst_config_keys_dir (void)
{
    const char *value = pst_config_str ("POSTERN_KEYS_DIR", NULL);
    return value? strdup (value): pst_config_data_path ("keys");
}

char *
pst_config_key_name (const char *dflt)
{
    return strdup (pst_config_str ("POSTERN_KEY_NAME", dflt));
}

const char *
pst_config_domain (void)
{
    return pst_config_str ("POSTERN_DOMAIN", "localhost:8443");
}

char *
pst_config_issuer (void)
{
    char *issuer = NULL;
    if (asprintf (&issuer, "https://%s/", pst_config_domain ()) < 0)
        return NULL;
    return issuer;
}
