/*  fuzz_gw_proxy - libFuzzer target for X-Forwarded-For and trusted-proxy lists.

    Input: a list, a NUL byte, then a header. Invariants: a list is accepted or
    refused with a message, never both; the client address written is always a
    NUL-terminated string: the peer when the header gave nothing usable, else a
    numeric address.
*/
#include "gw_proxy.h"
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_gw_proxy: check failed: %s\n", #condition); abort (); \
    } } while (0)

static int
s_is_address (const char *text)
{
    unsigned char bytes [16];
    return inet_pton (AF_INET, text, bytes) == 1 || inet_pton (AF_INET6, text, bytes) == 1;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = '\0';
    const char *list = text;
    size_t list_size = strlen (text);
    const char *header = list_size < size? text + list_size + 1: NULL;

    char *error = NULL;
    gw_proxy_t *proxies = gw_proxy_new (list, &error);
    CHECK ((proxies == NULL) != (error == NULL));
    free (error);
    //  A fixed list when the fuzzed one was refused, so headers are always read
    if (!proxies)
        proxies = gw_proxy_new ("127.0.0.1, 10.0.0.0/8, ::1", &error);
    CHECK (proxies);
    char client [64];
    memset (client, 'x', sizeof client);
    int from_header = gw_proxy_client (proxies, "127.0.0.1", header, client, sizeof client);
    CHECK (memchr (client, '\0', sizeof client));
    if (from_header)
        CHECK (s_is_address (client));
    else
        CHECK (strcmp (client, "127.0.0.1") == 0);
    gw_proxy_destroy (&proxies);
    free (text);
    return 0;
}
