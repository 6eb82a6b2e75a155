# Shared by the security scripts: attacks on the gateway's front door (issue 9,
# "HTTP front door"), run against the real four processes as the fault scripts
# start them (tests/fault/fault_lib.sh over tests/e2e/lib.sh). front_door.py holds
# the attacking clients; everything here is loopback.
source "$(dirname "${BASH_SOURCE[0]}")/../fault/fault_lib.sh"

SECURITY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# lib.sh's expect quotes BODY, which only api sets
BODY=

# security_start: the stack, then the gateway again with a plain HTTP listener too
# (HTTP_PORT), so each attack runs over TLS and over plain HTTP. Export the
# gateway's POSTERN_* limits before calling.
security_start() {
  fault_start || return 1
  fault_stop gateway TERM
  read -r HTTP_PORT < <(e2e_free_ports 1)
  export POSTERN_HTTP_PORT=$HTTP_PORT
  fault_restart gateway
  e2e_wait_port "$HTTPS_PORT" && e2e_wait_port "$HTTP_PORT" ||
    { e2e_log "gateway did not come back"; return 1; }
  # its first key fetch from authn
  sleep 0.5
}

# front_door MODE ARGS...: runs front_door.py; prints its JSON summary
front_door() { "$DEBIAN_PYTHON" "$SECURITY_DIR/front_door.py" "$@"; }

# tls_args: front_door.py's arguments for the HTTPS listener
tls_args() { printf -- '--port %s --tls --cafile %s' "$HTTPS_PORT" "$CA"; }
