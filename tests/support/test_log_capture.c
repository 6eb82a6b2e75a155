#include "test_log_capture.h"
#include "pst_log.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_path [] = "/tmp/postern-test-log-XXXXXX";
static int s_fd = -1;

void
test_log_capture (void)
{
    strcpy (s_path, "/tmp/postern-test-log-XXXXXX");
    s_fd = mkstemp (s_path);
    assert_true (s_fd >= 0);
    pst_log_set_fd (s_fd);
}

char *
test_log_captured (int restore_fd)
{
    pst_log_set_fd (restore_fd);
    assert_true (s_fd >= 0);
    off_t size = lseek (s_fd, 0, SEEK_END);
    assert_true (size >= 0);
    char *text = (char *) calloc (1, (size_t) size + 1);
    assert_non_null (text);
    assert_int_equal (pread (s_fd, text, (size_t) size, 0), size);
    close (s_fd);
    unlink (s_path);
    s_fd = -1;
    return text;
}

int
test_log_count (const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}
