#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "mfa_test_support.h"
#include "mfa_server.h"
#include "pst_actor.h"
#include "pst_log.h"
#include "mfa_store_sql.h"
#include "test_db.h"
#include "test_keys.h"

#define TEST_MAILER_CREDIT      10
#define TEST_MAILER_READY_MS    500

static _Atomic int64_t s_offset_ms = 0;

int64_t
mfa_test_now_ms (void)
{
    return zclock_time () + atomic_load (&s_offset_ms);
}

void
mfa_test_clock_advance (int64_t ms)
{
    atomic_fetch_add (&s_offset_ms, ms);
}

void
mfa_test_clock_reset (void)
{
    atomic_store (&s_offset_ms, 0);
}

//  ---------------------------------------------------------------------------
//  Harness

mfa_harness_t *
mfa_harness_new (void (*tune) (mfa_config_t *config))
{
    mfa_harness_t *self = (mfa_harness_t *) calloc (1, sizeof *self);
    assert_non_null (self);
    snprintf (self->dir, sizeof self->dir, "/tmp/postern-mfa-test-XXXXXX");
    assert_non_null (mkdtemp (self->dir));
    setenv ("POSTERN_DATA_DIR", self->dir, 1);
    test_keys_dir ();
    setenv ("POSTERN_MFA_ENDPOINT", "tcp://127.0.0.1:*", 1);
    setenv ("POSTERN_MFA_JOBS_ENDPOINT", "tcp://127.0.0.1:*", 1);
    //  The default file, or a fresh PostgreSQL database in the pg run
    char path [128];
    snprintf (path, sizeof path, "%s/mfa.db", self->dir);
    char *location = test_db_location (path);
    setenv ("POSTERN_MFA_DB", location, 1);
    free (location);
    unsetenv ("POSTERN_MFA_CODE_KEY_FILE");
    self->config = mfa_config_from_env ();
    assert_non_null (self->config);
    self->config->now_ms = mfa_test_now_ms;
    self->config->workers = 4;
    if (tune)
        tune (self->config);
    mfa_test_clock_reset ();
    self->server = pst_actor_new (mfa_server_actor, self->config, "ss", &self->api, &self->jobs);
    assert_non_null (self->server);
    assert_true (strlen (self->api) > 0);
    assert_true (strlen (self->jobs) > 0);
    self->client = pst_client_new (self->api, test_keys_curve ("gateway"), "mfa");
    self->authn = pst_client_new (self->api, test_keys_curve ("authn"), "mfa");
    assert_non_null (self->client);
    assert_non_null (self->authn);
    return self;
}

static void
s_remove_dir (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        char file [512];
        snprintf (file, sizeof file, "%s/%s", path, entry->d_name);
        unlink (file);
    }
    closedir (dir);
    rmdir (path);
}

void
mfa_harness_destroy (mfa_harness_t **self_p)
{
    if (self_p && *self_p) {
        mfa_harness_t *self = *self_p;
        pst_client_destroy (&self->client);
        pst_client_destroy (&self->authn);
        zactor_destroy (&self->server);
        zstr_free (&self->api);
        zstr_free (&self->jobs);
        mfa_config_destroy (&self->config);
        unsetenv ("POSTERN_MFA_DB");
        s_remove_dir (self->dir);
        mfa_test_clock_reset ();
        free (self);
        *self_p = NULL;
    }
}

pst_msg_t *
mfa_test_call (mfa_harness_t *self, const char *op, json_t *body, const char *scopes,
               int timeout_ms)
{
    return mfa_test_call_as (self, op, body, "test-caller", scopes, timeout_ms);
}

pst_msg_t *
mfa_test_call_as (mfa_harness_t *self, const char *op, json_t *body, const char *caller,
                  const char *scopes, int timeout_ms)
{
    pst_msg_t *request = pst_msg_new_request (op, timeout_ms);
    assert_non_null (request);
    //  Sent as the peer the catalogue says calls the op: authn or the gateway
    const pst_op_def_t *row = pst_catalogue_find (NULL, PST_SERVICE_MFA, op);
    //  As the gateway sends it: a caller on the MFA API is an access token's,
    //  with its scopes, and replaces any mfa_token; an mfa_token comes alone
    if (row && row->auth == PST_AUTH_MFA && (json_object_get (body, "mfa_token") || !scopes))
        caller = NULL;
    if (body)
        pst_msg_set_body (request, &body);
    pst_msg_set_caller (request, caller, scopes);
    pst_msg_set_client_ip (request, "127.0.0.1");
    int as_authn = row && !(row->callers & PST_CALLER_GATEWAY);
    pst_msg_t *reply = pst_client_call (as_authn? self->authn: self->client, request);
    pst_msg_destroy (&request);
    return reply;
}

