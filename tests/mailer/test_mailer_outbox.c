//  mailer_outbox: idempotent insert, claims, state transitions, recovery, backoff.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mailer_outbox.h"
#include "pst_crypto.h"
#include "pst_log.h"

#define CODE "482913"       //  appears only in the bodies of the test job

typedef struct {
    char dir [64];
    char path [128];
    mailer_outbox_t *outbox;
} fixture_t;

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/postern-outbox-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    snprintf (self->path, sizeof self->path, "%s/outbox.db", self->dir);
    self->outbox = mailer_outbox_new (self->path);
    *state = self;
    return self->outbox? 0: -1;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    mailer_outbox_destroy (&self->outbox);
    const char *suffixes [] = { "", "-wal", "-shm", NULL };
    for (int i = 0; suffixes [i]; i++) {
        char file [160];
        snprintf (file, sizeof file, "%s%s", self->path, suffixes [i]);
        unlink (file);
    }
    rmdir (self->dir);
    free (self);
    return 0;
}

//  A job; expires_at in seconds from now.
static mailer_job_t *
s_job (const char *job_id, int64_t expires_in_s)
{
    mailer_job_t *job = mailer_job_new ();
    job->job_id = strdup (job_id);
    job->from = strdup ("Postern <no-reply@postern.test>");
    job->to = strdup ("alice@example.com");
    job->subject = strdup ("Your code " CODE);
    job->text = strdup ("Your code is " CODE);
    job->html = strdup ("<b>" CODE "</b>");
    job->message_id = strdup ("<msg-1@postern.test>");
    job->expires_at = s_now_ms () / 1000 + expires_in_s;
    job->created_at = s_now_ms () / 1000;
    return job;
}

static void
s_insert (mailer_outbox_t *outbox, const char *job_id, int64_t expires_in_s)
{
    mailer_job_t *job = s_job (job_id, expires_in_s);
    assert_int_equal (mailer_outbox_insert (outbox, job, 0), 0);
    mailer_job_destroy (&job);
}

static void
test_insert_idempotent (void **state)
{
    fixture_t *self = *state;
    mailer_job_t *job = s_job ("job-1", 300);
    job->provider_generation = 3;
    assert_int_equal (mailer_outbox_insert (self->outbox, job, s_now_ms () + 5000), 0);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 1);
    //  mfa retried: acknowledged, not stored twice, even with other content
    free (job->text);
    job->text = strdup ("another body");
    assert_int_equal (mailer_outbox_insert (self->outbox, job, 0), 1);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 1);
    mailer_job_destroy (&job);
    mailer_job_t *claimed = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_non_null (claimed);
    assert_string_equal (claimed->text, "Your code is " CODE);
    //  the email provider the job is sent through is kept with it
    assert_int_equal (claimed->provider_generation, 3);
    mailer_job_destroy (&claimed);
}

static void
test_insert_past_deadline (void **state)
{
    fixture_t *self = *state;
    mailer_job_t *job = s_job ("late", 300);
    assert_int_equal (mailer_outbox_insert (self->outbox, job, s_now_ms () - 1), -2);
    assert_int_equal (mailer_outbox_state (self->outbox, "late", NULL), MAILER_STATE_UNKNOWN);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 0);
    mailer_job_destroy (&job);
}

//  Commits in the outbox's WAL: frames of the current WAL whose "database
//  size after commit" is set
static int
s_wal_commits (fixture_t *self)
{
    char path [160];
    snprintf (path, sizeof path, "%s-wal", self->path);
    FILE *file = fopen (path, "rb");
    if (!file)
        return 0;
    uint32_t header [8];
    int commits = 0;
    if (fread (header, sizeof header, 1, file) == 1) {
        uint32_t page_size = ntohl (header [2]);
        uint32_t frame [6];
        while (page_size && fread (frame, sizeof frame, 1, file) == 1
        &&     frame [2] == header [4] && frame [3] == header [5]) {
            commits += frame [1] != 0;
            if (fseek (file, page_size, SEEK_CUR) != 0)
                break;
        }
    }
    fclose (file);
    return commits;
}

