/*  authn_config - settings of the authn service, from POSTERN_* environment variables.
*/
#ifndef AUTHN_CONFIG_H_INCLUDED
#define AUTHN_CONFIG_H_INCLUDED

#include <stdint.h>

typedef struct {
    char *endpoint;             //  POSTERN_AUTHN_BIND, else POSTERN_AUTHN_ENDPOINT: bound
    char *mfa_endpoint;         //  POSTERN_MFA_ENDPOINT, connected
    char *keys_dir;             //  POSTERN_KEYS_DIR: the bus keys (pst_curve)
    char *key_name;             //  POSTERN_KEY_NAME: this process's, default "authn"
    char *db_path;              //  POSTERN_AUTHN_DB: a file path or a postgres:// URL
                                //  (never logged: it may hold a password)
    char *bootstrap_path;       //  POSTERN_BOOTSTRAP_FILE: management app credentials
    char *domain;               //  POSTERN_DOMAIN
    char *issuer;               //  https://{domain}/
    char *userinfo;             //  https://{domain}/userinfo: /userinfo's audience
    int workers;                //  POSTERN_AUTHN_WORKERS
    int mfa_timeout_ms;         //  POSTERN_BUS_TIMEOUT_MS: cap on a call to mfa
    int id_token_lifetime_s;    //  POSTERN_ID_TOKEN_LIFETIME_S
    int mgmt_token_lifetime_s;  //  POSTERN_MGMT_TOKEN_LIFETIME_S: the Management API's,
                                //  set on its resource server at every start
    int login_max_failures;     //  POSTERN_LOGIN_MAX_FAILURES: per user and IP ...
    int login_max_ip_failures;  //  POSTERN_LOGIN_MAX_IP_FAILURES: ... and per IP ...
    int login_window_s;         //  POSTERN_LOGIN_WINDOW_S: ... within this window
    int64_t refresh_lifetime_s; //  POSTERN_REFRESH_TOKEN_LIFETIME_S: a refresh token
                                //  family's absolute lifetime (Auth0's token_lifetime)
    int64_t refresh_idle_s;     //  POSTERN_REFRESH_TOKEN_IDLE_LIFETIME_S: unused this long,
                                //  a refresh token expires (Auth0's idle_token_lifetime)
    int audit_retention_days;   //  POSTERN_AUDIT_RETENTION_DAYS: audit rows older are
                                //  deleted (0: kept), as mfa's
    int64_t (*now_s) (void);    //  clock hook for tests; NULL = real time
} authn_config_t;

//  Reads the environment; caller destroys.
authn_config_t *
    authn_config_from_env (void);
void
    authn_config_destroy (authn_config_t **self_p);

//  Current Unix time in seconds, through the hook when set; never a second
//  behind authn_config_now_ms read before it.
int64_t
    authn_config_now (const authn_config_t *self);

//  The same clock in milliseconds (with the hook: its second, times 1000).
int64_t
    authn_config_now_ms (const authn_config_t *self);

#endif
