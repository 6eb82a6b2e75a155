#!/usr/bin/env bash
# bench/perf_group.py on a small perf script text whose shares are known: four
# samples, three of thread authn-work (two under s_issue_tokens, one with its
# leaf in libcrypto), one of authn-proxy.
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
PERF
out=$(python3 "$here/perf_group.py" "$work/perf.txt" authn-work)
expect() {
  grep -qxF -- "$1" <<<"$out" || { printf 'missing: %s\nin:\n%s\n' "$1" "$out" >&2; exit 1; }
}
expect "samples 4"
expect "   75.0% authn-work"
expect "   25.0% authn-proxy"
expect "   75.0% s_worker_actor"
expect "   50.0% s_issue_tokens"
expect "   25.0% pst_jwt_signer_sign.part.0"
expect "   25.0% pst_jwt_signer_sign.part.0 <- libcrypto.so.3"
expect "   25.0% s_step <- postern-authn"
# the proxy's sample counts in the threads only
if grep -q "libzmq" <<<"$out"; then echo "a sample of another thread was grouped" >&2; exit 1; fi
# no file: the usage and a failure
if python3 "$here/perf_group.py" 2>/dev/null; then echo "ran without a file" >&2; exit 1; fi
echo "perf_group: ok"