//  A batch is one commit: each job stored, acknowledged as a duplicate (of a
//  row, or of a job earlier in the batch) or dropped as late, on its own
static void
test_insert_batch (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "old", 300);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (self->path, &db), SQLITE_OK);
    //  A connection learns the journal mode on its first read
    assert_int_equal (sqlite3_exec (db, "SELECT count(*) FROM outbox", NULL, NULL, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                                 NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_int_equal (s_wal_commits (self), 0);

    const char *ids [] = { "new-1", "old", "late", "new-2", "new-1" };
    mailer_job_t *jobs [5];
    int64_t deadlines [5];
    int results [5];
    for (int i = 0; i < 5; i++) {
        jobs [i] = s_job (ids [i], 300);
        deadlines [i] = streq (ids [i], "late")? s_now_ms () - 1: i == 3? 0: s_now_ms () + 5000;
    }
    assert_int_equal (mailer_outbox_insert_batch (self->outbox, (const mailer_job_t *const *) jobs,
                                                  deadlines, 5, 0, results), 0);
    const int expected [] = { 0, 1, -2, 0, 1 };
    for (int i = 0; i < 5; i++) {
        assert_int_equal (results [i], expected [i]);
        mailer_job_destroy (&jobs [i]);
    }
    assert_int_equal (s_wal_commits (self), 1);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 3);
    assert_int_equal (mailer_outbox_state (self->outbox, "late", NULL), MAILER_STATE_UNKNOWN);
    assert_int_equal (mailer_outbox_state (self->outbox, "new-2", NULL), MAILER_STATE_PENDING);
}

//  Jobs stored for a worker that is handed them in memory go in as claimed:
//  no worker claims them again, they end as a claimed row does, and a crash
//  before that leaves them to recovery
static void
test_insert_batch_sending (void **state)
{
    fixture_t *self = *state;
    const char *ids [] = { "handed-1", "handed-2" };
    mailer_job_t *jobs [2];
    int64_t deadlines [2] = { 0, 0 };
    int results [2];
    for (int i = 0; i < 2; i++)
        jobs [i] = s_job (ids [i], 300);
    assert_int_equal (mailer_outbox_insert_batch (self->outbox, (const mailer_job_t *const *) jobs,
                                                  deadlines, 2, 1, results), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal (results [i], 0);
        int attempts = 0;
        assert_int_equal (mailer_outbox_state (self->outbox, ids [i], &attempts),
                          MAILER_STATE_SENDING);
        assert_int_equal (attempts, 1);
        mailer_job_destroy (&jobs [i]);
    }
    assert_int_equal (mailer_outbox_backlog (self->outbox), 2);
    assert_null (mailer_outbox_claim (self->outbox, s_now_ms ()));
    assert_int_equal (mailer_outbox_finish (self->outbox, "handed-1", MAILER_STATE_SENT, 250, "ok"), 0);
    assert_int_equal (mailer_outbox_state (self->outbox, "handed-1", NULL), MAILER_STATE_SENT);
    //  the other was in a worker's hands when the process died
    assert_int_equal (mailer_outbox_recover (self->outbox), 1);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_non_null (job);
    assert_string_equal (job->job_id, "handed-2");
    assert_int_equal (job->attempts, 2);
    mailer_job_destroy (&job);
}

static void
test_claim_and_finish (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 300);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_PENDING);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_non_null (job);
    assert_string_equal (job->job_id, "job-1");
    assert_string_equal (job->to, "alice@example.com");
    assert_string_equal (job->message_id, "<msg-1@postern.test>");
    assert_int_equal (job->attempts, 1);
    int attempts = 0;
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", &attempts), MAILER_STATE_SENDING);
    assert_int_equal (attempts, 1);
    //  a claimed row is nobody else's
    assert_null (mailer_outbox_claim (self->outbox, s_now_ms ()));
    assert_int_equal (mailer_outbox_finish (self->outbox, "job-1", MAILER_STATE_SENT, 250, "accepted"), 0);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_SENT);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 0);
    assert_int_equal (mailer_outbox_next_due (self->outbox), -1);
    //  terminal is terminal
    assert_int_equal (mailer_outbox_finish (self->outbox, "job-1", MAILER_STATE_FAILED, 550, "x"), -1);
    assert_int_equal (mailer_outbox_retry (self->outbox, "job-1", 0, 451, "x"), -1);
    assert_int_equal (mailer_outbox_finish (self->outbox, "job-1", MAILER_STATE_PENDING, 0, "x"), -1);
    assert_null (mailer_outbox_claim (self->outbox, s_now_ms () + 3600 * 1000));
    mailer_job_destroy (&job);
}

