#!/usr/bin/env bash
# bench/perf_group.py on a small perf script text whose shares are known: five
# samples, three of thread authn-work (two under s_issue_tokens, one with its
# leaf in libcrypto), one of authn-proxy, and one of a thread whose name has a
# space, from a binary replaced while it ran, that follows the proxy's sample
# without the blank line between them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/perf.txt" <<'PERF'
authn-work 
	          12c767 [unknown] (/usr/lib/x86_64-linux-gnu/libcrypto.so.3)
	           22220 pst_jwt_signer_sign.part.0 (/build/authn/postern-authn)
	            d344 s_issue_tokens (/build/authn/postern-authn)
	           299c5 s_worker_actor (/build/authn/postern-authn)

authn-work 
	            1000 s_step+0x10 (/build/authn/postern-authn)
	            d344 s_issue_tokens (/build/authn/postern-authn)
	           299c5 s_worker_actor (/build/authn/postern-authn)

authn-work 
	            2000 s_worker_actor (/build/authn/postern-authn)

authn-proxy 
	            3000 [unknown] (/usr/lib/x86_64-linux-gnu/libzmq.so.5)
ZMQbg/IO 0
	            4000 s_proxy_actor (/build/authn/postern-authn (deleted))
PERF
out=$(python3 "$here/perf_group.py" "$work/perf.txt" authn-work)
expect() {
  grep -qxF -- "$1" <<<"$out" || { printf 'missing: %s\nin:\n%s\n' "$1" "$out" >&2; exit 1; }
}
expect "samples 5 (every share below is of all of them)"
expect "   60.0% authn-work"
expect "   20.0% authn-proxy"
expect "   20.0% ZMQbg/IO 0"
expect "   60.0% s_worker_actor"
expect "   40.0% s_issue_tokens"
expect "   20.0% pst_jwt_signer_sign.part.0"
expect "   20.0% pst_jwt_signer_sign.part.0 <- libcrypto.so.3"
expect "   20.0% s_step <- postern-authn"
# the other threads' samples count in the threads only
if grep -q "libzmq\|s_proxy_actor" <<<"$out"; then echo "a sample of another thread was grouped" >&2; exit 1; fi
# the thread with a space in its name, its binary deleted
out=$(python3 "$here/perf_group.py" "$work/perf.txt" "ZMQbg/IO 0" --top 5)
expect "   20.0% s_proxy_actor"
expect "   20.0% s_proxy_actor <- postern-authn"
# no file: the usage and a failure
if python3 "$here/perf_group.py" 2>/dev/null; then echo "ran without a file" >&2; exit 1; fi
echo "perf_group: ok"
