/*  mailer_test_sink - runs tests/support/smtp_sink.py (a real SMTP server, with
    /usr/bin/python3, the one that has aiosmtpd) in a subprocess for the mailer's
    tests, and reads what it received. Asserts (cmocka) on failure.
*/
#ifndef MAILER_TEST_SINK_H_INCLUDED
#define MAILER_TEST_SINK_H_INCLUDED

#include <sys/types.h>

typedef struct {
    char dir [192];             //  the test's directory: port files go here
    char maildir [256];         //  dir/mail: <n>.eml and <n>.json per message
    pid_t pid;                  //  0 when not running
    int port;                   //  the port it listens on, once started
    int started;                //  starts so far, to name port files
} mailer_test_sink_t;

//  Prepares a sink that keeps its files under dir (which must exist).
void
    mailer_test_sink_init (mailer_test_sink_t *self, const char *dir);

//  Starts the sink on 127.0.0.1:port (0: any) in mode (ok, reject-550,
//  tempfail-451, hang) refusing the first fail_count messages in tempfail-451,
//  offering and requiring STARTTLS when cert and key are given, and waits until it
//  listens.
void
    mailer_test_sink_start (mailer_test_sink_t *self, const char *mode, int fail_count,
                            int port, const char *cert, const char *key);

//  Stops the sink (SIGTERM, then SIGKILL); nothing when it is not running.
void
    mailer_test_sink_stop (mailer_test_sink_t *self);

//  1 when message number (from 1) has been received.
int
    mailer_test_sink_has (mailer_test_sink_t *self, int number);

//  The DATA of message number as received, with quoted-printable soft line breaks
//  undone so codes can be searched for; caller frees.
char *
    mailer_test_sink_read (mailer_test_sink_t *self, int number);

#endif
