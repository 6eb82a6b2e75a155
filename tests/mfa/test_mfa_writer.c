//  Unit tests of mfa_writer: units queued while a batch runs share the next
//  commit, a unit that fails undoes only itself, a lost transaction fails its
//  whole batch and nothing after it runs outside one, posted units run in order,
//  wait for a waited unit's commit and are committed on their own after their
//  linger or when the writer stops; on SQLite the writer's connection keeps the
//  larger page cache. Batches are made deterministic without
//  timing: the first unit holds the writer until the others are queued
//  (mfa_writer_pending_all), and a linger of a minute stands for "not yet".

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mfa_store.h"
#include "mfa_replay.h"
#include "mfa_worker.h"
#include "mfa_writer.h"
#include "mfa_store_sql.h"
#include "pst_error.h"
#include "pst_sql.h"
#include "test_db.h"

#define THREADS         8
#define WAIT_LIMIT_MS   10000

typedef struct {
    char dir [64];
    char path [128];
    char *location;             //  path, or a PostgreSQL database in the pg run
    mfa_writer_t *writer;
    mfa_store_t *reader;        //  the test's own connection, to look
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) calloc (1, sizeof *fixture);
    snprintf (fixture->dir, sizeof fixture->dir, "/tmp/postern-mfa-writer-XXXXXX");
    assert_non_null (mkdtemp (fixture->dir));
    snprintf (fixture->path, sizeof fixture->path, "%s/mfa.db", fixture->dir);
    fixture->location = test_db_location (fixture->path);
    fixture->reader = mfa_store_new (fixture->location);
    assert_non_null (fixture->reader);
    fixture->writer = mfa_writer_new (fixture->location);
    assert_non_null (fixture->writer);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_writer_destroy (&fixture->writer);
    assert_null (fixture->writer);
    mfa_store_destroy (&fixture->reader);
    const char *suffixes [] = { "", "-wal", "-shm", NULL };
    for (int i = 0; suffixes [i]; i++) {
        char file [160];
        snprintf (file, sizeof file, "%s%s", fixture->path, suffixes [i]);
        unlink (file);
    }
    rmdir (fixture->dir);
    free (fixture->location);
    free (fixture);
    return 0;
}

//  What a unit does, for the test
typedef enum {
    UNIT_INSERT,                //  an audit row of its type
    UNIT_INSERT_THEN_FAIL,      //  the row in a savepoint, then rolled back to it
    UNIT_STATEMENT_FAILS,       //  a statement fails in its savepoint; rolled back, it goes on
    UNIT_LOSE_TRANSACTION,      //  ends the batch's transaction, as an I/O error would
    UNIT_BROKEN                 //  says it could not leave the transaction usable
} unit_kind_t;

typedef struct {
    unit_kind_t kind;
    char type [32];
    long hold_until_pending;    //  > 0: wait for this many units in the writer, itself included
    int held;                   //  1 when it saw them
    atomic_int started;         //  1 once the writer runs it
    int broken;                 //  a store call failed in the writer (no cmocka there)
    int rc;                     //  mfa_writer_run's answer
    mfa_writer_t *writer;
    atomic_int *done_calls;     //  posted units: counts their done
} unit_t;

static int
s_insert (mfa_store_t *store, const char *type)
{
    mfa_audit_t event = { .type = type, .result = "success" };
    return mfa_store_audit (store, &event, 0);
}