//  Stores count jobs as the bus thread does, already claimed for a worker
static void
s_insert_claimed (fixture_t *self, const char *const *ids, int count)
{
    mailer_job_t *jobs [8];
    int64_t deadlines [8] = { 0 };
    int results [8];
    assert_true (count <= 8);
    for (int i = 0; i < count; i++)
        jobs [i] = s_job (ids [i], 300);
    assert_int_equal (mailer_outbox_insert_batch (self->outbox, (const mailer_job_t *const *) jobs,
                                                  deadlines, count, 1, results), 0);
    for (int i = 0; i < count; i++) {
        assert_int_equal (results [i], 0);
        mailer_job_destroy (&jobs [i]);
    }
}

//  The bus thread ends the jobs its workers report, many per transaction: each
//  row as mailer_outbox_finish would, one that is not claimed left alone and
//  not undoing the others; and the connection syncs its commits again after,
//  or it could accept no job (S20)
static void
test_finish_batch (void **state)
{
    fixture_t *self = *state;
    const char *ids [] = { "end-1", "end-2", "end-3" };
    s_insert_claimed (self, ids, 3);
    mailer_outbox_end_t ends [] = {
        { "end-1", MAILER_STATE_SENT, 250, "smtp 250: accepted" },
        { "nobody", MAILER_STATE_SENT, 250, "smtp 250: accepted" },
        { "end-3", MAILER_STATE_FAILED, 550, "smtp 550: refused" },
        { "end-3", MAILER_STATE_SENT, 250, "a second end of one job" },
    };
    int written [4] = { 9, 9, 9, 9 };
    int commits = s_wal_commits (self);
    assert_int_equal (mailer_outbox_finish_batch (self->outbox, ends, 4, written), 0);
    assert_int_equal (s_wal_commits (self), commits + 1);
    assert_int_equal (written [0], 0);
    assert_int_equal (written [1], -1);
    assert_int_equal (written [2], 0);
    assert_int_equal (written [3], -1);
    assert_int_equal (mailer_outbox_state (self->outbox, "end-1", NULL), MAILER_STATE_SENT);
    assert_int_equal (mailer_outbox_state (self->outbox, "end-2", NULL), MAILER_STATE_SENDING);
    assert_int_equal (mailer_outbox_state (self->outbox, "end-3", NULL), MAILER_STATE_FAILED);
    assert_int_equal (mailer_outbox_state (self->outbox, "nobody", NULL), MAILER_STATE_UNKNOWN);
    assert_int_equal (mailer_outbox_backlog (self->outbox), 1);
    assert_int_equal (mailer_outbox_finish_batch (self->outbox, ends, 0, written), 0);
    //  synced again: an acceptance still stores its job
    mailer_job_t *job = s_job ("after-the-ends", 300);
    assert_int_equal (mailer_outbox_insert (self->outbox, job, 0), 0);
    mailer_job_destroy (&job);
    assert_int_equal (mailer_outbox_state (self->outbox, "after-the-ends", NULL),
                      MAILER_STATE_PENDING);
}

