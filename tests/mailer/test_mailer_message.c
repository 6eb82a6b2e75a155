//  mailer_message: header safety, address rules, and the RFC 5322 message.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailer_message.h"
#include "pst_crypto.h"

static const mailer_message_t s_message = {
    .from = "Postern <no-reply@postern.test>",
    .to = "alice@example.com",
    .subject = "Your verification code",
    .text = "Your code is 042917.\nIt expires in 5 minutes.\n",
    .html = "<p>Your code is <b>042917</b>.</p>",
    .message_id = "<job-1.a1b2@postern.test>",
    .date = 1700000000            //  Tue, 14 Nov 2023 22:13:20 +0000
};

//  Undoes quoted-printable (soft breaks, =XX); the test's own reading of RFC 2045.
static char *
s_qp_decode (const char *text, size_t size)
{
    char *out = calloc (1, size + 1);
    size_t o = 0;
    for (size_t i = 0; i < size; i++) {
        if (text [i] != '=') {
            out [o++] = text [i];
            continue;
        }
        if (i + 2 < size && text [i + 1] == '\r' && text [i + 2] == '\n') {
            i += 2;
            continue;
        }
        assert_true (i + 2 < size);
        char hex [3] = { text [i + 1], text [i + 2], 0 };
        assert_non_null (strchr ("0123456789ABCDEF", hex [0]));
        assert_non_null (strchr ("0123456789ABCDEF", hex [1]));
        out [o++] = (char) strtol (hex, NULL, 16);
        i += 2;
    }
    return out;
}

//  The body of the part with the given content type, between its blank line and
//  the next boundary line; caller frees.
static char *
s_part_body (const char *message, const char *type)
{
    char needle [64];
    snprintf (needle, sizeof needle, "Content-Type: %s; charset=utf-8\r\n", type);
    const char *part = strstr (message, needle);
    assert_non_null (part);
    const char *start = strstr (part, "\r\n\r\n");
    assert_non_null (start);
    start += 4;
    const char *end = strstr (start, "\r\n--=_postern_");
    assert_non_null (end);
    return s_qp_decode (start, (size_t) (end - start));
}

static char *
s_build (const mailer_message_t *message, size_t *size_p)
{
    size_t size = 0;
    char *data = mailer_message_build (message, &size);
    if (data) {
        assert_int_equal (strlen (data), size);
        if (size_p)
            *size_p = size;
    }
    return data;
}

static void
test_crlf_everywhere (void **state)
{
    (void) state;
    mailer_message_t message = s_message;
    message.text = "line one\nline two\r\nline three\rline four";
    size_t size = 0;
    char *data = s_build (&message, &size);
    assert_non_null (data);
    size_t line_start = 0;
    for (size_t i = 0; i < size; i++) {
        if (data [i] == '\n') {
            assert_true (i > 0 && data [i - 1] == '\r');
            assert_true (i - line_start <= 78);     //  RFC 5322 §2.1.1 SHOULD
            line_start = i + 1;
        }
        if (data [i] == '\r')
            assert_true (i + 1 < size && data [i + 1] == '\n');
    }
    assert_true (size >= 2 && data [size - 2] == '\r' && data [size - 1] == '\n');
    free (data);
}

static void
test_headers_present (void **state)
{
    (void) state;
    char *data = s_build (&s_message, NULL);
    assert_non_null (data);
    const char *body = strstr (data, "\r\n\r\n");
    assert_non_null (body);
    size_t header_size = (size_t) (body - data) + 2;
    char *headers = strndup (data, header_size);
    const char *expected [] = {
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n",
        "From: Postern <no-reply@postern.test>\r\n",
        "To: alice@example.com\r\n",
        "Subject: Your verification code\r\n",
        "Message-ID: <job-1.a1b2@postern.test>\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: multipart/alternative;\r\n boundary=\"=_postern_",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected [0]; i++) {
        const char *found = strstr (headers, expected [i]);
        assert_non_null (found);
        assert_true (found == headers || found [-1] == '\n');   //  at a line start
    }
    //  the To header names exactly one recipient
    assert_null (strstr (headers, "Cc:"));
    assert_null (strstr (headers, "Bcc:"));
    free (headers);

    char *text = s_part_body (data, "text/plain");
    assert_string_equal (text, "Your code is 042917.\r\nIt expires in 5 minutes.\r\n");
    char *html = s_part_body (data, "text/html");
    assert_string_equal (html, s_message.html);
    assert_non_null (strstr (data, "Content-Transfer-Encoding: quoted-printable\r\n"));
    free (text);
    free (html);
    free (data);
}