//  Runs in the writer's thread, where cmocka cannot assert: it notes instead
static int
s_unit (mfa_store_t *store, void *args)
{
    unit_t *unit = (unit_t *) args;
    atomic_store (&unit->started, 1);
    if (unit->hold_until_pending > 0) {
        int64_t until = zclock_mono () + WAIT_LIMIT_MS;
        while (mfa_writer_pending_all () < unit->hold_until_pending && zclock_mono () < until)
            zclock_sleep (1);
        unit->held = mfa_writer_pending_all () >= unit->hold_until_pending;
    }
    int rc = 0;
    switch (unit->kind) {
        case UNIT_INSERT:
            unit->broken = s_insert (store, unit->type) != 0;
            break;
        case UNIT_INSERT_THEN_FAIL:
            unit->broken = mfa_store_savepoint (store) != 0
                        || s_insert (store, unit->type) != 0
                        || mfa_store_rollback_to (store) != 0;
            break;
        case UNIT_STATEMENT_FAILS: {
            //  The second insert of one key fails: on PostgreSQL the whole
            //  transaction stops until the unit rolls back to its savepoint
            char id [48];
            snprintf (id, sizeof id, "email|%s", unit->type);
            unit->broken = mfa_store_savepoint (store) != 0
                        || mfa_store_authenticator_insert (store, id, "u", "email", NULL, 0, 0) != 0
                        || mfa_store_authenticator_insert (store, id, "u", "email", NULL, 0, 0) == 0
                        || mfa_store_rollback_to (store) != 0
                        || s_insert (store, unit->type) != 0;
            break;
        }
        case UNIT_LOSE_TRANSACTION:
            unit->broken = s_insert (store, unit->type) != 0 || mfa_store_rollback (store) != 0;
            break;
        case UNIT_BROKEN:
            unit->broken = s_insert (store, unit->type) != 0;
            rc = -1;
            break;
    }
    return rc;
}

static void *
s_thread (void *args)
{
    unit_t *unit = (unit_t *) args;
    unit->rc = mfa_writer_run (unit->writer, s_unit, unit);
    return NULL;
}

//  Runs units [0] .. [count - 1] from threads of their own, [0] first: it holds
//  the writer until the others are queued, so they all share the second batch.
static void
s_run_two_batches (fixture_t *fixture, unit_t *units, int count)
{
    pthread_t threads [THREADS];
    assert_true (count <= THREADS);
    units [0].hold_until_pending = count;
    for (int i = 0; i < count; i++) {
        units [i].writer = fixture->writer;
        assert_int_equal (pthread_create (&threads [i], NULL, s_thread, &units [i]), 0);
        //  The first one is in the writer before the others are started
        int64_t until = zclock_mono () + WAIT_LIMIT_MS;
        while (i == 0 && !atomic_load (&units [0].started) && zclock_mono () < until)
            zclock_sleep (1);
        assert_true (atomic_load (&units [0].started));
    }
    for (int i = 0; i < count; i++)
        pthread_join (threads [i], NULL);
    assert_true (units [0].held);
    for (int i = 0; i < count; i++)
        assert_false (units [i].broken);
}

static int
s_count (fixture_t *fixture, const char *type)
{
    return mfa_store_audit_count (fixture->reader, type, NULL);
}

static void
test_queued_units_share_a_commit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    unit_t units [THREADS];
    memset (units, 0, sizeof units);
    for (int i = 0; i < THREADS; i++)
        snprintf (units [i].type, sizeof units [i].type, "unit_%d", i);
    long before = mfa_writer_commits (fixture->writer);
    s_run_two_batches (fixture, units, THREADS);
    //  Eight transactions, two commits: the first alone, the seven queued behind it
    assert_int_equal (mfa_writer_commits (fixture->writer) - before, 2);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal (units [i].rc, 0);
        assert_int_equal (s_count (fixture, units [i].type), 1);
    }
}

static void
test_a_failing_unit_undoes_only_itself (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    unit_t units [4];
    memset (units, 0, sizeof units);
    const unit_kind_t kinds [] = { UNIT_INSERT, UNIT_STATEMENT_FAILS, UNIT_INSERT_THEN_FAIL,
                                   UNIT_INSERT };
    for (int i = 0; i < 4; i++) {
        units [i].kind = kinds [i];
        snprintf (units [i].type, sizeof units [i].type, "kept_%d", i);
    }
    s_run_two_batches (fixture, units, 4);
    for (int i = 0; i < 4; i++) {
        //  The batch committed: the failing unit's caller hears 0 and finds
        //  its own outcome in what the unit left (here: nothing)
        assert_int_equal (units [i].rc, 0);
        assert_int_equal (s_count (fixture, units [i].type), i == 2? 0: 1);
    }
}

