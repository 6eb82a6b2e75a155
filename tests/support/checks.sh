# Checks shared by the e2e harness (tests/e2e/lib.sh) and the deployment smoke test
# (deploy/compose-smoke.sh): reading the mailed code and verifying tokens, with
# tools independent of Postern's own code (Debian's Python email parser, openssl).
# Expects DEBIAN_PYTHON (Debian's interpreter, which has the email package as
# Debian ships it) and MAIL_DIR (one .eml file per message) to be set.

# wait_mail N [TRIES]: waits (TRIES × 0.1 s, 15 s by default) until N messages sit
# in MAIL_DIR; prints the newest path
wait_mail() {
  local want=$1 tries=${2:-150}
  while (( $(find "$MAIL_DIR" -name '*.eml' | wc -l) < want )); do
    tries=$((tries - 1))
    ((tries > 0)) || return 1
    sleep 0.1
  done
  find "$MAIL_DIR" -name '*.eml' -printf '%T@ %p\n' | sort -n | tail -n1 | cut -d' ' -f2
}

# mail_field FILE HEADER|code: a header of the message, or the 6-digit code of its
# text part
mail_field() {
  "$DEBIAN_PYTHON" - "$1" "$2" <<'PY'
import email, re, sys
from email import policy
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=policy.default)
if sys.argv[2] == "code":
    text = msg.get_body(preferencelist=("plain",)).get_content()
    codes = re.findall(r"\b\d{6}\b", text)
    print(codes[0] if codes else "")
else:
    print(msg.get(sys.argv[2], ""))
PY
}

b64url_decode() {
  local s=$1
  s=${s//-/+}
  s=${s//_//}
  while (( ${#s} % 4 )); do s+='='; done
  printf '%s' "$s" | base64 -d 2>/dev/null
}

# verify_jwt TOKEN JWKS: RS256 signature check with openssl against the JWKS key
# named by the token's kid
verify_jwt() {
  local dir rc
  dir=$(mktemp -d) || return 1
  s_verify_jwt_in "$dir" "$1" "$2"
  rc=$?
  rm -rf "$dir"
  return $rc
}

s_verify_jwt_in() {
  local dir=$1 token=$2 jwks=$3 h p s alg kid n e
  IFS=. read -r h p s <<<"$token"
  [[ -n $h && -n $p && -n $s ]] || return 1
  alg=$(b64url_decode "$h" | jq -r .alg)
  kid=$(b64url_decode "$h" | jq -r .kid)
  [[ $alg == RS256 ]] || return 1
  n=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .n' <<<"$jwks")
  e=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .e' <<<"$jwks")
  [[ -n $n && -n $e ]] || return 1
  printf 'asn1=SEQUENCE:pubkey\n[pubkey]\nn=INTEGER:0x%s\ne=INTEGER:0x%s\n' \
    "$(b64url_decode "$n" | od -An -v -tx1 | tr -d ' \n')" \
    "$(b64url_decode "$e" | od -An -v -tx1 | tr -d ' \n')" >"$dir/key.cnf"
  openssl asn1parse -genconf "$dir/key.cnf" -noout -out "$dir/key.der" >/dev/null || return 1
  openssl rsa -RSAPublicKey_in -inform DER -in "$dir/key.der" -pubout -out "$dir/key.pem" 2>/dev/null || return 1
  printf '%s' "$h.$p" >"$dir/signed"
  b64url_decode "$s" >"$dir/signature"
  openssl dgst -sha256 -verify "$dir/key.pem" -signature "$dir/signature" "$dir/signed" >/dev/null 2>&1
}

# jwt_claims TOKEN: the decoded claims (not verified)
jwt_claims() { local p; IFS=. read -r _ p _ <<<"$1"; b64url_decode "$p"; }
