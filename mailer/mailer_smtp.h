/*  mailer_smtp - one SMTP delivery with libcurl: one sender, exactly one recipient.

    Each worker owns one instance (a curl easy handle, which keeps the relay
    connection alive between messages). Envelope addresses are validated again just
    before they are handed to curl (S16), whatever the caller checked before.
*/
#ifndef MAILER_SMTP_H_INCLUDED
#define MAILER_SMTP_H_INCLUDED

#include "mailer_config.h"
#include <stdatomic.h>
#include <stddef.h>

typedef enum {
    MAILER_SMTP_SENT,           //  2xx at the end of DATA
    MAILER_SMTP_RETRY,          //  4xx, or a network / TLS / timeout error
    MAILER_SMTP_FAILED,         //  5xx: permanent, never retried (S21)
    MAILER_SMTP_ABORTED         //  stopped by shutdown; neither sent nor refused
} mailer_smtp_result_t;

typedef struct _mailer_smtp_t mailer_smtp_t;

//  config is borrowed and must outlive the instance. When stop is not NULL, a
//  delivery in progress is abandoned soon after *stop becomes non-zero.
mailer_smtp_t *
    mailer_smtp_new (const mailer_config_t *config, atomic_int *stop);
void
    mailer_smtp_destroy (mailer_smtp_t **self_p);

//  The server to send to from now on: host:port with SMTP AUTH as user (NULL
//  or empty: none) and password, copied (the email provider stored through the
//  Management API); host NULL: the configuration's again. STARTTLS, its CA
//  and the rule against AUTH in clear text stay the configuration's. 0, or -1
//  when host:port does not make a URL.
int
    mailer_smtp_use (mailer_smtp_t *self, const char *host, int port, const char *user,
                     const char *password);

//  Sends size bytes of data (an RFC 5322 message with CRLF endings) from sender to
//  recipient, both bare addr-specs. *code_p gets the last SMTP reply code (0 when
//  none), and detail a short text safe to log (no server text, no content).
mailer_smtp_result_t
    mailer_smtp_send (mailer_smtp_t *self, const char *sender, const char *recipient,
                      const char *data, size_t size,
                      long *code_p, char *detail, size_t detail_size);

//  The result class of a transfer outcome: curl_code is a CURLcode (0 = OK),
//  smtp_code the last reply code. Pure; exposed for tests.
mailer_smtp_result_t
    mailer_smtp_classify (int curl_code, long smtp_code);

#endif
