/*  pst_config - configuration from environment variables, with defaults.

    Every setting of every service is an environment variable named POSTERN_*;
    README.md lists them all. Bad values are reported and replaced by the default,
    so a typo never turns into a zero timeout.
*/
#ifndef PST_CONFIG_H_INCLUDED
#define PST_CONFIG_H_INCLUDED

//  Value of name, or dflt when unset or empty. Borrowed.
const char *
    pst_config_str (const char *name, const char *dflt);

//  Integer value of name within [min, max], or dflt when unset, empty, not a
//  number or out of range (then a warning is logged).
long
    pst_config_int (const char *name, long dflt, long min, long max);

//  Boolean: 1/true/yes/on or 0/false/no/off, else dflt.
int
    pst_config_bool (const char *name, int dflt);

//  Data directory (POSTERN_DATA_DIR, default "./data"), created 0700 if missing.
//  Returns a newly allocated path joined with file (file may be NULL).
char *
    pst_config_data_path (const char *file);

//  A bus endpoint: the variable name when set, else the ipc socket file in the
//  data directory's bus folder, "ipc://<data dir>/bus/<file>" (a folder of its
//  own, 0700, made by the server that binds it). Caller frees.
char *
    pst_config_bus_endpoint (const char *name, const char *file);

//  The endpoint a service instance binds: bind_name when set (one instance of
//  several, whose callers list them all in name), else what
//  pst_config_bus_endpoint gives for name, which must then be one endpoint.
//  NULL (logged) when name lists several and bind_name is not set. Caller frees.
char *
    pst_config_bus_bind (const char *bind_name, const char *name, const char *file);

//  Where the bus keys are (POSTERN_KEYS_DIR, default <data dir>/keys), and this
//  process's key name (POSTERN_KEY_NAME, default dflt: "gateway", "mailer"...).
//  Caller frees.
char *
    pst_config_keys_dir (void);
char *
    pst_config_key_name (const char *dflt);

//  Public domain, e.g. "localhost:8443" (POSTERN_DOMAIN), and the derived issuer
//  "https://{domain}/". Borrowed.
const char *
    pst_config_domain (void);
//  Caller frees.
char *
    pst_config_issuer (void);

#endif
