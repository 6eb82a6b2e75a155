/*  mfa_config - settings of the mfa service, from POSTERN_* environment variables.

    The struct is public so tests can shorten lifetimes, point the data at a temp
    dir and move the clock (now_ms) without touching the environment.
*/
#ifndef MFA_CONFIG_H_INCLUDED
#define MFA_CONFIG_H_INCLUDED

#include <stdint.h>

typedef struct {
    char *endpoint;             //  POSTERN_MFA_BIND / _ENDPOINT: bound ROUTER for gateway, authn
    char *jobs_endpoint;        //  POSTERN_MFA_JOBS_BIND / _ENDPOINT: bound ROUTER for mailers
    char *keys_dir;             //  POSTERN_KEYS_DIR: the bus keys (pst_curve)
    char *key_name;             //  POSTERN_KEY_NAME: this process's, default "mfa"
    char *db_path;              //  POSTERN_MFA_DB
    char *code_key_file;        //  POSTERN_MFA_CODE_KEY_FILE, HMAC key kept out of the db (S8)
    char *friendly_name;        //  POSTERN_FRIENDLY_NAME, tenant name in the email
    int workers;                //  POSTERN_MFA_WORKERS
    int code_ttl_s;             //  POSTERN_CODE_TTL_S, email code lifetime
    int token_ttl_s;            //  POSTERN_MFA_TOKEN_TTL_S, mfa_token lifetime
    int code_max_attempts;      //  POSTERN_CODE_MAX_ATTEMPTS, per oob_code (S4)
    int fail_capacity;          //  POSTERN_MFA_FAIL_BUCKET, wrong codes per user (S5)
    int fail_refill_s;          //  POSTERN_MFA_FAIL_REFILL_S, one token back every ...
    int recovery_capacity;      //  POSTERN_MFA_RECOVERY_BUCKET, wrong recovery codes per user
    int recovery_refill_s;      //  POSTERN_MFA_RECOVERY_REFILL_S, one back every ...
    int send_capacity;          //  POSTERN_MFA_SEND_BURST, emails per user (S6)
    int send_refill_s;          //  POSTERN_MFA_SEND_REFILL_S
    int audit_retention_days;   //  POSTERN_AUDIT_RETENTION_DAYS, audit rows older are
                                //  pruned; 0 keeps them forever
    int64_t (*now_ms) (void);   //  clock hook for tests (S2); NULL = real time
} mfa_config_t;

//  Reads the environment; NULL when out of memory. Caller destroys.
mfa_config_t *
    mfa_config_from_env (void);
void
    mfa_config_destroy (mfa_config_t **self_p);

//  Replaces one of the string settings with a copy of value; 0 or -1.
int
    mfa_config_set_str (char **field, const char *value);

//  Current Unix time in milliseconds, through the hook when set.
int64_t
    mfa_config_now_ms (const mfa_config_t *self);

#endif