static void
test_a_lost_transaction_fails_its_batch (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    const unit_kind_t breakers [] = { UNIT_LOSE_TRANSACTION, UNIT_BROKEN };
    for (int round = 0; round < 2; round++) {
        unit_t units [4];
        memset (units, 0, sizeof units);
        const unit_kind_t kinds [] = { UNIT_INSERT, UNIT_INSERT, breakers [round], UNIT_INSERT };
        for (int i = 0; i < 4; i++) {
            units [i].kind = kinds [i];
            snprintf (units [i].type, sizeof units [i].type, "lost_%d_%d", round, i);
        }
        long before = mfa_writer_commits (fixture->writer);
        s_run_two_batches (fixture, units, 4);
        //  The first batch committed; the second, whatever ran of it, did not,
        //  and the unit after the breaker never wrote outside a transaction
        assert_int_equal (mfa_writer_commits (fixture->writer) - before, 1);
        assert_int_equal (units [0].rc, 0);
        assert_int_equal (s_count (fixture, units [0].type), 1);
        for (int i = 1; i < 4; i++) {
            assert_int_equal (units [i].rc, -1);
            assert_int_equal (s_count (fixture, units [i].type), 0);
        }
    }
    //  The writer goes on
    unit_t after = { .kind = UNIT_INSERT, .type = "after" };
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit, &after), 0);
    assert_int_equal (s_count (fixture, "after"), 1);
}

static void
s_done (void *args)
{
    unit_t *unit = (unit_t *) args;
    atomic_fetch_add (unit->done_calls, 1);
    free (unit);
}

static void
test_posted_units_run_in_order (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    atomic_int done_calls = 0;
    for (int i = 0; i < 5; i++) {
        unit_t *unit = (unit_t *) calloc (1, sizeof *unit);
        unit->kind = UNIT_INSERT;
        unit->done_calls = &done_calls;
        snprintf (unit->type, sizeof unit->type, "posted");
        assert_int_equal (mfa_writer_post (fixture->writer, s_unit, unit, s_done), 0);
    }
    //  A unit run after them returns once they are committed: the queue is in order
    unit_t last = { .kind = UNIT_INSERT, .type = "last" };
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit, &last), 0);
    assert_int_equal (s_count (fixture, "posted"), 5);
    assert_false (last.broken);
    assert_int_equal (atomic_load (&done_calls), 5);
}

static unit_t *
s_posted (const char *type, atomic_int *done_calls)
{
    unit_t *unit = (unit_t *) calloc (1, sizeof *unit);
    assert_non_null (unit);
    unit->kind = UNIT_INSERT;
    unit->done_calls = done_calls;
    snprintf (unit->type, sizeof unit->type, "%s", type);
    return unit;
}

//  A posted unit starts no commit of its own: it waits for the next waited
//  unit and shares its commit
static void
test_posted_unit_rides_with_a_waited_one (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_writer_set_linger (fixture->writer, 60000);
    atomic_int done_calls = 0;
    long commits = mfa_writer_commits (fixture->writer);
    assert_int_equal (mfa_writer_post (fixture->writer, s_unit, s_posted ("posted", &done_calls),
                                       s_done), 0);
    assert_int_equal (mfa_writer_post (fixture->writer, s_unit, s_posted ("posted", &done_calls),
                                       s_done), 0);
    zclock_sleep (200);
    assert_int_equal (atomic_load (&done_calls), 0);
    assert_int_equal (s_count (fixture, "posted"), 0);
    assert_int_equal (mfa_writer_commits (fixture->writer), commits);

    unit_t waited = { .kind = UNIT_INSERT, .type = "waited" };
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit, &waited), 0);
    assert_false (waited.broken);
    assert_int_equal (mfa_writer_commits (fixture->writer), commits + 1);
    assert_int_equal (atomic_load (&done_calls), 2);
    assert_int_equal (s_count (fixture, "posted"), 2);
}

