#include "mailer_message.h"
#include "pst_crypto.h"
#include "pst_email.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Longest encoded line we write before a soft break (RFC 2045 §6.7: 76 with '=')
#define QP_LINE_MAX         75
//  Raw bytes per RFC 2047 encoded-word: 45 bytes are 60 base64 characters, and
//  "=?UTF-8?B?" + 60 + "?=" is 72, under the 75-character limit
#define WORD_RAW_MAX        45

int
mailer_header_safe (const char *value, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char) value [i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

//  RFC 5322 atext, the characters of a dot-atom local part besides '.'
static int
s_is_atext (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

//  The suite's one address rule (common/pst_email), so that nothing authn or mfa
//  accepted is refused here
int
mailer_address_valid (const char *address)
{
    return pst_email_valid (address);
}

static char *
s_strndup_trimmed (const char *text, size_t size)
{
    while (size && (*text == ' ' || *text == '\t')) {
        text++;
        size--;
    }
    while (size && (text [size - 1] == ' ' || text [size - 1] == '\t'))
        size--;
    return strndup (text, size);
}

int
mailer_mailbox_parse (const char *mailbox, char **name_p, char **address_p)
{
    *name_p = NULL;
    *address_p = NULL;
    if (!mailbox)
        return -1;
    size_t size = strnlen (mailbox, MAILER_DISPLAY_NAME_MAX + MAILER_ADDRESS_MAX + 4);
    if (size > MAILER_DISPLAY_NAME_MAX + MAILER_ADDRESS_MAX + 3
    ||  !mailer_header_safe (mailbox, size))
        return -1;
    const char *open = strrchr (mailbox, '<');
    char *name = NULL;
    char *address = NULL;
    if (!open) {
        name = strdup ("");
        address = strdup (mailbox);
    }
    else
    if (size >= 2 && mailbox [size - 1] == '>') {
        name = s_strndup_trimmed (mailbox, (size_t) (open - mailbox));
        address = strndup (open + 1, (size_t) (mailbox + size - 1 - (open + 1)));
    }
    int ok = name && address && mailer_address_valid (address)
          && strlen (name) <= MAILER_DISPLAY_NAME_MAX
          && !strpbrk (name, "\"\\<>");
    if (!ok) {
        free (name);
        free (address);
        return -1;
    }
    *name_p = name;
    *address_p = address;
    return 0;
}

char *
mailer_message_id_normalize (const char *message_id, const char *domain)
{
    if (!message_id)
        return NULL;
    size_t size = strnlen (message_id, MAILER_MESSAGE_ID_MAX + 1);
    if (size >= 2 && message_id [0] == '<' && message_id [size - 1] == '>') {
        message_id++;
        size -= 2;
    }
    if (size == 0 || size > MAILER_MESSAGE_ID_MAX)
        return NULL;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char) message_id [i];
        if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
            return NULL;
    }
    const char *at = memchr (message_id, '@', size);
    if (at && (at == message_id || at == message_id + size - 1
           ||  memchr (at + 1, '@', (size_t) (message_id + size - at - 1))))
        return NULL;
    char *normalized = NULL;
    int rc = at? asprintf (&normalized, "<%.*s>", (int) size, message_id)
               : asprintf (&normalized, "<%.*s@%s>", (int) size, message_id,
                           domain && *domain? domain: "postern.invalid");
    return rc < 0? NULL: normalized;
}

//  ---------------------------------------------------------------------------
//  Building

