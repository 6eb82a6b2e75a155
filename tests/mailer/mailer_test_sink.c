#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mailer_test_sink.h"

#define PYTHON      "/usr/bin/python3"      //  the one with aiosmtpd
#define START_MS    15000                   //  longest wait for the sink to listen
#define POLL_MS     20

static const char *
s_source_dir (void)
{
    const char *dir = getenv ("POSTERN_SOURCE_DIR");
    return dir && *dir? dir: POSTERN_SOURCE_DIR_DEFAULT;
}

void
mailer_test_sink_init (mailer_test_sink_t *self, const char *dir)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    snprintf (self->maildir, sizeof self->maildir, "%s/mail", dir);
}

void
mailer_test_sink_start (mailer_test_sink_t *self, const char *mode, int fail_count,
                        int port, const char *cert, const char *key)
{
    char script [PATH_MAX], port_file [256], port_arg [16], count_arg [16];
    snprintf (script, sizeof script, "%s/tests/support/smtp_sink.py", s_source_dir ());
    snprintf (port_file, sizeof port_file, "%s/sink-%d.port", self->dir, ++self->started);
    snprintf (port_arg, sizeof port_arg, "%d", port);
    snprintf (count_arg, sizeof count_arg, "%d", fail_count);
    const char *argv [] = {
        PYTHON, script, "--host", "127.0.0.1", "--port", port_arg,
        "--maildir", self->maildir, "--port-file", port_file,
        "--mode", mode, "--fail-count", count_arg,
        cert && key? "--tls-cert": NULL, cert, "--tls-key", key, NULL
    };
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        execv (PYTHON, (char *const *) argv);
        _exit (127);
    }
    self->pid = pid;
    for (int waited = 0; waited < START_MS; waited += POLL_MS) {
        FILE *file = fopen (port_file, "r");
        if (file) {
            int found = fscanf (file, "%d", &self->port);
            fclose (file);
            assert_int_equal (found, 1);
            assert_true (self->port > 0);
            return;
        }
        int status = 0;
        if (waitpid (pid, &status, WNOHANG) == pid) {
            self->pid = 0;
            fail_msg ("smtp_sink.py exited early (status %d)", status);
        }
        zclock_sleep (POLL_MS);
    }
    fail_msg ("smtp_sink.py did not write its port file");
}

void
mailer_test_sink_stop (mailer_test_sink_t *self)
{
    if (self->pid <= 0)
        return;
    kill (self->pid, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < 5000; waited += POLL_MS) {
        if (waitpid (self->pid, &status, WNOHANG) == self->pid) {
            self->pid = 0;
            return;
        }
        zclock_sleep (POLL_MS);
    }
    kill (self->pid, SIGKILL);
    waitpid (self->pid, &status, 0);
    self->pid = 0;
}

int
mailer_test_sink_has (mailer_test_sink_t *self, int number)
{
    char path [300];
    snprintf (path, sizeof path, "%s/%d.eml", self->maildir, number);
    return access (path, F_OK) == 0;
}

char *
mailer_test_sink_read (mailer_test_sink_t *self, int number)
{
    char path [300];
    snprintf (path, sizeof path, "%s/%d.eml", self->maildir, number);
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    char *data = calloc (1, 1024 * 1024);
    assert_non_null (data);
    size_t size = fread (data, 1, 1024 * 1024 - 1, file);
    fclose (file);
    data [size] = '\0';
    char *soft;
    while ((soft = strstr (data, "=\r\n")))
        memmove (soft, soft + 3, strlen (soft + 3) + 1);
    return data;
}
