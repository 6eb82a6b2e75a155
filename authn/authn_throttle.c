#include "authn_throttle.h"
#include "authn_attempts.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_log.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

//  authn has no timer of its own (a worker runs only when asked), so each worker
//  clears ended throttle windows once every this many password grants
#define LOGIN_PRUNE_EVERY       64

int
authn_throttle_address (const char *ip, char *address, size_t size)
{
    unsigned char bytes [16];
    char text [INET6_ADDRSTRLEN];
    const char *counted = ip? ip: "";
    const char *suffix = "";
    if (ip && inet_pton (AF_INET, ip, bytes) == 1
    &&  inet_ntop (AF_INET, bytes, text, sizeof text))
        counted = text;
    else
    if (ip && inet_pton (AF_INET6, ip, bytes) == 1) {
        static const unsigned char v4_mapped [12] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };
        if (memcmp (bytes, v4_mapped, sizeof v4_mapped) == 0) {
            if (inet_ntop (AF_INET, bytes + 12, text, sizeof text))
                counted = text;
        }
        else {
            memset (bytes + 8, 0, 8);
            if (inet_ntop (AF_INET6, bytes, text, sizeof text)) {
                counted = text;
                suffix = "/64";
            }
        }
    }
    int length = snprintf (address, size, "%s%s", counted, suffix);
    return length >= 0 && (size_t) length < size? 0: -1;
}

void
authn_throttle_keys (authn_throttle_keys_t *keys, const char *username, const char *ip)
{
    char counted [INET6_ADDRSTRLEN + 8];
    //  An address too long to normalise is not one the gateway sends; count it as sent
    const char *address = authn_throttle_address (ip, counted, sizeof counted) == 0?
                          counted: ip? ip: "";
    char folded [256] = "";
    size_t length = 0;
    for (; username [length] && length < sizeof folded - 1; length++)
        folded [length] = (char) tolower ((unsigned char) username [length]);
    char material [400];
    int size = snprintf (material, sizeof material, "%s\n%s", folded, address);
    char hash [65];
    pst_sha256_hex (material, (size_t) size < sizeof material? (size_t) size: sizeof material - 1, hash);
    snprintf (keys->user, sizeof keys->user, "user:%s", hash);
    pst_sha256_hex (address, strlen (address), hash);
    snprintf (keys->ip, sizeof keys->ip, "ip:%s", hash);
    keys->ip_window = 0;
}

//  Fails the reply with too_many_attempts, telling when the window of the key
//  that refused ends (reset): as Retry-After, and as the X-RateLimit-* headers
//  the gateway renders from rate_limit. -1.
static int
s_refuse (const pst_msg_t *request, pst_msg_t *reply, const char *client_id,
          const char *scope, int limit, int64_t reset, int64_t now)
{
    if (reset <= now)
        reset = now + 1;            //  the window ended as we looked: try again at once
    pst_log (PST_LOG_WARN, "login_blocked", "client_id", client_id,
             "ip", pst_msg_client_ip (request), "scope", scope, NULL);
    json_t *body = pst_msg_body (reply);
    json_object_set_new (body, "retry_after", json_integer ((json_int_t) (reset - now)));
    json_object_set_new (body, "rate_limit", json_pack ("{s:i, s:i, s:I}",
        "limit", limit, "remaining", 0, "reset", (json_int_t) reset));
    return pst_msg_fail (reply, PST_ERR_TOO_MANY_ATTEMPTS,
        "Your account has been blocked after multiple consecutive login attempts.");
}

static void
s_prune_now_and_then (authn_worker_t *worker, int64_t now)
{
    if (worker->sign_ins++ % LOGIN_PRUNE_EVERY == 0
    &&  authn_store_login_prune (worker->store, now, worker->config->login_window_s))
        pst_log (PST_LOG_ERROR, "login_prune_failed", NULL);
}

//  Counts this attempt against both keys before any password work, and refuses
//  it when either has no attempt left: a refused attacker costs no argon2id
//  time, and parallel attempts cannot overshoot the limits. Both reservations
//  are one transaction (one fsync, not two), and a refusal rolls it back, so a
//  refused attempt counts against neither key. The address goes first, so
//  spraying from a blocked address never touches the per-user rows.
//  -1 after failing the reply.
int
authn_throttle_reserve (authn_worker_t *worker, authn_throttle_keys_t *keys,
                        const pst_msg_t *request, pst_msg_t *reply, const char *client_id)
{
    const authn_config_t *config = worker->config;
    //  Attempts under one user key take turns in this process (authn_attempts),
    //  waiting for at most half the time the caller still gives: the rest is
    //  for the hash and mfa, and a turn that comes later would only hash for
    //  an answer no one waits for
    int turn = authn_attempts_hold (worker->attempts, keys->user,
                                    pst_msg_remaining_ms (request) / 2);
    if (turn == -1)
        return pst_msg_fail (reply, PST_ERR_UNAVAILABLE,
                             "Too many sign-ins of this user at once; try again");
    if (turn != 0) {
        pst_log (PST_LOG_ERROR, "login_turns_unavailable", NULL);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Sign-in could not be counted");
    }
    int64_t now = authn_config_now (config);
    s_prune_now_and_then (worker, now);
    if (authn_store_begin (worker->store)) {
        authn_attempts_release (worker->attempts, keys->user);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    int ip = authn_store_login_reserve (worker->store, keys->ip, config->login_max_ip_failures,
                                        config->login_window_s, now, &keys->ip_window);
    int64_t user_window = 0;
    int user = ip == 0? authn_store_login_reserve (worker->store, keys->user,
                                                   config->login_max_failures,
                                                   config->login_window_s, now, &user_window)
                      : -1;
    if (ip == 0 && user == 0 && authn_store_commit (worker->store) == 0)
        return 0;
    authn_store_rollback (worker->store);
    authn_attempts_release (worker->attempts, keys->user);
    if (ip == 1)
        return s_refuse (request, reply, client_id, "ip", config->login_max_ip_failures,
                         keys->ip_window + config->login_window_s, now);
    if (ip == 0 && user == 1)
        return s_refuse (request, reply, client_id, "user", config->login_max_failures,
                         user_window + config->login_window_s, now);
    return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
}

//  The right password: the user's count is forgotten and the address's
//  attempt given back, so signing in never uses up an address's allowance
//  (many users behind one NAT); one transaction. A wrong one needs nothing:
//  its reservation stands as the failure.
void
authn_throttle_succeeded (authn_worker_t *worker, const authn_throttle_keys_t *keys)
{
    authn_store_t *store = worker->store;
    if (authn_store_begin (store) == 0
    &&  authn_store_login_succeeded (store, keys->user) == 0
    &&  authn_store_login_release (store, keys->ip, keys->ip_window) == 0
    &&  authn_store_commit (store) == 0) {
        authn_attempts_release (worker->attempts, keys->user);
        return;
    }
    authn_store_rollback (store);
    authn_attempts_release (worker->attempts, keys->user);
    pst_log (PST_LOG_ERROR, "login_throttle_unavailable", NULL);
}

void
authn_throttle_failed (authn_worker_t *worker, const authn_throttle_keys_t *keys)
{
    authn_attempts_release (worker->attempts, keys->user);
}
