//  mailer_smtp: result classes (S21) and the last-moment envelope check (S16).
//  Real deliveries are exercised by test_mailer_service against the SMTP sink.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <string.h>
#include "mailer_smtp.h"

static void
test_classify (void **state)
{
    (void) state;
    const struct { int curl_code; long smtp_code; mailer_smtp_result_t expected; } cases [] = {
        { CURLE_OK,                 250, MAILER_SMTP_SENT },
        { CURLE_WEIRD_SERVER_REPLY, 550, MAILER_SMTP_FAILED },     //  550 at end of DATA
        { CURLE_SEND_ERROR,         553, MAILER_SMTP_FAILED },     //  RCPT refused
        { CURLE_LOGIN_DENIED,       535, MAILER_SMTP_FAILED },
        { CURLE_WEIRD_SERVER_REPLY, 451, MAILER_SMTP_RETRY },
        { CURLE_WEIRD_SERVER_REPLY, 421, MAILER_SMTP_RETRY },      //  greeting 421
        { CURLE_SEND_ERROR,         452, MAILER_SMTP_RETRY },
        { CURLE_COULDNT_CONNECT,    0,   MAILER_SMTP_RETRY },
        { CURLE_OPERATION_TIMEDOUT, 220, MAILER_SMTP_RETRY },      //  stalled after greeting
        { CURLE_USE_SSL_FAILED,     250, MAILER_SMTP_RETRY },      //  no STARTTLS offered
        { CURLE_PEER_FAILED_VERIFICATION, 220, MAILER_SMTP_RETRY },
        { CURLE_GOT_NOTHING,        0,   MAILER_SMTP_RETRY },
        { CURLE_ABORTED_BY_CALLBACK, 0,  MAILER_SMTP_ABORTED },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        mailer_smtp_result_t result = mailer_smtp_classify (cases [i].curl_code, cases [i].smtp_code);
        if (result != cases [i].expected)
            fail_msg ("curl %d smtp %ld: got %d, expected %d", cases [i].curl_code,
                      cases [i].smtp_code, result, cases [i].expected);
    }
}

//  Port 9 on loopback: should the check ever let an address through, the attempt
//  would end in a connection error (RETRY), not in FAILED with no SMTP code.
static void
test_envelope_rechecked (void **state)
{
    (void) state;
    mailer_config_t *config = mailer_config_new ();
    config->smtp_port = 9;
    config->connect_timeout_s = 1;
    mailer_smtp_t *smtp = mailer_smtp_new (config, NULL);
    assert_non_null (smtp);
    const char *message = "Subject: x\r\n\r\nbody\r\n";
    const struct { const char *sender; const char *recipient; } cases [] = {
        { "a@b.test", "alice@example.com\r\nRCPT TO:<eve@evil.test>" },
        { "a@b.test\r\nRCPT TO:<eve@evil.test>", "alice@example.com" },
        { "a@b.test", "alice@example.com>\nRCPT TO:<eve@evil.test" },
        { "a@b.test", "alice@example.com,eve@evil.test" },
        { "", "alice@example.com" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        long code = -1;
        char detail [128] = "";
        mailer_smtp_result_t result = mailer_smtp_send (smtp, cases [i].sender, cases [i].recipient,
                                                        message, strlen (message),
                                                        &code, detail, sizeof detail);
        assert_int_equal (result, MAILER_SMTP_FAILED);
        assert_int_equal (code, 0);
        assert_string_equal (detail, "invalid envelope address");
    }
    //  and a clean envelope really does try the network (proves the test can fail)
    long code = -1;
    char detail [128] = "";
    assert_int_equal (mailer_smtp_send (smtp, "a@b.test", "alice@example.com", message,
                                        strlen (message), &code, detail, sizeof detail),
                      MAILER_SMTP_RETRY);
    mailer_smtp_destroy (&smtp);
    assert_null (smtp);
    mailer_config_destroy (&config);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_classify),
        cmocka_unit_test (test_envelope_rechecked),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return rc;
}