//  A statement that fails undoes the whole batch, so the caller can try every
//  end again: none is ended unreported. The failure here is a trigger that
//  refuses one row's update
static void
test_finish_batch_failure_undoes_all (void **state)
{
    fixture_t *self = *state;
    const char *ids [] = { "end-1", "poison", "end-3" };
    s_insert_claimed (self, ids, 3);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (self->path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db,
        "CREATE TRIGGER refuse_poison BEFORE UPDATE ON outbox WHEN NEW.job_id = 'poison'"
        " BEGIN SELECT RAISE (ABORT, 'refused by the test'); END", NULL, NULL, NULL), SQLITE_OK);
    mailer_outbox_end_t ends [3];
    for (int i = 0; i < 3; i++)
        ends [i] = (mailer_outbox_end_t) { ids [i], MAILER_STATE_SENT, 250, "smtp 250: accepted" };
    int written [3] = { 9, 9, 9 };
    assert_int_equal (mailer_outbox_finish_batch (self->outbox, ends, 3, written), -1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal (written [i], -1);
        assert_int_equal (mailer_outbox_state (self->outbox, ids [i], NULL), MAILER_STATE_SENDING);
    }
    //  tried again once the cause is gone: every end is written
    assert_int_equal (sqlite3_exec (db, "DROP TRIGGER refuse_poison", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_int_equal (mailer_outbox_finish_batch (self->outbox, ends, 3, written), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal (written [i], 0);
        assert_int_equal (mailer_outbox_state (self->outbox, ids [i], NULL), MAILER_STATE_SENT);
    }
    //  and acceptances are synced again after the failed batch too
    mailer_job_t *job = s_job ("after", 300);
    assert_int_equal (mailer_outbox_insert (self->outbox, job, 0), 0);
    mailer_job_destroy (&job);
}

//  A delivery worker's connection does not sync each commit, so it must never
//  be the one that tells mfa a job is stored
static void
test_unsynced_connection_stores_no_job (void **state)
{
    fixture_t *self = *state;
    mailer_outbox_t *worker = mailer_outbox_new (self->path);
    assert_non_null (worker);
    assert_int_equal (mailer_outbox_for_delivery (worker), 0);
    mailer_job_t *job = s_job ("job-1", 300);
    assert_int_equal (mailer_outbox_insert (worker, job, 0), -1);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_UNKNOWN);
    //  its ends are written as the bus thread's are
    assert_int_equal (mailer_outbox_insert (self->outbox, job, 0), 0);
    mailer_job_t *claimed = mailer_outbox_claim (worker, s_now_ms ());
    assert_non_null (claimed);
    mailer_outbox_end_t end = { "job-1", MAILER_STATE_EXPIRED, 0, "expired before delivery" };
    int written = 9;
    assert_int_equal (mailer_outbox_finish_batch (worker, &end, 1, &written), 0);
    assert_int_equal (written, 0);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_EXPIRED);
    //  and it stays a connection that stores no job
    mailer_job_t *other = s_job ("job-2", 300);
    assert_int_equal (mailer_outbox_insert (worker, other, 0), -1);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-2", NULL), MAILER_STATE_UNKNOWN);
    mailer_job_destroy (&other);
    mailer_job_destroy (&claimed);
    mailer_job_destroy (&job);
    mailer_outbox_destroy (&worker);
}

static int
s_file_contains (const char *path, const char *needle)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return 0;
    static char buffer [4 * 1024 * 1024];
    size_t size = fread (buffer, 1, sizeof buffer, file);
    fclose (file);
    return memmem (buffer, size, needle, strlen (needle)) != NULL;
}

static void
test_finished_rows_forget_the_code (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 300);
    char wal [160];
    snprintf (wal, sizeof wal, "%s-wal", self->path);
    //  the test can fail: the code is really on disk while the job is pending
    assert_true (s_file_contains (self->path, CODE) || s_file_contains (wal, CODE));
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_non_null (job);
    assert_int_equal (mailer_outbox_finish (self->outbox, "job-1", MAILER_STATE_SENT, 250, "accepted"), 0);
    mailer_outbox_checkpoint (self->outbox);
    assert_false (s_file_contains (self->path, CODE));
    assert_false (s_file_contains (wal, CODE));
    mailer_job_destroy (&job);
}

static void
test_retry_waits_until_due (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 300);
    int64_t now = s_now_ms ();
    mailer_job_t *job = mailer_outbox_claim (self->outbox, now);
    assert_non_null (job);
    assert_int_equal (mailer_outbox_retry (self->outbox, "job-1", now + 2000, 451, "try later"), 0);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_PENDING);
    assert_int_equal (mailer_outbox_next_due (self->outbox), now + 2000);
    assert_null (mailer_outbox_claim (self->outbox, now + 1999));
    mailer_job_destroy (&job);
    job = mailer_outbox_claim (self->outbox, now + 2000);
    assert_non_null (job);
    assert_int_equal (job->attempts, 2);
    //  the same message goes out again: same Message-ID, same Date
    assert_string_equal (job->message_id, "<msg-1@postern.test>");
    mailer_job_destroy (&job);
}

static void
test_retry_never_waits_past_expiry (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 10);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_non_null (job);
    assert_int_equal (mailer_outbox_retry (self->outbox, "job-1", s_now_ms () + 3600 * 1000, 451, "x"), 0);
    //  due at its expiry, so the worker can end it 'expired' on time
    assert_int_equal (mailer_outbox_next_due (self->outbox), job->expires_at * 1000);
    mailer_job_t *again = mailer_outbox_claim (self->outbox, job->expires_at * 1000);
    assert_non_null (again);
    assert_int_equal (mailer_outbox_finish (self->outbox, "job-1", MAILER_STATE_EXPIRED, 0, "expired"), 0);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_EXPIRED);
    mailer_job_destroy (&again);
    mailer_job_destroy (&job);
}