void
mfa_test_factor (mfa_harness_t *self, const char *name, int enabled)
{
    pst_msg_t *reply = mfa_test_call (self, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", name, "data", "enabled", enabled),
        "update:guardian_factors", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
}

char *
mfa_test_begin (mfa_harness_t *self, const char *user_id, const char *email)
{
    pst_msg_t *reply = mfa_test_call (self, "mfa.begin",
        json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "user_id", user_id, "email", email,
                   "client_id", "app1", "client_name", "Test App",
                   "audience", "https://api.example.com/", "scope", "openid read:things"),
        NULL, 3000);
    assert_reply_ok (reply);
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "mfa_required")));
    const char *token = pst_msg_get_str (reply, "mfa_token");
    assert_non_null (token);
    char *copy = strdup (token);
    pst_msg_destroy (&reply);
    return copy;
}

pst_msg_t *
mfa_test_associate (mfa_harness_t *self, const char *token)
{
    return mfa_test_call (self, "mfa.associate",
        json_pack ("{s:s, s:[s], s:[s]}", "mfa_token", token,
                   "authenticator_types", "oob", "oob_channels", "email"), NULL, 3000);
}

pst_msg_t *
mfa_test_challenge (mfa_harness_t *self, const char *token)
{
    return mfa_test_call (self, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "oob"), NULL, 3000);
}

