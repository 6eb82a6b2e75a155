#include "mfa_jobs_ops.h"
#include "mfa_job_id.h"
#include "mfa_provider.h"
#include "pst_error.h"
#include "pst_log.h"
#include <czmq.h>
#include <stdbool.h>
#include <string.h>

//  A mailer's result, recorded in the writer's next batch
typedef struct {
    char job_id [65];
    char state [16];
    char *detail;               //  the mailer's, or NULL
    int64_t now;
} s_result_t;

static int
s_result_unit (mfa_store_t *store, void *args)
{
    s_result_t *record = (s_result_t *) args;
    char *user_id = NULL;
    int rc = mfa_store_job_update (store, record->job_id, record->state, record->detail,
                                   record->now, &user_id);
    //  Ahead of its challenge, whose worker commits once the mailer's
    //  acknowledgement reaches it: the row waits for it (mfa_store_job_put),
    //  which then writes the `fn` event
    bool ahead = rc == 0 && mfa_job_id_settling (record->job_id, record->now);
    if (ahead && mfa_store_job_result_first (store, record->job_id, record->state,
                                             record->detail, record->now) != 0)
        ahead = false;
    pst_log (streq (record->state, "sent") || streq (record->state, "cancelled")
             ? PST_LOG_INFO: PST_LOG_WARN, "mail_result",
             "job_id", record->job_id, "result", record->state, "user_id", user_id,
             "known", rc == 1? "yes": ahead? "not yet": "no", NULL);
    if (rc == 1)
        mfa_store_audit_mail_end (store, user_id, record->state, record->detail, record->now);
    free (user_id);
    return 0;
}

static void
s_result_free (void *args)
{
    s_result_t *record = (s_result_t *) args;
    free (record->detail);
    free (record);
}

//  mail.result: the mailer's final word on a job. Nobody waits for its record,
//  so it goes to the writer without waiting: many results share a commit, and
//  the dispatcher goes on relaying jobs meanwhile.
void
mfa_jobs_ops_record_result (const pst_msg_t *msg, const mfa_config_t *config,
                            mfa_writer_t *writer)
{
    const char *job_id = pst_msg_get_str (msg, "job_id");
    const char *result = pst_msg_get_str (msg, "result");
    const char *detail = pst_msg_get_str (msg, "detail");
    //  The mailer dropped the job because we said its code was dead (mail.check):
    //  nothing failed, so the job is 'cancelled' and no `fn` event is written
    int cancelled = json_is_true (json_object_get (pst_msg_body (msg), "cancelled"));
    const char *known [] = { "sent", "failed", "expired", NULL };
    int valid = 0;
    for (int i = 0; result && known [i]; i++)
        valid |= streq (result, known [i]);
    if (!job_id || !valid || strlen (job_id) > 64 || (cancelled && !streq (result, "expired"))) {
        pst_log (PST_LOG_WARN, "mail_result_malformed", NULL);
        return;
    }
    s_result_t *record = (s_result_t *) calloc (1, sizeof *record);
    if (!record)
        return;
    snprintf (record->job_id, sizeof record->job_id, "%s", job_id);
    snprintf (record->state, sizeof record->state, "%s", cancelled? "cancelled": result);
    record->detail = detail? strdup (detail): NULL;
    record->now = mfa_config_now_ms (config);
    if (mfa_writer_post (writer, s_result_unit, record, s_result_free) != 0)
        pst_log (PST_LOG_ERROR, "mail_result_lost", "job_id", job_id, NULL);
}

//  mail.check: may the mailer still send this job? Only while its code can
//  complete the challenge (S22). A job we do not know is dead, unless it was
//  made a moment ago: its challenge may not be committed yet (mfa_job_id), so
//  the mailer is told to ask again later. Answered here from our own store:
//  it is one indexed read, and the mailer waits for it.
void
mfa_jobs_ops_check (const pst_msg_t *msg, pst_msg_t *reply, mfa_store_t *store,
                    const mfa_config_t *config)
{
    const char *job_id = pst_msg_get_str (msg, "job_id");
    //  Our job ids are 32 hex characters: a longer one was never ours, and is
    //  neither looked up nor logged
    int ours = strnlen (job_id, 65) <= 64;
    int64_t now = mfa_config_now_ms (config);
    int known = 0;
    int live = !ours? 0
             : store? mfa_store_job_live (store, job_id, now, &known)
             : -1;
    bool settling = live == 0 && !known && mfa_job_id_settling (job_id, now);
    if (live < 0)
        pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    else
    if (settling)
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "The job is not recorded yet. Ask again later.");
    else
        json_object_set_new (pst_msg_body (reply), "live", json_boolean (live));
    pst_log (PST_LOG_DEBUG, "mail_check", "job_id", ours? job_id: NULL,
             "live", live == 1? "yes": settling? "not yet": live == 0? "no": "error", NULL);
}

void
mfa_jobs_ops_provider (pst_msg_t *reply, mfa_store_t *store, const uint8_t code_key [32])
{
    json_t *provider = store? mfa_provider_for_mailer (store, code_key): NULL;
    if (!provider) {
        pst_msg_fail (reply, PST_ERR_INTERNAL, "The email provider could not be read");
        pst_log (PST_LOG_WARN, "mail_provider_unreadable", NULL);
        return;
    }
    //  The password goes out on the CURVE link only: it is never logged
    json_object_update (pst_msg_body (reply), provider);
    json_decref (provider);
}
