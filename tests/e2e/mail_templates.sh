#!/usr/bin/env bash
# Mail as data, end to end: the mfa_oob_code template saved through the
# Management API is what reaches the real SMTP server (subject, From, HTML part,
# values escaped), with no restart; a template that cannot render is refused
# with 400 at save time and changes nothing. In the PostgreSQL run two mfa
# instances share the database: whichever serves the next challenge uses it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
USER_PASSWORD='correct horse battery staple'
MAILS=0

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" \
    -H 'content-type: application/json' "$@"
}

# html_part FILE: the message's HTML part, decoded
html_part() {
  "$DEBIAN_PYTHON" - "$1" <<'PY'
import email, sys
from email import policy
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=policy.default)
print(msg.get_body(preferencelist=("html",)).get_content(), end="")
PY
}

# sign_in EMAIL: a new user's first sign-in, which mails a code; sets MAIL
sign_in() {
  mgmt POST /api/v2/users --data "{\"email\":\"$1\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
  expect "create user $1: status" 201 "$STATUS"
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$1" \
    --data-urlencode "password=$USER_PASSWORD" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  expect "sign-in $1: mfa_required" mfa_required "$(json .error)"
  api POST /mfa/associate -H "authorization: Bearer $(json .mfa_token)" \
    -H 'content-type: application/json' \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
  expect "associate $1: status" 200 "$STATUS"
  MAILS=$((MAILS + 1))
  MAIL=$(wait_mail "$MAILS") || { fail "email $MAILS did not arrive"; MAIL=/dev/null; }
}

api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
mgmt PUT /api/v2/guardian/factors/email --data '{"enabled":true}'
expect "enable email factor: status" 200 "$STATUS"
mgmt POST /api/v2/clients --data '{"name":"Tom & Jerry <Shop>","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)

# --- The default, until a template is saved -----------------------------------------
mgmt GET /api/v2/email-templates/mfa_oob_code
expect "no template yet: 404" 404 "$STATUS"
sign_in first@example.com
expect "default subject" "Postern verification code" "$(mail_field "$MAIL" subject)"
expect "default From (POSTERN_SMTP_FROM)" "Postern <no-reply@postern.test>" "$(mail_field "$MAIL" from)"

# --- A saved template is what arrives ----------------------------------------------------
mgmt PUT /api/v2/email-templates/mfa_oob_code --data '{"template":"mfa_oob_code","syntax":"liquid","enabled":true,"from":"Shop Security <security@shop.test>","subject":"{{ application.name }}: your code","body":"<html><body><h1>MARKER</h1><p>Code {{ code }} for {{ user.email }}</p>{% if application.name %}<p>App {{ application.name }}</p>{% else %}<p>no app</p>{% endif %}<p>{{ expires_in_minutes }} min</p></body></html>"}'
expect "PUT template: status" 200 "$STATUS"
expect "PUT template: answers it" "mfa_oob_code liquid true Shop Security <security@shop.test>" \
  "$(json '"\(.template) \(.syntax) \(.enabled) \(.from)"')"
mgmt GET /api/v2/email-templates/mfa_oob_code
expect "GET template: status" 200 "$STATUS"
expect "GET template: subject" "{{ application.name }}: your code" "$(json .subject)"
sign_in "o'neil@example.com"
CODE=$(mail_field "$MAIL" code)
HTML=$(html_part "$MAIL")
expect "saved subject, rendered" "Tom & Jerry <Shop>: your code" "$(mail_field "$MAIL" subject)"
expect "saved From" "Shop Security <security@shop.test>" "$(mail_field "$MAIL" from)"
check "saved body: the marker" grep -q '<h1>MARKER</h1>' <<<"$HTML"
check "saved body: the code" grep -qF "<p>Code $CODE for o&#39;neil@example.com</p>" <<<"$HTML"
check "saved body: the if branch, escaped" grep -qF '<p>App Tom &amp; Jerry &lt;Shop&gt;</p>' <<<"$HTML"
check "saved body: not the else branch" bash -c '! grep -q "no app" <<<"$1"' _ "$HTML"
check "saved body: 5 min" grep -qF '<p>5 min</p>' <<<"$HTML"
check "envelope sender is the template's From" \
  grep -q '"mail_from": *"security@shop.test"' "${MAIL%.eml}.json"

# --- A template that cannot render is refused and changes nothing ----------------------
for bad in '{"body":"<p>{{ code }} {{ user.password }}</p>"}' \
           '{"body":"{% if code %}never closed"}' \
           '{"body":"{% for x in users %}{% endfor %}"}' \
           '{"subject":"{{ code | upcase }}"}' \
           '{"from":"not an address"}' \
           '{"syntax":"handlebars"}'; do
  mgmt PATCH /api/v2/email-templates/mfa_oob_code --data "$bad"
  expect "refused $bad: 400" 400 "$STATUS"
  expect_match "refused $bad: a reason" "Payload validation error" "$(json .message)"
done
mgmt PATCH /api/v2/email-templates/mfa_oob_code --data '{"colour":"red"}'
expect "unknown member: 400" 400 "$STATUS"
expect "unknown member: invalid_body" invalid_body "$(json .errorCode)"
mgmt GET /api/v2/email-templates/mfa_oob_code
expect "refusals changed nothing" "{{ application.name }}: your code" "$(json .subject)"
sign_in third@example.com
expect "still the saved template" "Tom & Jerry <Shop>: your code" "$(mail_field "$MAIL" subject)"

# --- PATCH takes effect at the next challenge, on any instance ------------------------------
mgmt PATCH /api/v2/email-templates/mfa_oob_code --data '{"subject":"Code for {{ user.email }}"}'
expect "PATCH subject: status" 200 "$STATUS"
expect "PATCH kept the body" MARKER "$(json '.body | capture("<h1>(?<m>[A-Z]+)</h1>").m')"
for i in 4 5 6; do
  sign_in "user$i@example.com"
  expect "patched subject (sign-in $i)" "Code for user$i@example.com" "$(mail_field "$MAIL" subject)"
done
mgmt PATCH /api/v2/email-templates/mfa_oob_code --data '{"enabled":false}'
expect "disable: status" 200 "$STATUS"
sign_in disabled@example.com
expect "disabled: the default again" "Postern verification code" "$(mail_field "$MAIL" subject)"
