//  test_log_capture: what pst_log writes during part of a test, kept in a file
//  (not a pipe: a full pipe would block the service threads that log) and
//  read back, so a test can tell which path handled a message.
#ifndef TEST_LOG_CAPTURE_H_INCLUDED
#define TEST_LOG_CAPTURE_H_INCLUDED

//  Log lines written from now on are kept, for test_log_captured.
void
    test_log_capture (void);

//  Everything logged since test_log_capture (caller frees); logging goes on
//  to restore_fd.
char *
    test_log_captured (int restore_fd);

//  How many times needle occurs in text.
int
    test_log_count (const char *text, const char *needle);

#endif