static void
test_due_rows_in_order (void **state)
{
    fixture_t *self = *state;
    int64_t now = s_now_ms ();
    s_insert (self->outbox, "first", 300);
    s_insert (self->outbox, "second", 300);
    s_insert (self->outbox, "third", 300);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, now + 1000);
    assert_string_equal (job->job_id, "first");
    //  "first" goes to the back of the queue
    assert_int_equal (mailer_outbox_retry (self->outbox, "first", now + 5000, 0, "refused"), 0);
    mailer_job_destroy (&job);
    job = mailer_outbox_claim (self->outbox, now + 1000);
    assert_string_equal (job->job_id, "second");
    mailer_job_destroy (&job);
    job = mailer_outbox_claim (self->outbox, now + 1000);
    assert_string_equal (job->job_id, "third");
    mailer_job_destroy (&job);
    assert_null (mailer_outbox_claim (self->outbox, now + 1000));
    assert_int_equal (mailer_outbox_backlog (self->outbox), 3);
}

static void
test_recover_after_crash (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 300);
    s_insert (self->outbox, "job-2", 300);
    s_insert (self->outbox, "job-3", 300);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_string_equal (job->job_id, "job-1");
    mailer_job_destroy (&job);
    //  job-2 waits a minute after a temporary failure
    job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_string_equal (job->job_id, "job-2");
    assert_int_equal (mailer_outbox_retry (self->outbox, "job-2", s_now_ms () + 60000, 451, "x"), 0);
    mailer_job_destroy (&job);
    //  the process dies with job-1 'sending'; a new one opens the same file
    mailer_outbox_destroy (&self->outbox);
    self->outbox = mailer_outbox_new (self->path);
    assert_non_null (self->outbox);
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", NULL), MAILER_STATE_SENDING);
    assert_int_equal (mailer_outbox_recover (self->outbox), 2);
    assert_int_equal (mailer_outbox_recover (self->outbox), 0);
    int attempts = 0;
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", &attempts), MAILER_STATE_PENDING);
    assert_int_equal (attempts, 1);
    //  all three are due at once, each claimed exactly once
    char seen [4] = { 0 };
    for (int i = 0; i < 3; i++) {
        job = mailer_outbox_claim (self->outbox, s_now_ms ());
        assert_non_null (job);
        int n = job->job_id [4] - '0';
        assert_true (n >= 1 && n <= 3);
        assert_int_equal (seen [n], 0);
        seen [n] = 1;
        mailer_job_destroy (&job);
    }
    assert_null (mailer_outbox_claim (self->outbox, s_now_ms ()));
}

static void
test_release_does_not_count (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 300);
    mailer_job_t *job = mailer_outbox_claim (self->outbox, s_now_ms ());
    assert_int_equal (mailer_outbox_release (self->outbox, "job-1"), 0);
    int attempts = -1;
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", &attempts), MAILER_STATE_PENDING);
    assert_int_equal (attempts, 0);
    assert_int_equal (mailer_outbox_release (self->outbox, "job-1"), -1);   //  not claimed
    mailer_job_destroy (&job);
}

//  mail.check unanswered: the job waits, the check is not an attempt, and the
//  wait never runs past the expiry
static void
test_postpone_waits_uncounted (void **state)
{
    fixture_t *self = *state;
    s_insert (self->outbox, "job-1", 10);
    int64_t now = s_now_ms ();
    mailer_job_t *job = mailer_outbox_claim (self->outbox, now);
    assert_non_null (job);
    assert_int_equal (mailer_outbox_retry (self->outbox, "job-1", now, 451, "try later"), 0);
    mailer_job_destroy (&job);
    job = mailer_outbox_claim (self->outbox, now);
    assert_non_null (job);
    assert_int_equal (job->attempts, 2);
    assert_int_equal (mailer_outbox_postpone (self->outbox, "job-1", now + 2000, "no answer"), 0);
    int attempts = -1;
    assert_int_equal (mailer_outbox_state (self->outbox, "job-1", &attempts), MAILER_STATE_PENDING);
    assert_int_equal (attempts, 1);
    assert_int_equal (mailer_outbox_next_due (self->outbox), now + 2000);
    assert_null (mailer_outbox_claim (self->outbox, now + 1999));
    assert_int_equal (mailer_outbox_postpone (self->outbox, "job-1", now + 4000, "x"), -1);   //  not claimed
    mailer_job_destroy (&job);

    job = mailer_outbox_claim (self->outbox, now + 2000);
    assert_non_null (job);
    assert_int_equal (mailer_outbox_postpone (self->outbox, "job-1", now + 3600 * 1000, "x"), 0);
    assert_int_equal (mailer_outbox_next_due (self->outbox), job->expires_at * 1000);
    mailer_job_destroy (&job);
}

