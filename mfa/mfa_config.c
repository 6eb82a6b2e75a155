#include "mfa_config.h"
#include "pst_clock.h"
#include "pst_config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  A path setting: the variable when set, else a file in the data directory.
//  POSTERN_MFA_DB may be a postgres:// URL: it passes unchanged, and is never
//  logged (it may hold a password).
static char *
s_path (const char *name, const char *file)
{
    const char *value = pst_config_str (name, NULL);
    return value? strdup (value): pst_config_data_path (file);
}

mfa_config_t *
mfa_config_from_env (void)
{
    mfa_config_t *self = (mfa_config_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = pst_config_bus_bind ("POSTERN_MFA_BIND", "POSTERN_MFA_ENDPOINT", "mfa.sock");
    self->jobs_endpoint = pst_config_bus_bind ("POSTERN_MFA_JOBS_BIND", "POSTERN_MFA_JOBS_ENDPOINT",
                                               "mfa-jobs.sock");
    self->keys_dir = pst_config_keys_dir ();
    self->key_name = pst_config_key_name ("mfa");
    self->db_path = s_path ("POSTERN_MFA_DB", "mfa.db");
    self->code_key_file = s_path ("POSTERN_MFA_CODE_KEY_FILE", "mfa-code.key");
    self->friendly_name = strdup (pst_config_str ("POSTERN_FRIENDLY_NAME", "Postern"));
    //  A challenge's worker waits for a mailer to hold its job, so the workers
    //  bound the challenges in flight, and with them the writer's batches
    self->workers = (int) pst_config_int ("POSTERN_MFA_WORKERS", 16, 1, 64);
    self->code_ttl_s = (int) pst_config_int ("POSTERN_CODE_TTL_S", 300, 30, 3600);
    self->token_ttl_s = (int) pst_config_int ("POSTERN_MFA_TOKEN_TTL_S", 600, 60, 86400);
    self->code_max_attempts = (int) pst_config_int ("POSTERN_CODE_MAX_ATTEMPTS", 5, 1, 100);
    self->fail_capacity = (int) pst_config_int ("POSTERN_MFA_FAIL_BUCKET", 10, 1, 1000);
    self->fail_refill_s = (int) pst_config_int ("POSTERN_MFA_FAIL_REFILL_S", 360, 1, 86400);
    //  Below the failure bucket's refill (10 an hour): recovery guesses alone can
    //  never keep a user's email codes refused
    self->recovery_capacity = (int) pst_config_int ("POSTERN_MFA_RECOVERY_BUCKET", 5, 1, 1000);
    self->recovery_refill_s = (int) pst_config_int ("POSTERN_MFA_RECOVERY_REFILL_S", 720, 1, 86400);
    self->send_capacity = (int) pst_config_int ("POSTERN_MFA_SEND_BURST", 20, 1, 1000);
    self->send_refill_s = (int) pst_config_int ("POSTERN_MFA_SEND_REFILL_S", 60, 1, 86400);
    //  A bounded log, as Auth0 keeps one; up to ten years for those who must keep more
    self->audit_retention_days = (int) pst_config_int ("POSTERN_AUDIT_RETENTION_DAYS",
                                                       30, 0, 3650);
    if (!self->endpoint || !self->jobs_endpoint || !self->keys_dir || !self->key_name || !self->db_path
    ||  !self->code_key_file || !self->friendly_name)
        mfa_config_destroy (&self);
    return self;
}

void
mfa_config_destroy (mfa_config_t **self_p)
{
    if (self_p && *self_p) {
        mfa_config_t *self = *self_p;
        free (self->endpoint);
        free (self->jobs_endpoint);
        free (self->keys_dir);
        free (self->key_name);
        free (self->db_path);
        free (self->code_key_file);
        free (self->friendly_name);
        free (self);
        *self_p = NULL;
    }
}

int
mfa_config_set_str (char **field, const char *value)
{
    char *copy = value? strdup (value): NULL;
    if (value && !copy)
        return -1;
    free (*field);
    *field = copy;
    return 0;
}

int64_t
mfa_config_now_ms (const mfa_config_t *self)
{
    if (self && self->now_ms)
        return self->now_ms ();
    return pst_clock_wall_ms ();
}
