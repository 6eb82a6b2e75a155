#include "authn_config.h"
#include "pst_clock.h"
#include "pst_config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

authn_config_t *
authn_config_from_env (void)
{
    authn_config_t *self = (authn_config_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = pst_config_bus_bind ("POSTERN_AUTHN_BIND", "POSTERN_AUTHN_ENDPOINT",
                                          "authn.sock");
    self->mfa_endpoint = pst_config_bus_endpoint ("POSTERN_MFA_ENDPOINT", "mfa.sock");
    self->keys_dir = pst_config_keys_dir ();
    self->key_name = pst_config_key_name ("authn");
    //  A file path, or a postgres:// URL: either is taken as it is, never
    //  joined to the data directory (and never logged: a URL may hold a password)
    const char *db = pst_config_str ("POSTERN_AUTHN_DB", NULL);
    self->db_path = db? strdup (db): pst_config_data_path ("authn.db");
    const char *bootstrap = pst_config_str ("POSTERN_BOOTSTRAP_FILE", NULL);
    self->bootstrap_path = bootstrap? strdup (bootstrap): pst_config_data_path ("bootstrap.json");
    self->domain = strdup (pst_config_domain ());
    self->issuer = pst_config_issuer ();
    if (self->issuer && asprintf (&self->userinfo, "%suserinfo", self->issuer) < 0)
        self->userinfo = NULL;
    //  A worker waits out each call to mfa (a challenge waits for a mailer's
    //  commit), so the workers, not the cores, bound how many MFA requests are in
    //  flight; argon2id stays at one hash per core (pst_crypto's slots), and the
    //  sign-ins of one user take turns (authn_attempts), so the count does not
    //  meet the throttle's limits
    self->workers = (int) pst_config_int ("POSTERN_AUTHN_WORKERS", 16, 1, 64);
    self->mfa_timeout_ms = (int) pst_config_int ("POSTERN_BUS_TIMEOUT_MS", 2000, 50, 60000);
    self->id_token_lifetime_s = (int) pst_config_int ("POSTERN_ID_TOKEN_LIFETIME_S", 36000, 60, 864000);
    self->mgmt_token_lifetime_s = (int) pst_config_int ("POSTERN_MGMT_TOKEN_LIFETIME_S", 3600, 60, 86400);
    self->login_max_failures = (int) pst_config_int ("POSTERN_LOGIN_MAX_FAILURES", 10, 1, 1000);
    self->login_max_ip_failures = (int) pst_config_int ("POSTERN_LOGIN_MAX_IP_FAILURES", 100, 1, 1000000);
    self->login_window_s = (int) pst_config_int ("POSTERN_LOGIN_WINDOW_S", 900, 1, 86400);
    //  Auth0's defaults with rotation: 30 days absolute, 15 days idle; up to
    //  Auth0's own ceiling (a year). An idle lifetime past the absolute one
    //  would mean nothing: it is cut down to it.
    self->refresh_lifetime_s = pst_config_int ("POSTERN_REFRESH_TOKEN_LIFETIME_S", 2592000, 60, 31557600);
    self->refresh_idle_s = pst_config_int ("POSTERN_REFRESH_TOKEN_IDLE_LIFETIME_S", 1296000, 60, 31557600);
    //  The same setting, and bounds, as mfa's audit rows
    self->audit_retention_days = (int) pst_config_int ("POSTERN_AUDIT_RETENTION_DAYS",
                                                       30, 0, 3650);
    if (self->refresh_idle_s > self->refresh_lifetime_s)
        self->refresh_idle_s = self->refresh_lifetime_s;
    if (!self->endpoint || !self->mfa_endpoint || !self->keys_dir || !self->key_name
    ||  !self->db_path || !self->bootstrap_path
    ||  !self->domain || !self->issuer || !self->userinfo)
        authn_config_destroy (&self);
    return self;
}

void
authn_config_destroy (authn_config_t **self_p)
{
    if (self_p && *self_p) {
        authn_config_t *self = *self_p;
        free (self->endpoint);
        free (self->mfa_endpoint);
        free (self->keys_dir);
        free (self->key_name);
        free (self->db_path);
        free (self->bootstrap_path);
        free (self->domain);
        free (self->issuer);
        free (self->userinfo);
        free (self);
        *self_p = NULL;
    }
}

//  The second of authn_config_now_ms, not time (): glibc's time () reads a
//  coarse clock that can still show the last second for a tick after
//  clock_gettime has passed it, and a token whose iat fell back into the
//  second of a revocation it was issued after would be taken as revoked.
int64_t
authn_config_now (const authn_config_t *self)
{
    return authn_config_now_ms (self) / 1000;
}

int64_t
authn_config_now_ms (const authn_config_t *self)
{
    if (self->now_s)
        return self->now_s () * 1000;
    return pst_clock_wall_ms ();
}