static void
test_two_connections_never_share_a_claim (void **state)
{
    fixture_t *self = *state;
    for (int i = 0; i < 20; i++) {
        char id [16];
        snprintf (id, sizeof id, "job-%02d", i);
        s_insert (self->outbox, id, 300);
    }
    mailer_outbox_t *other = mailer_outbox_new (self->path);
    assert_non_null (other);
    int claimed = 0;
    char seen [20] = { 0 };
    for (int i = 0; i < 20; i++) {
        mailer_outbox_t *which = i % 2? other: self->outbox;
        mailer_job_t *job = mailer_outbox_claim (which, s_now_ms ());
        assert_non_null (job);
        int n = atoi (job->job_id + 4);
        assert_int_equal (seen [n], 0);
        seen [n] = 1;
        claimed++;
        mailer_job_destroy (&job);
    }
    assert_int_equal (claimed, 20);
    assert_null (mailer_outbox_claim (other, s_now_ms ()));
    mailer_outbox_destroy (&other);
}

static void
test_backoff_grows_and_caps (void **state)
{
    (void) state;
    //  random 500 is the middle of the jitter range: no jitter at all
    const int64_t expected [] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000 };
    for (int i = 0; i < 9; i++)
        assert_int_equal (mailer_backoff_ms (i + 1, 500), expected [i]);
    assert_int_equal (mailer_backoff_ms (1000, 500), 60000);
    assert_int_equal (mailer_backoff_ms (0, 500), 1000);
    //  the ends of the range are exactly ±20%
    assert_int_equal (mailer_backoff_ms (1, 0), 800);
    assert_int_equal (mailer_backoff_ms (1, 1000), 1200);
    assert_int_equal (mailer_backoff_ms (7, 0), 48000);
    assert_int_equal (mailer_backoff_ms (7, 1000), 72000);
    assert_int_equal (mailer_backoff_ms (1, 5000), 1200);     //  clamped
}

static void
test_backoff_jitter_within_bounds (void **state)
{
    (void) state;
    for (int attempts = 1; attempts <= 8; attempts++) {
        int64_t base = mailer_backoff_ms (attempts, 500);
        int64_t low = INT64_MAX, high = 0;
        for (int i = 0; i < 200; i++) {
            int64_t delay = mailer_backoff_ms (attempts, pst_random_uniform (1001));
            assert_true (delay >= base * 80 / 100);
            assert_true (delay <= base * 120 / 100);
            low = delay < low? delay: low;
            high = delay > high? delay: high;
        }
        //  200 draws over ±20% spread out: jitter is really applied
        assert_true (high - low > base / 10);
    }
}

static void
test_state_names (void **state)
{
    (void) state;
    assert_string_equal (mailer_state_name (MAILER_STATE_SENT), "sent");
    assert_string_equal (mailer_state_name (MAILER_STATE_FAILED), "failed");
    assert_string_equal (mailer_state_name (MAILER_STATE_EXPIRED), "expired");
    assert_string_equal (mailer_state_name (MAILER_STATE_PENDING), "pending");
}

int
main (void)
{
    assert_int_equal (pst_crypto_init (), 0);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_insert_idempotent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_insert_past_deadline, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_insert_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_insert_batch_sending, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_claim_and_finish, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_finish_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_finish_batch_failure_undoes_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unsynced_connection_stores_no_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_finished_rows_forget_the_code, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_waits_until_due, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_never_waits_past_expiry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_due_rows_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recover_after_crash, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_release_does_not_count, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_postpone_waits_uncounted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_two_connections_never_share_a_claim, s_setup, s_teardown),
        cmocka_unit_test (test_backoff_grows_and_caps),
        cmocka_unit_test (test_backoff_jitter_within_bounds),
        cmocka_unit_test (test_state_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
