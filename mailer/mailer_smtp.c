#include "mailer_smtp.h"
#include "mailer_message.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _mailer_smtp_t {
    const mailer_config_t *config;
    atomic_int *stop;
    CURL *curl;
    char url [300];
    char *user;                 //  the server's SMTP AUTH, NULL: none
    char *password;
};

//  Points the instance at host:port (smtp://, an IPv6 literal in brackets).
//  0, or -1 when the URL cannot hold it.
static int
s_set_url (mailer_smtp_t *self, const char *host, int port)
{
    int bracket = strchr (host, ':') && host [0] != '[';
    int len = snprintf (self->url, sizeof self->url, "smtp://%s%s%s:%d",
                        bracket? "[": "", host, bracket? "]": "", port);
    return len < 0 || (size_t) len >= sizeof self->url? -1: 0;
}

static void
s_forget_auth (mailer_smtp_t *self)
{
    if (self->password)
        explicit_bzero (self->password, strlen (self->password));
    free (self->password);
    free (self->user);
    self->user = self->password = NULL;
}

int
mailer_smtp_use (mailer_smtp_t *self, const char *host, int port, const char *user,
                 const char *password)
{
    const mailer_config_t *config = self->config;
    if (!host) {
        host = config->smtp_host? config->smtp_host: "127.0.0.1";
        port = config->smtp_port;
        user = config->smtp_user;
        password = config->smtp_password;
    }
    s_forget_auth (self);
    if (user && *user) {
        self->user = strdup (user);
        self->password = strdup (password? password: "");
        if (!self->user || !self->password)
            s_forget_auth (self);
    }
    return s_set_url (self, host, port);
}

//  Upload cursor for CURLOPT_READFUNCTION
typedef struct {
    const char *data;
    size_t size;
    size_t offset;
} upload_t;

mailer_smtp_t *
mailer_smtp_new (const mailer_config_t *config, atomic_int *stop)
{
    mailer_smtp_t *self = (mailer_smtp_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->stop = stop;
    self->curl = curl_easy_init ();
    //  STARTTLS upgrades a plain smtp:// connection; smtps:// is not offered
    if (!self->curl || mailer_smtp_use (self, NULL, 0, NULL, NULL) != 0
    ||  (config->smtp_user && *config->smtp_user && !self->user))
        mailer_smtp_destroy (&self);
    return self;
}

void
mailer_smtp_destroy (mailer_smtp_t **self_p)
{
    if (self_p && *self_p) {
        curl_easy_cleanup ((*self_p)->curl);
        s_forget_auth (*self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

mailer_smtp_result_t
mailer_smtp_classify (int curl_code, long smtp_code)
{
    if (curl_code == CURLE_ABORTED_BY_CALLBACK)
        return MAILER_SMTP_ABORTED;
    if (smtp_code >= 500 && smtp_code < 600)
        return MAILER_SMTP_FAILED;
    if (curl_code == CURLE_OK && smtp_code >= 200 && smtp_code < 300)
        return MAILER_SMTP_SENT;
    //  4xx, or no usable reply at all: the relay may recover
    return MAILER_SMTP_RETRY;
}

static size_t
s_read (char *buffer, size_t size, size_t nitems, void *arg)
{
    upload_t *upload = (upload_t *) arg;
    size_t room = size * nitems;
    size_t left = upload->size - upload->offset;
    size_t chunk = left < room? left: room;
    memcpy (buffer, upload->data + upload->offset, chunk);
    upload->offset += chunk;
    return chunk;
}

//  Called by curl at least once a second while a transfer is in progress.
static int
s_progress (void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void) dltotal; (void) dlnow; (void) ultotal; (void) ulnow;
    atomic_int *stop = (atomic_int *) arg;
    return stop && atomic_load (stop)? 1: 0;
}

static void
s_set_options (mailer_smtp_t *self, upload_t *upload, const char *sender,
               struct curl_slist *recipients)
{
    const mailer_config_t *config = self->config;
    CURL *curl = self->curl;
    curl_easy_setopt (curl, CURLOPT_URL, self->url);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp");
    curl_easy_setopt (curl, CURLOPT_MAIL_FROM, sender);
    curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (curl, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt (curl, CURLOPT_READDATA, upload);
    curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) upload->size);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, (long) config->connect_timeout_s);
    curl_easy_setopt (curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long) config->response_timeout_s);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, (long) config->total_timeout_s);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt (curl, CURLOPT_XFERINFODATA, self->stop);
    //  mailer_config_check already refuses AUTH in clear text at startup; this
    //  keeps a config built some other way from handing the password out anyway
    //  The same rule holds for a provider's credentials (mailer_smtp_use)
    if (self->user && (config->smtp_starttls || config->smtp_allow_plaintext_auth)) {
        curl_easy_setopt (curl, CURLOPT_USERNAME, self->user);
        curl_easy_setopt (curl, CURLOPT_PASSWORD, self->password);
    }
    else {
        curl_easy_setopt (curl, CURLOPT_USERNAME, NULL);
        curl_easy_setopt (curl, CURLOPT_PASSWORD, NULL);
    }
    if (config->smtp_starttls) {
        //  ALL, not TRY: a relay (or a man in the middle) that does not offer
        //  STARTTLS gets no MAIL FROM, and no AUTH, at all
        curl_easy_setopt (curl, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
        curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 2L);
        if (config->smtp_ca_file && *config->smtp_ca_file)
            curl_easy_setopt (curl, CURLOPT_CAINFO, config->smtp_ca_file);
    }
    else
        curl_easy_setopt (curl, CURLOPT_USE_SSL, (long) CURLUSESSL_NONE);
}

mailer_smtp_result_t
mailer_smtp_send (mailer_smtp_t *self, const char *sender, const char *recipient,
                  const char *data, size_t size,
                  long *code_p, char *detail, size_t detail_size)
{
    *code_p = 0;
    //  S16: nothing that could end an SMTP command line reaches curl
    if (!mailer_address_valid (sender) || !mailer_address_valid (recipient)) {
        snprintf (detail, detail_size, "invalid envelope address");
        return MAILER_SMTP_FAILED;
    }
    struct curl_slist *recipients = curl_slist_append (NULL, recipient);
    if (!recipients) {
        snprintf (detail, detail_size, "out of memory");
        return MAILER_SMTP_RETRY;
    }
    upload_t upload = { data, size, 0 };
    s_set_options (self, &upload, sender, recipients);
    CURLcode rc = curl_easy_perform (self->curl);
    long code = 0;
    curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &code);
    //  the handle must not keep pointers to this call's stack and list
    curl_easy_setopt (self->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt (self->curl, CURLOPT_READDATA, NULL);
    curl_slist_free_all (recipients);
    *code_p = code;
    //  curl's text only: the server's reply could echo what we sent
    snprintf (detail, detail_size, "smtp %ld: %s", code,
              rc == CURLE_OK? "accepted": curl_easy_strerror (rc));
    return mailer_smtp_classify ((int) rc, code);
}
