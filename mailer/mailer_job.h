/*  mailer_job - one mail job: what mfa asked for in mail.send, validated.

    A job is checked once, when it arrives, so that nothing unsafe is ever stored;
    the SMTP layer checks the envelope addresses again before using them (S16).
*/
#ifndef MAILER_JOB_H_INCLUDED
#define MAILER_JOB_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

#define MAILER_JOB_ID_MAX   128

typedef struct {
    char *job_id;
    char *from;             //  mailbox, "Name <addr>" or "addr"
    char *to;               //  addr-spec
    char *subject;
    char *text;
    char *html;
    char *message_id;       //  header form "<left@right>"
    int64_t expires_at;     //  Unix seconds; never sent at or after it (S22)
    int64_t created_at;     //  Unix seconds; the Date header, fixed for retries
    int attempts;           //  delivery attempts, counting the one in progress
    int64_t provider_generation;    //  mfa's stored email provider when the job
                                    //  was made (0: none): the SMTP server to use
} mailer_job_t;

mailer_job_t *
    mailer_job_new (void);

//  Frees the job, wiping its text fields first: they carry the code.
void
    mailer_job_destroy (mailer_job_t **self_p);

//  Builds a job from a mail.send body: job_id, to, from? (default_from when
//  absent), subject, text, html, message_id, expires_at, provider_generation?
//  (an integer >= 0, absent: 0). NULL when a field is
//  missing, of the wrong type, too long or unsafe; *reason_p then names it (static,
//  safe to log and to send back).
mailer_job_t *
    mailer_job_from_body (const json_t *body, const char *default_from,
                          int64_t now, const char **reason_p);

#endif