pst_msg_t *
mfa_test_verify (mfa_harness_t *self, const char *token, const char *oob_code,
                 const char *binding_code)
{
    return mfa_test_call (self, "mfa.verify_oob",
        json_pack ("{s:s, s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "oob_code", oob_code, "binding_code", binding_code), NULL, 3000);
}

pst_msg_t *
mfa_test_recover (mfa_harness_t *self, const char *token, const char *recovery_code)
{
    return mfa_test_call (self, "mfa.verify_recovery",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "recovery_code", recovery_code), NULL, 3000);
}

mfa_fixture_t *
mfa_fixture_new (void (*tune) (mfa_config_t *config))
{
    mfa_fixture_t *self = (mfa_fixture_t *) calloc (1, sizeof *self);
    assert_non_null (self);
    self->mfa = mfa_harness_new (tune);
    self->mailer = test_mailer_new (self->mfa->jobs);
    mfa_test_factor (self->mfa, "email", 1);
    return self;
}

void
mfa_fixture_destroy (mfa_fixture_t **self_p)
{
    if (self_p && *self_p) {
        test_mailer_destroy (&(*self_p)->mailer);
        mfa_harness_destroy (&(*self_p)->mfa);
        free (*self_p);
        *self_p = NULL;
    }
}

void
mfa_test_enrol (mfa_harness_t *self, test_mailer_t *mailer, const char *user_id,
                const char *email, char **recovery_p)
{
    char *token = mfa_test_begin (self, user_id, email);
    pst_msg_t *reply = mfa_test_associate (self, token);
    assert_reply_ok (reply);
    char *oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    if (recovery_p) {
        json_t *codes = json_object_get (pst_msg_body (reply), "recovery_codes");
        assert_int_equal (json_array_size (codes), 1);
        *recovery_p = strdup (json_string_value (json_array_get (codes, 0)));
    }
    pst_msg_destroy (&reply);
    char *code = test_mailer_code (mailer);
    reply = mfa_test_verify (self, token, oob_code, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (code);
    free (oob_code);
    free (token);
}

pst_sql_t *
mfa_test_db (mfa_harness_t *self)
{
    pst_sql_t *db = pst_sql_open (self->config->db_path, &mfa_store_schema);
    assert_non_null (db);
    return db;
}

long long
mfa_test_db_int (mfa_harness_t *self, const char *sql)
{
    pst_sql_t *db = mfa_test_db (self);
    pst_sql_stmt_t *stmt = pst_sql_query (db, sql, "");
    assert_non_null (stmt);
    int rc = pst_sql_step (stmt);
    assert_true (rc >= 0);
    long long value = rc == 1? pst_sql_int64 (stmt, 0): -1;
    pst_sql_done (stmt);
    pst_sql_close (&db);
    return value;
}

//  1 when needle is in any row of mfa's tables on PostgreSQL (a row as text)
static int
s_db_contains (mfa_harness_t *self, const char *needle)
{
    const char *tables [] = { "factors", "policies", "mfa_tokens", "authenticators",
                              "recovery_codes", "challenges", "buckets", "mail_jobs",
                              "audit", "reply_cache", NULL };
    pst_sql_t *db = mfa_test_db (self);
    int found = 0;
    for (int i = 0; !found && tables [i]; i++) {
        char sql [160];
        snprintf (sql, sizeof sql,
                  "SELECT count(*) FROM %s t WHERE strpos (CAST(t AS TEXT), ?) > 0", tables [i]);
        int64_t count = pst_sql_scalar (db, 0, sql, "t", needle);
        assert_true (count >= 0);
        found = count > 0;
    }
    pst_sql_close (&db);
    return found;
}

int
mfa_test_dir_contains (mfa_harness_t *self, const char *needle)
{
    if (test_db_is_postgres () && s_db_contains (self, needle))
        return 1;
    DIR *dir = opendir (self->dir);
    assert_non_null (dir);
    int found = 0;
    struct dirent *entry;
    while (!found && (entry = readdir (dir))) {
        char path [512];
        snprintf (path, sizeof path, "%s/%s", self->dir, entry->d_name);
        struct stat info;
        if (stat (path, &info) || !S_ISREG (info.st_mode))
            continue;
        FILE *file = fopen (path, "rb");
        assert_non_null (file);
        char *data = (char *) malloc ((size_t) info.st_size + 1);
        assert_non_null (data);
        size_t size = fread (data, 1, (size_t) info.st_size, file);
        fclose (file);
        found = memmem (data, size, needle, strlen (needle)) != NULL;
        free (data);
    }
    closedir (dir);
    return found;
}

//  ---------------------------------------------------------------------------
//  Fake mailer

struct _test_mailer_t {
    zactor_t *actor;
};

typedef struct {
    zsock_t *dealer;
    zlistx_t *jobs;             //  JSON text of each job body
    bool holding;               //  acks wait in held until released
    zlistx_t *held;             //  pst_msg_t acks not sent yet
} s_mailer_state_t;

static void
s_mailer_ready (s_mailer_state_t *state)
{
    pst_msg_t *ready = pst_msg_new_request ("mail.ready", 5000);
    json_object_set_new (pst_msg_body (ready), "credit", json_integer (TEST_MAILER_CREDIT));
    pst_bus_send (state->dealer, NULL, ready);
    pst_msg_destroy (&ready);
}

static void
s_mailer_job (s_mailer_state_t *state)
{
    pst_msg_t *job = pst_bus_recv_dealer (state->dealer);
    if (!job)
        return;
    if (streq (pst_msg_op (job), "mail.send")) {
        zlistx_add_end (state->jobs, json_dumps (pst_msg_body (job), JSON_COMPACT));
        pst_msg_t *ack = pst_msg_new_reply (job);
        if (state->holding)
            zlistx_add_end (state->held, ack);
        else {
            pst_bus_send (state->dealer, NULL, ack);
            pst_msg_destroy (&ack);
            s_mailer_ready (state);
        }
    }
    pst_msg_destroy (&job);
}

static void
s_job_free (void **item)
{
    free (*item);
    *item = NULL;
}

static char *
s_code_of (const char *job_text)
{
    json_t *job = json_loads (job_text, 0, NULL);
    const char *text = json_string_value (json_object_get (job, "text"));
    const char *mark = text? strstr (text, "code is: "): NULL;
    char *code = NULL;
    if (mark && strspn (mark + 9, "0123456789") >= 6)
        code = strndup (mark + 9, 6);
    json_decref (job);
    return code;
}

static void
s_ack_free (void **item)
{
    pst_msg_destroy ((pst_msg_t **) item);
}

//  Sends the held acks back to back, in the order their jobs came
static void
s_mailer_release (s_mailer_state_t *state)
{
    pst_msg_t *ack;
    while ((ack = (pst_msg_t *) zlistx_detach (state->held, NULL))) {
        pst_bus_send (state->dealer, NULL, ack);
        pst_msg_destroy (&ack);
    }
    state->holding = false;
    s_mailer_ready (state);
}

static void
s_mailer_actor (zsock_t *pipe, void *args)
{
    s_mailer_state_t state = {
        test_keys_dealer ("mailer", "mfa", (const char *) args), zlistx_new (), false, zlistx_new ()
    };
    zlistx_set_destructor (state.jobs, s_job_free);
    zlistx_set_destructor (state.held, s_ack_free);
    pst_actor_ready (pipe, NULL);
    s_mailer_ready (&state);
    zpoller_t *poller = zpoller_new (pipe, state.dealer, NULL);
    int64_t next_ready = zclock_mono () + TEST_MAILER_READY_MS;
    while (true) {
        void *which = zpoller_wait (poller, TEST_MAILER_READY_MS);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM")) {
                zstr_free (&command);
                break;
            }
            const char *last = (const char *) zlistx_last (state.jobs);
            char job_id [65], result [16];
            if (sscanf (command, "RESULT %64s %15s", job_id, result) == 2) {
                pst_msg_t *report = pst_msg_new_request ("mail.result", 5000);
                json_object_set_new (pst_msg_body (report), "job_id", json_string (job_id));
                json_object_set_new (pst_msg_body (report), "result", json_string (result));
                json_object_set_new (pst_msg_body (report), "detail",
                                     json_string ("550 mailbox unavailable"));
                zstr_send (pipe, pst_bus_send (state.dealer, NULL, report) == 0? "ok": "failed");
                pst_msg_destroy (&report);
            }
            else
            if (streq (command, "HOLD")) {
                state.holding = true;
                zstr_send (pipe, "ok");
            }
            else
            if (streq (command, "RELEASE")) {
                s_mailer_release (&state);
                zstr_send (pipe, "ok");
            }
            else
            if (streq (command, "COUNT"))
                zstr_sendf (pipe, "%zu", zlistx_size (state.jobs));
            else
            if (streq (command, "CODE")) {
                char *code = last? s_code_of (last): NULL;
                zstr_send (pipe, code? code: "");
                free (code);
            }
            else
                zstr_send (pipe, last? last: "");
            zstr_free (&command);
        }
        else
        if (which == state.dealer)
            s_mailer_job (&state);
        if (zclock_mono () >= next_ready) {
            s_mailer_ready (&state);
            next_ready = zclock_mono () + TEST_MAILER_READY_MS;
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&state.dealer);
    zlistx_destroy (&state.jobs);
    zlistx_destroy (&state.held);
}

test_mailer_t *
test_mailer_new (const char *endpoint)
{
    test_mailer_t *self = (test_mailer_t *) calloc (1, sizeof *self);
    assert_non_null (self);
    self->actor = pst_actor_new (s_mailer_actor, (void *) endpoint, NULL);
    assert_non_null (self->actor);
    return self;
}

void
test_mailer_destroy (test_mailer_t **self_p)
{
    if (self_p && *self_p) {
        zactor_destroy (&(*self_p)->actor);
        free (*self_p);
        *self_p = NULL;
    }
}

int
test_mailer_count (test_mailer_t *self)
{
    zstr_send (self->actor, "COUNT");
    char *answer = zstr_recv (self->actor);
    int count = answer? atoi (answer): -1;
    zstr_free (&answer);
    return count;
}

char *
test_mailer_code (test_mailer_t *self)
{
    zstr_send (self->actor, "CODE");
    char *code = zstr_recv (self->actor);
    assert_non_null (code);
    assert_int_equal (strlen (code), 6);
    return code;
}

char *
test_mailer_last (test_mailer_t *self)
{
    zstr_send (self->actor, "LAST");
    return zstr_recv (self->actor);
}

void
test_mailer_hold (test_mailer_t *self, int hold)
{
    zstr_send (self->actor, hold? "HOLD": "RELEASE");
    char *answer = zstr_recv (self->actor);
    assert_non_null (answer);
    zstr_free (&answer);
}

int
test_mailer_report (test_mailer_t *self, const char *job_id, const char *result)
{
    zstr_sendf (self->actor, "RESULT %s %s", job_id, result);
    char *answer = zstr_recv (self->actor);
    int rc = answer && streq (answer, "ok")? 0: -1;
    zstr_free (&answer);
    return rc;
}

long long
mfa_test_db_wait (mfa_harness_t *self, const char *sql, long long expected, int timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    long long value = mfa_test_db_int (self, sql);
    while (value != expected && zclock_mono () < until) {
        zclock_sleep (10);
        value = mfa_test_db_int (self, sql);
    }
    return value;
}
