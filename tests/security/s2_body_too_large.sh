#!/usr/bin/env bash
# An over-long body is answered 413 (issue 9, "HTTP front door"): a client that
# sends its whole body before reading (no Expect: 100-continue, as most do) must
# read the 413, not a connection reset, every time: 20 uploads each of 100 KiB and
# 1 MiB, with Content-Length and chunked, over TLS and plain HTTP. And a client that
# does ask first (curl's Expect: 100-continue for large bodies) is refused before
# it sends.
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

security_start || { fail "stack did not start"; exit 1; }

for size in 102400 1048576; do
  for framing in content-length chunked; do
    chunked=(); [[ $framing == chunked ]] && chunked=(--chunked)
    for transport in TLS HTTP; do
      if [[ $transport == TLS ]]; then
        # shellcheck disable=SC2046
        out=$(front_door upload $(tls_args) --size "$size" "${chunked[@]}" --count 20)
      else
        out=$(front_door upload --port "$HTTP_PORT" --size "$size" "${chunked[@]}" --count 20)
      fi
      e2e_log "$out"
      expect "$size bytes, $framing, $transport: 20 of 20 uploads see the 413" 20 \
        "$(jq '.["413"]' <<<"$out")"
    done
  done
done

head -c 1048576 /dev/zero | tr '\0' a >"$E2E_WORK/1m.body"
api POST /oauth/token --data-binary "@$E2E_WORK/1m.body"
expect "1 MiB with curl's Expect: 100-continue: 413" 413 "$STATUS"
expect "... with the vocabulary's code" request_entity_too_large "$(json .error)"

api GET /.well-known/jwks.json
expect "the gateway still serves" 200 "$STATUS"