//  With no waited unit coming, a posted one is committed after its linger
static void
test_posted_unit_alone_is_committed_after_its_linger (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_writer_set_linger (fixture->writer, 300);
    atomic_int done_calls = 0;
    long commits = mfa_writer_commits (fixture->writer);
    int64_t posted_at = zclock_mono ();
    assert_int_equal (mfa_writer_post (fixture->writer, s_unit, s_posted ("alone", &done_calls),
                                       s_done), 0);
    int64_t until = posted_at + WAIT_LIMIT_MS;
    while (atomic_load (&done_calls) == 0 && zclock_mono () < until)
        zclock_sleep (5);
    //  Not before its linger (a lower bound, which a slow machine cannot break)
    assert_true (zclock_mono () - posted_at >= 300);
    assert_int_equal (atomic_load (&done_calls), 1);
    assert_int_equal (mfa_writer_commits (fixture->writer), commits + 1);
    assert_int_equal (s_count (fixture, "alone"), 1);
}

//  A writer that stops commits its lingering units first
static void
test_stopping_commits_lingering_units (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_writer_set_linger (fixture->writer, 60000);
    atomic_int done_calls = 0;
    assert_int_equal (mfa_writer_post (fixture->writer, s_unit, s_posted ("lingering", &done_calls),
                                       s_done), 0);
    mfa_writer_destroy (&fixture->writer);
    assert_int_equal (atomic_load (&done_calls), 1);
    assert_int_equal (s_count (fixture, "lingering"), 1);
}

//  PostgreSQL: the writer's connection is lost in the middle of a batch (the
//  unit has the server end it). The batch fails, its caller learns that the
//  database could not be reached (its request answers 503, not 500), and the
//  next batch runs on a new connection.
static int
s_unit_loses_connection (mfa_store_t *store, void *args)
{
    (void) args;
    //  Fails: the server ends this very session
    pst_sql_run (store->sql, "SELECT pg_terminate_backend (pg_backend_pid ())", "");
    return 0;
}

static void
test_lost_connection_is_unavailable (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    unit_t unit = { .kind = UNIT_INSERT, .type = "before", .writer = fixture->writer };
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit, &unit), 0);
    pst_sql_unavailable_clear ();
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit_loses_connection, NULL), -1);
    assert_true (pst_sql_unavailable_seen ());
    pst_sql_unavailable_clear ();
    unit_t after = { .kind = UNIT_INSERT, .type = "after", .writer = fixture->writer };
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit, &after), 0);
    assert_false (pst_sql_unavailable_seen ());
    assert_int_equal (mfa_store_audit_count (fixture->reader, "after", NULL), 1);
}

//  Reads the page cache's size of the connection the unit runs on
static int
s_unit_reads_cache_size (mfa_store_t *store, void *args)
{
    *(int64_t *) args = pst_sql_scalar (store->sql, 0, "PRAGMA cache_size", NULL);
    return 0;
}

//  The writer's connection, and it alone, keeps MFA_WRITER_CACHE_KIB of pages
static void
test_writer_connection_keeps_its_cache (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    int64_t size = 0;
    assert_int_equal (mfa_writer_run (fixture->writer, s_unit_reads_cache_size, &size), 0);
    assert_int_equal (size, -MFA_WRITER_CACHE_KIB);
    assert_int_equal (pst_sql_scalar (fixture->reader->sql, 0, "PRAGMA cache_size", NULL), -2000);
}

//  ... and a worker's, which only reads and loses its cache at each of the
//  writer's commits, keeps a small one (16 workers at SQLite's 2 MB held mfa's
//  RSS at 58 MiB)
static void
test_worker_connection_keeps_a_small_cache (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_config_t config;
    memset (&config, 0, sizeof config);
    config.db_path = fixture->location;
    uint8_t code_key [MFA_CODE_KEY_SIZE] = { 0 };
    mfa_worker_t *worker = mfa_worker_new (&config, code_key, "inproc://test-writer-jobs",
                                           fixture->writer);
    assert_non_null (worker);
    assert_int_equal (pst_sql_scalar (mfa_worker_store (worker)->sql, 0, "PRAGMA cache_size", NULL),
                      -MFA_WORKER_CACHE_KIB);
    mfa_worker_destroy (&worker);
}