static void
test_stable_across_builds (void **state)
{
    (void) state;
    char *first = s_build (&s_message, NULL);
    char *second = s_build (&s_message, NULL);
    assert_non_null (first);
    assert_non_null (second);
    assert_string_equal (first, second);
    //  another Message-ID gives another boundary: nothing is a fixed constant
    mailer_message_t other = s_message;
    other.message_id = "<job-2@postern.test>";
    char *third = s_build (&other, NULL);
    assert_non_null (third);
    assert_non_null (strstr (third, "Message-ID: <job-2@postern.test>\r\n"));
    const char *b1 = strstr (first, "boundary=");
    const char *b3 = strstr (third, "boundary=");
    assert_true (strncmp (b1, b3, 40) != 0);
    free (first);
    free (second);
    free (third);
}

static void
test_injection_rejected (void **state)
{
    (void) state;
    const char *bad_to [] = {
        "alice@example.com\r\nBcc: eve@evil.test", "alice@example.com\nRCPT TO:<eve@evil.test>",
        "alice@example.com\r", "alice@example.com, eve@evil.test", NULL
    };
    for (int i = 0; bad_to [i]; i++) {
        mailer_message_t message = s_message;
        message.to = bad_to [i];
        assert_null (mailer_message_build (&message, NULL));
    }
    mailer_message_t message = s_message;
    message.subject = "Hello\r\nBcc: eve@evil.test";
    assert_null (mailer_message_build (&message, NULL));
    message = s_message;
    message.from = "Postern <no-reply@postern.test>\r\nBcc: eve@evil.test";
    assert_null (mailer_message_build (&message, NULL));
    message = s_message;
    message.from = "Post\nern <no-reply@postern.test>";
    assert_null (mailer_message_build (&message, NULL));
    message = s_message;
    message.message_id = "<x@y>\r\nBcc: eve@evil.test";
    assert_null (mailer_message_build (&message, NULL));
}

//  Decodes every =?UTF-8?B?...?= word of a header value and checks each one holds
//  whole UTF-8 characters and fits in 75 characters; returns the joined text.
static char *
s_decode_words (const char *value)
{
    char *out = calloc (1, 4096);
    size_t o = 0;
    const char *p = value;
    while ((p = strstr (p, "=?UTF-8?B?"))) {
        const char *start = p + 10;
        const char *end = strstr (start, "?=");
        assert_non_null (end);
        assert_true (end + 2 - p <= 75);
        unsigned char raw [128];
        size_t raw_size = 0;
        assert_int_equal (sodium_base642bin (raw, sizeof raw, start, (size_t) (end - start),
                                             NULL, &raw_size, NULL,
                                             sodium_base64_VARIANT_ORIGINAL), 0);
        //  a word never starts with a continuation byte nor ends inside a sequence
        assert_true ((raw [0] & 0xc0) != 0x80);
        size_t last = raw_size - 1;
        while (last > 0 && (raw [last] & 0xc0) == 0x80)
            last--;
        size_t need = raw [last] < 0x80? 1: raw [last] >= 0xf0? 4: raw [last] >= 0xe0? 3: 2;
        assert_int_equal (raw_size - last, need);
        memcpy (out + o, raw, raw_size);
        o += raw_size;
        p = end + 2;
    }
    return out;
}