//  Locale-independent names for the Date header (RFC 5322 §3.3)
static const char *s_days [] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *s_months [] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static void
s_write_date (FILE *out, int64_t date)
{
    time_t seconds = (time_t) date;
    struct tm utc;
    gmtime_r (&seconds, &utc);
    fprintf (out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             s_days [utc.tm_wday], utc.tm_mday, s_months [utc.tm_mon],
             utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

static int
s_is_ascii (const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p >= 0x80)
            return 0;
    return 1;
}

//  RFC 2047 B-encoded words for UTF-8 text, folded with CRLF SP between words;
//  words never split a UTF-8 sequence (RFC 2047 §5).
static void
s_write_encoded_words (FILE *out, const char *text)
{
    size_t size = strlen (text);
    const unsigned char *start = (const unsigned char *) text;
    int first = 1;
    while (size) {
        size_t chunk = size < WORD_RAW_MAX? size: WORD_RAW_MAX;
        while (chunk < size && chunk > 1 && (start [chunk] & 0xc0) == 0x80)
            chunk--;
        char b64 [sodium_base64_ENCODED_LEN (WORD_RAW_MAX, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64 (b64, sizeof b64, start, chunk, sodium_base64_VARIANT_ORIGINAL);
        fprintf (out, "%s=?UTF-8?B?%s?=", first? "": "\r\n ", b64);
        first = 0;
        start += chunk;
        size -= chunk;
    }
}

//  A display name as an atom phrase when it can be, a quoted-string when it holds
//  specials (parsing refused '"' and '\'), encoded words when it is not ASCII.
static void
s_write_display_name (FILE *out, const char *name)
{
    if (!s_is_ascii (name)) {
        s_write_encoded_words (out, name);
        return;
    }
    int plain = 1;
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        if (*p != ' ' && !s_is_atext (*p))
            plain = 0;
    fprintf (out, plain? "%s": "\"%s\"", name);
}

static int
s_write_from (FILE *out, const char *mailbox)
{
    char *name = NULL;
    char *address = NULL;
    if (mailer_mailbox_parse (mailbox, &name, &address) != 0)
        return -1;
    fputs ("From: ", out);
    if (*name) {
        s_write_display_name (out, name);
        fprintf (out, " <%s>\r\n", address);
    }
    else
        fprintf (out, "%s\r\n", address);
    free (name);
    free (address);
    return 0;
}

static void
s_write_subject (FILE *out, const char *subject)
{
    fputs ("Subject: ", out);
    if (s_is_ascii (subject))
        fputs (subject, out);
    else
        s_write_encoded_words (out, subject);
    fputs ("\r\n", out);
}

//  Quoted-printable (RFC 2045 §6.7): every line break of the input becomes CRLF,
//  '=' and bytes outside printable ASCII become =XX, trailing blanks are encoded,
//  and lines stay within 76 characters through soft breaks.
static void
s_write_quoted_printable (FILE *out, const char *text)
{
    size_t column = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p [1] == '\n')
                p++;
            fputs ("\r\n", out);
            column = 0;
            continue;
        }
        int at_line_end = p [1] == '\0' || p [1] == '\r' || p [1] == '\n';
        int literal = (*p >= 33 && *p <= 126 && *p != '=')
                   || ((*p == ' ' || *p == '\t') && !at_line_end);
        size_t width = literal? 1: 3;
        if (column + width > QP_LINE_MAX) {
            fputs ("=\r\n", out);
            column = 0;
        }
        if (literal)
            fputc (*p, out);
        else
            fprintf (out, "=%02X", *p);
        column += width;
    }
}

static void
s_write_part (FILE *out, const char *boundary, const char *type, const char *content)
{
    fprintf (out, "--%s\r\n"
                  "Content-Type: %s; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n"
                  "\r\n", boundary, type);
    s_write_quoted_printable (out, content);
    fputs ("\r\n", out);
}

static int
s_fields_safe (const mailer_message_t *message)
{
    const char *headers [] = { message->from, message->to, message->subject, message->message_id };
    for (size_t i = 0; i < sizeof headers / sizeof headers [0]; i++)
        if (!headers [i] || !mailer_header_safe (headers [i], strlen (headers [i])))
            return 0;
    return message->text && message->html && mailer_address_valid (message->to)
        && strlen (message->subject) <= MAILER_SUBJECT_MAX;
}

char *
mailer_message_build (const mailer_message_t *message, size_t *size_p)
{
    if (!s_fields_safe (message))
        return NULL;
    //  "=_" cannot occur in quoted-printable output, so the boundary never
    //  collides with content, and hashing the Message-ID keeps retries identical
    char digest [65];
    pst_sha256_hex (message->message_id, strlen (message->message_id), digest);
    char boundary [48];
    snprintf (boundary, sizeof boundary, "=_postern_%.32s", digest);

    char *data = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&data, &size);
    if (!out)
        return NULL;
    s_write_date (out, message->date);
    int rc = s_write_from (out, message->from);
    fprintf (out, "To: %s\r\n", message->to);
    s_write_subject (out, message->subject);
    fprintf (out, "Message-ID: %s\r\n"
                  "MIME-Version: 1.0\r\n"
                  "Auto-Submitted: auto-generated\r\n"
                  "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n"
                  "\r\n", message->message_id, boundary);
    s_write_part (out, boundary, "text/plain", message->text);
    s_write_part (out, boundary, "text/html", message->html);
    fprintf (out, "--%s--\r\n", boundary);
    if (fclose (out) != 0 || rc != 0) {
        free (data);
        return NULL;
    }
    if (size_p)
        *size_p = size;
    return data;
}