//  mfa_replay_once: a first run's lookup of its request id and its gate read
//  one snapshot (a read transaction on SQLite; PostgreSQL opens none), which
//  has ended when the run starts (it may write) and when a refusal returns; a
//  retry of the id gets the kept reply, with neither gate nor run again.
typedef struct {
    mfa_store_t *store;         //  the replay's own connection
    int refuse;                 //  the gate refuses
    int gates, runs;
    int gate_in_transaction, run_in_transaction;
} s_once_t;

static int
s_once_gate (void *args, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    s_once_t *once = (s_once_t *) args;
    once->gates++;
    once->gate_in_transaction = mfa_store_in_transaction (once->store);
    if (once->refuse)
        return pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Refused");
    return 0;
}

static int
s_once_run (void *args, mfa_replay_run_t *run, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) run;
    (void) request;
    s_once_t *once = (s_once_t *) args;
    once->runs++;
    once->run_in_transaction = mfa_store_in_transaction (once->store);
    json_object_set_new (pst_msg_body (reply), "answer", json_integer (once->runs));
    return 0;
}

static void
test_replay_reads_before_its_run_in_one_snapshot (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_store_t *store = mfa_store_new (fixture->location);
    assert_non_null (store);
    uint8_t code_key [MFA_CODE_KEY_SIZE] = { 0 };
    mfa_replay_t *replay = mfa_replay_new (store, fixture->writer, code_key);
    assert_non_null (replay);
    s_once_t once = { store, 0, 0, 0, -1, -1 };
    pst_msg_t *request = pst_msg_new_request ("challenge.create", WAIT_LIMIT_MS);
    for (int attempt = 0; attempt < 2; attempt++) {
        pst_msg_t *reply = pst_msg_new_reply (request);
        assert_int_equal (mfa_replay_once (replay, request, reply, s_once_gate, s_once_run,
                                           &once), 0);
        assert_int_equal (json_integer_value (json_object_get (pst_msg_body (reply), "answer")), 1);
        pst_msg_destroy (&reply);
    }
    assert_int_equal (once.gates, 1);
    assert_int_equal (once.runs, 1);
    assert_int_equal (once.gate_in_transaction, test_db_is_postgres ()? 0: 1);
    assert_int_equal (once.run_in_transaction, 0);
    assert_int_equal (mfa_store_in_transaction (store), 0);
    pst_msg_destroy (&request);

    //  A refusal stores nothing and leaves no transaction open
    once.refuse = 1;
    request = pst_msg_new_request ("challenge.create", WAIT_LIMIT_MS);
    pst_msg_t *reply = pst_msg_new_reply (request);
    assert_int_equal (mfa_replay_once (replay, request, reply, s_once_gate, s_once_run, &once), -1);
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_GRANT);
    assert_int_equal (once.gates, 2);
    assert_int_equal (once.runs, 1);
    assert_int_equal (mfa_store_in_transaction (store), 0);
    assert_int_equal (pst_sql_scalar (fixture->reader->sql, -1,
                                      "SELECT count(*) FROM reply_cache", NULL), 1);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    mfa_replay_destroy (&replay);
    mfa_store_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_queued_units_share_a_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_failing_unit_undoes_only_itself,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_lost_transaction_fails_its_batch,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_posted_units_run_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_posted_unit_rides_with_a_waited_one,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_posted_unit_alone_is_committed_after_its_linger,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_stopping_commits_lingering_units,
                                         s_setup, s_teardown),
    };
    //  SQLite's page cache: the SQLite run's alone
    const struct CMUnitTest sqlite_tests [] = {
        cmocka_unit_test_setup_teardown (test_writer_connection_keeps_its_cache,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_worker_connection_keeps_a_small_cache,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_reads_before_its_run_in_one_snapshot,
                                         s_setup, s_teardown),
    };
    //  SQLite has no connection to lose
    const struct CMUnitTest postgres_tests [] = {
        cmocka_unit_test_setup_teardown (test_lost_connection_is_unavailable, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (test_db_is_postgres ())
        failed += cmocka_run_group_tests (postgres_tests, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name ("sqlite", sqlite_tests, NULL, NULL);
    return failed;
}
