/*  test_peer - a test playing a service on the bus: the ROUTER a process under
    test calls (made with test_keys_server) receives one request at a time and
    answers it as the test says.
*/
#ifndef TEST_PEER_H_INCLUDED
#define TEST_PEER_H_INCLUDED

#include "pst_msg.h"
#include <czmq.h>

//  Fills reply (already addressed to request) as the played service would
typedef void (test_peer_fn) (const pst_msg_t *request, pst_msg_t *reply);

//  Receives one request on router within timeout_ms and answers it with answer;
//  a NULL answer reads the request and leaves it unanswered (a service that
//  hangs). The request goes to *seen_p when given (caller owns), else is
//  destroyed. 0 when served; -1 when nothing came in time; -2 when what came
//  was not a message of the bus (no route, or does not decode) or the answer
//  could not be sent.
int
    test_peer_serve (zsock_t *router, test_peer_fn *answer, int timeout_ms, pst_msg_t **seen_p);

#endif
