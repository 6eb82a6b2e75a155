//  The real mfa and the real mailer together, in process, with the relay down: the
//  mailer's outbox stops at its maximum backlog, and from then on challenge.create
//  (POST /mfa/challenge) is answered temporarily_unavailable (503) because no
//  mailer accepts the job, instead of the outbox growing. Once the backlog drains
//  (here: the codes expire, S22) challenges go through again.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mailer_outbox.h"
#include "mailer_server.h"
#include "mfa_jobs.h"
#include "mfa_test_support.h"
#include "pst_crypto.h"

#define MAX_BACKLOG     2
#define CODE_TTL_S      6       //  long enough to see the refusal, short enough to drain
#define WAIT_MS         15000
#define POLL_MS         20

//  A TCP port on loopback that is bound but never listens: every connection to it
//  is refused at once, and nobody else can take it while fd is open.
static int
s_dead_port (int *fd_p)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *) &address, sizeof address), 0);
    socklen_t size = sizeof address;
    assert_int_equal (getsockname (fd, (struct sockaddr *) &address, &size), 0);
    *fd_p = fd;
    return ntohs (address.sin_port);
}

static int
s_backlog (const char *path)
{
    mailer_outbox_t *outbox = mailer_outbox_new (path);
    assert_non_null (outbox);
    int backlog = mailer_outbox_backlog (outbox);
    mailer_outbox_destroy (&outbox);
    return backlog;
}

static void
s_tune (mfa_config_t *config)
{
    config->code_ttl_s = CODE_TTL_S;
}

static void
test_full_outbox_makes_challenge_unavailable (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (s_tune);
    //  Enrol with the stand-in mailer, which hands us the code; then let mfa forget
    //  it, so every later job can only go to the real mailer.
    test_mailer_t *fake = test_mailer_new (mfa->jobs);
    mfa_test_factor (mfa, "email", 1);
    mfa_test_enrol (mfa, fake, "auth0|bea", "bea@example.com", NULL);
    test_mailer_destroy (&fake);
    zclock_sleep (MFA_JOBS_MAILER_TIMEOUT_MS + 500);

    int dead_fd = -1;
    int dead_port = s_dead_port (&dead_fd);
    char outbox [128];
    snprintf (outbox, sizeof outbox, "%s/mailer-outbox.db", mfa->dir);
    mailer_config_t *config = mailer_config_new ();
    assert_non_null (config);
    assert_int_equal (mailer_config_set (&config->jobs_endpoint, mfa->jobs), 0);
    assert_int_equal (mailer_config_set (&config->outbox_path, outbox), 0);
    config->smtp_port = dead_port;
    config->concurrency = 2;
    config->connect_timeout_s = 1;
    config->max_backlog = MAX_BACKLOG;
    zactor_t *mailer = zactor_new (mailer_server_actor, config);
    assert_non_null (mailer);
    char *status = zstr_recv (mailer);
    assert_non_null (status);
    assert_string_equal (status, mfa->jobs);
    zstr_free (&status);

    //  The first MAX_BACKLOG challenges are stored by the mailer (a challenge only
    //  succeeds once its job is committed to the outbox) and wait for the relay.
    char *token = mfa_test_begin (mfa, "auth0|bea", "bea@example.com");
    for (int i = 0; i < MAX_BACKLOG; i++) {
        pst_msg_t *reply = mfa_test_challenge (mfa, token);
        assert_reply_ok (reply);
        pst_msg_destroy (&reply);
    }
    assert_int_equal (s_backlog (outbox), MAX_BACKLOG);

    //  The outbox is full: no mailer accepts, and the caller hears 503
    pst_msg_t *reply = mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "oob"), NULL, 1500);
    assert_reply_error (reply, "temporarily_unavailable", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_backlog (outbox), MAX_BACKLOG);

    //  The codes expire, the mailer ends both jobs and announces credit again: a
    //  new challenge is accepted (and waits in turn).
    for (int waited = 0; waited < WAIT_MS && s_backlog (outbox) > 0; waited += POLL_MS)
        zclock_sleep (POLL_MS);
    assert_int_equal (s_backlog (outbox), 0);
    reply = mfa_test_challenge (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (s_backlog (outbox), 1);

    free (token);
    zactor_destroy (&mailer);
    mailer_config_destroy (&config);
    close (dead_fd);
    mfa_harness_destroy (&mfa);
}

int
main (void)
{
    assert_int_equal (pst_crypto_init (), 0);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_full_outbox_makes_challenge_unavailable),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