static void
test_non_ascii_subject_encoded (void **state)
{
    (void) state;
    mailer_message_t message = s_message;
    const char *subject = "Votre code de vérification — ваш код подтверждения для входа в систему";
    message.subject = subject;
    char *data = s_build (&message, NULL);
    assert_non_null (data);
    const char *header = strstr (data, "\r\nSubject: ");
    assert_non_null (header);
    header += 2;
    const char *end = strstr (header, "\r\nMessage-ID:");
    assert_non_null (end);
    char *value = strndup (header + 9, (size_t) (end - header - 9));
    //  only ASCII on the wire; folded lines continue with a space
    for (const char *c = value; *c; c++) {
        assert_true ((unsigned char) *c < 0x80);
        if (*c == '\n')
            assert_int_equal (c [1], ' ');
    }
    assert_true (strncmp (value, "=?UTF-8?B?", 10) == 0);
    char *decoded = s_decode_words (value);
    assert_string_equal (decoded, subject);
    free (decoded);
    free (value);
    free (data);
}

static void
test_non_ascii_display_name (void **state)
{
    (void) state;
    mailer_message_t message = s_message;
    message.from = "Zoë Société <auth@postern.test>";
    char *data = s_build (&message, NULL);
    assert_non_null (data);
    const char *from = strstr (data, "\r\nFrom: =?UTF-8?B?");
    assert_non_null (from);
    const char *line_end = strstr (from + 2, " <auth@postern.test>\r\n");
    assert_non_null (line_end);
    char *value = strndup (from + 8, (size_t) (line_end - from - 8));
    char *decoded = s_decode_words (value);
    assert_string_equal (decoded, "Zoë Société");
    free (decoded);
    free (value);
    free (data);

    message.from = "Acme, Inc. <auth@postern.test>";
    data = s_build (&message, NULL);
    assert_non_null (strstr (data, "\r\nFrom: \"Acme, Inc.\" <auth@postern.test>\r\n"));
    free (data);
    message.from = "auth@postern.test";
    data = s_build (&message, NULL);
    assert_non_null (strstr (data, "\r\nFrom: auth@postern.test\r\n"));
    free (data);
}

static void
test_quoted_printable_round_trip (void **state)
{
    (void) state;
    char long_line [400];
    memset (long_line, 'x', sizeof long_line - 1);
    long_line [sizeof long_line - 1] = '\0';
    char text [1024];
    snprintf (text, sizeof text, "a=b trailing space \ttab\t\n.leading dot\n%s\nnaïve café ✓\nend", long_line);
    mailer_message_t message = s_message;
    message.text = text;
    char *data = s_build (&message, NULL);
    assert_non_null (data);
    char *decoded = s_part_body (data, "text/plain");
    char expected [1024];
    snprintf (expected, sizeof expected, "a=b trailing space \ttab\t\r\n.leading dot\r\n%s\r\nnaïve café ✓\r\nend", long_line);
    assert_string_equal (decoded, expected);
    //  no line of the encoded part ends in a blank (RFC 2045 §6.7 rule 3)
    assert_null (strstr (data, " \r\n"));
    assert_null (strstr (data, "\t\r\n"));
    free (decoded);
    free (data);
}

static void
test_header_safe (void **state)
{
    (void) state;
    assert_int_equal (mailer_header_safe ("plain text é", strlen ("plain text é")), 1);
    assert_int_equal (mailer_header_safe ("a\rb", 3), 0);
    assert_int_equal (mailer_header_safe ("a\nb", 3), 0);
    assert_int_equal (mailer_header_safe ("a\0b", 3), 0);
    assert_int_equal (mailer_header_safe ("a\tb", 3), 0);
    assert_int_equal (mailer_header_safe ("a\x7f" "b", 3), 0);
}

static void
test_address_rules (void **state)
{
    (void) state;
    const char *good [] = {
        "alice@example.com", "a.b+tag@sub.example.co.uk", "x@y", "o'brien@example.ie",
        "user_name-1@ex-ample.com", NULL
    };
    const char *bad [] = {
        "", "alice", "@example.com", "alice@", "a@b@c.com", "alice @example.com",
        "<alice@example.com>", "alice@example.com>", "\"a\"@example.com", ".a@example.com",
        "a.@example.com", "a..b@example.com", "a@example..com", "a@exa_mple.com",
        "alice@example.com\r\n", "alice@exa\nmple.com", "a,b@example.com", "ålice@example.com",
        "alice@[127.0.0.1]", NULL
    };
    for (int i = 0; good [i]; i++) {
        if (!mailer_address_valid (good [i]))
            fail_msg ("should accept %s", good [i]);
    }
    for (int i = 0; bad [i]; i++) {
        if (mailer_address_valid (bad [i]))
            fail_msg ("should refuse %s", bad [i]);
    }
    assert_int_equal (mailer_address_valid (NULL), 0);

    //  254 characters is the limit, 255 is over it
    char address [300];
    memset (address, 'a', 64);
    address [64] = '@';
    for (int i = 65; i < 254; i++)
        address [i] = (i % 50 == 0)? '.': 'b';
    address [254] = '\0';
    assert_int_equal (mailer_address_valid (address), 1);
    address [254] = 'c';
    address [255] = '\0';
    assert_int_equal (mailer_address_valid (address), 0);
    //  local part over 64 characters
    char local [80];
    memset (local, 'a', 65);
    strcpy (local + 65, "@b.c");
    assert_int_equal (mailer_address_valid (local), 0);
}

static void
test_mailbox_parse (void **state)
{
    (void) state;
    char *name = NULL;
    char *address = NULL;
    assert_int_equal (mailer_mailbox_parse ("Postern <no-reply@localhost>", &name, &address), 0);
    assert_string_equal (name, "Postern");
    assert_string_equal (address, "no-reply@localhost");
    free (name);
    free (address);
    assert_int_equal (mailer_mailbox_parse ("bare@example.com", &name, &address), 0);
    assert_string_equal (name, "");
    assert_string_equal (address, "bare@example.com");
    free (name);
    free (address);
    const char *bad [] = {
        "Name <bad>", "Name <a@b.c", "\"Quoted\" <a@b.c>", "Back\\slash <a@b.c>",
        "Name <a@b.c>\r\nBcc: e@v.il", "Name <a@b.c> trailing", "a@b.c, e@v.il", NULL
    };
    for (int i = 0; bad [i]; i++) {
        if (mailer_mailbox_parse (bad [i], &name, &address) != -1)
            fail_msg ("should refuse %s", bad [i]);
        assert_null (name);
        assert_null (address);
    }
}

static void
test_message_id_normalize (void **state)
{
    (void) state;
    char *id = mailer_message_id_normalize ("abc@postern.test", "ignored");
    assert_string_equal (id, "<abc@postern.test>");
    free (id);
    id = mailer_message_id_normalize ("<abc@postern.test>", NULL);
    assert_string_equal (id, "<abc@postern.test>");
    free (id);
    id = mailer_message_id_normalize ("0123abcd", "mail.example");
    assert_string_equal (id, "<0123abcd@mail.example>");
    free (id);
    const char *bad [] = { "", "<>", "a b@c", "a@b@c", "@b", "a@", "a<b@c", "a@b\r\nX: y", NULL };
    for (int i = 0; bad [i]; i++) {
        char *out = mailer_message_id_normalize (bad [i], "d.test");
        if (out)
            fail_msg ("should refuse %s, got %s", bad [i], out);
    }
}

int
main (void)
{
    assert_int_equal (pst_crypto_init (), 0);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_crlf_everywhere),
        cmocka_unit_test (test_headers_present),
        cmocka_unit_test (test_stable_across_builds),
        cmocka_unit_test (test_injection_rejected),
        cmocka_unit_test (test_non_ascii_subject_encoded),
        cmocka_unit_test (test_non_ascii_display_name),
        cmocka_unit_test (test_quoted_printable_round_trip),
        cmocka_unit_test (test_header_safe),
        cmocka_unit_test (test_address_rules),
        cmocka_unit_test (test_mailbox_parse),
        cmocka_unit_test (test_message_id_normalize),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
