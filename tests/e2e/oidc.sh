#!/usr/bin/env bash
# OpenID Connect and the tokens' shape as Auth0 issues them, end to end against
# the real four processes with curl, the signatures and certificates checked
# with openssl: Auth0's default access-token profile (typ JWT, aud with
# /userinfo, gty, azp), the id_token's claims and auth_time (also through MFA),
# GET and POST /userinfo, the discovery document, the JWKS's certificates (x5c,
# x5t) and a signing key rotation through the Management API.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
API=https://oidc.example/api
USERINFO="https://$DOMAIN/userinfo"
USER_EMAIL=someone@example.com
USER_PASSWORD='correct horse battery staple'

management_token() {
  api POST /oauth/token --data grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
    --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
    --data-urlencode "audience=https://$DOMAIN/api/v2/"
  MANAGEMENT_TOKEN=$(json .access_token)
}

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}

# password_grant SCOPE: sets STATUS and BODY
password_grant() {
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$USER_EMAIL" \
    --data-urlencode "password=$USER_PASSWORD" --data-urlencode "audience=$API" \
    --data-urlencode "scope=$1" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
}

jwt_header() { local h; IFS=. read -r h _ _ <<<"$1"; b64url_decode "$h"; }

jwks() { api GET /.well-known/jwks.json; JWKS=$BODY; }

# --- Setup ---------------------------------------------------------------------
management_token
mgmt POST /api/v2/resource-servers -H 'content-type: application/json' \
  --data "{\"identifier\":\"$API\",\"name\":\"OIDC\",\"scopes\":[{\"value\":\"read:things\"}]}"
expect "create API: status" 201 "$STATUS"
mgmt POST /api/v2/clients -H 'content-type: application/json' \
  --data '{"name":"OIDC app","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
mgmt POST /api/v2/users -H 'content-type: application/json' \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)
jwks

# --- The password grant with openid: Auth0's shapes -----------------------------
BEFORE=$(date +%s)
password_grant "openid profile email read:things"
expect "password grant: status" 200 "$STATUS"
ACCESS_TOKEN=$(json .access_token)
ID_TOKEN=$(json .id_token)
check "access token: signature (openssl)" verify_jwt "$ACCESS_TOKEN" "$JWKS"
check "id_token: signature (openssl)" verify_jwt "$ID_TOKEN" "$JWKS"
expect "access token: typ" JWT "$(jwt_header "$ACCESS_TOKEN" | jq -r .typ)"
expect "id_token: typ" JWT "$(jwt_header "$ID_TOKEN" | jq -r .typ)"
CLAIMS=$(jwt_claims "$ACCESS_TOKEN")
expect "access token: aud [API, /userinfo]" "[\"$API\",\"$USERINFO\"]" "$(jq -c .aud <<<"$CLAIMS")"
expect "access token: gty" password "$(jq -r .gty <<<"$CLAIMS")"
expect "access token: azp" "$CLIENT_ID" "$(jq -r .azp <<<"$CLAIMS")"
expect "access token: scope" "openid profile email read:things" "$(jq -r .scope <<<"$CLAIMS")"
ID_CLAIMS=$(jwt_claims "$ID_TOKEN")
expect "id_token: aud" "$CLIENT_ID" "$(jq -r .aud <<<"$ID_CLAIMS")"
expect "id_token: sub" "$USER_ID" "$(jq -r .sub <<<"$ID_CLAIMS")"
expect "id_token: iss" "https://$DOMAIN/" "$(jq -r .iss <<<"$ID_CLAIMS")"
expect "id_token: email" "$USER_EMAIL" "$(jq -r .email <<<"$ID_CLAIMS")"
expect "id_token: email_verified" true "$(jq -r .email_verified <<<"$ID_CLAIMS")"
expect "id_token: name" "$USER_EMAIL" "$(jq -r .name <<<"$ID_CLAIMS")"
expect "id_token: nickname" someone "$(jq -r .nickname <<<"$ID_CLAIMS")"
expect_match "id_token: updated_at" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.000Z$' "$(jq -r .updated_at <<<"$ID_CLAIMS")"
AUTH_TIME=$(jq -r .auth_time <<<"$ID_CLAIMS")
check "id_token: auth_time is this sign-in's" test "$AUTH_TIME" -ge "$BEFORE" -a "$AUTH_TIME" -le "$(date +%s)"

password_grant "read:things"
expect "without openid: no id_token" false "$(json 'has("id_token")')"
NO_OPENID_TOKEN=$(json .access_token)
expect "without openid: aud is the API, a string" "\"$API\"" "$(jwt_claims "$NO_OPENID_TOKEN" | jq -c .aud)"

# --- /userinfo ------------------------------------------------------------------
api GET /userinfo -H "authorization: Bearer $ACCESS_TOKEN"
expect "userinfo GET: status" 200 "$STATUS"
expect "userinfo GET: sub" "$USER_ID" "$(json .sub)"
expect "userinfo GET: email" "$USER_EMAIL" "$(json .email)"
expect "userinfo GET: nickname" someone "$(json .nickname)"
expect "userinfo GET: Cache-Control" no-store "$(header Cache-Control)"
api POST /userinfo -H "authorization: Bearer $ACCESS_TOKEN"
expect "userinfo POST: status" 200 "$STATUS"
expect "userinfo POST: sub" "$USER_ID" "$(json .sub)"
password_grant "openid read:things"
api GET /userinfo -H "authorization: Bearer $(json .access_token)"
expect "userinfo with openid alone: only sub" '["sub"]' "$(jq -c keys <<<"$BODY")"
api GET /userinfo -H "authorization: Bearer $NO_OPENID_TOKEN"
expect "userinfo with a token not for it: status" 401 "$STATUS"
expect "userinfo with a token not for it: challenge" 'Bearer error="invalid_token"' "$(header WWW-Authenticate)"
# A token for /userinfo alone (no audience asked) without openid
api POST /oauth/token --data grant_type=password --data-urlencode "username=$USER_EMAIL" \
  --data-urlencode "password=$USER_PASSWORD" --data scope=email \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "token for /userinfo alone: aud" "\"$USERINFO\"" "$(jwt_claims "$(json .access_token)" | jq -c .aud)"
api GET /userinfo -H "authorization: Bearer $(json .access_token)"
expect "userinfo without openid: status" 403 "$STATUS"
expect "userinfo without openid: error" insufficient_scope "$(json .error)"
expect "userinfo without openid: challenge" 'Bearer error="insufficient_scope", scope="openid"' "$(header WWW-Authenticate)"
api GET /userinfo
expect "userinfo without a token: status" 401 "$STATUS"

# --- Discovery ------------------------------------------------------------------
api GET /.well-known/openid-configuration
expect "discovery: userinfo_endpoint" "$USERINFO" "$(json .userinfo_endpoint)"
expect "discovery: no authorization_endpoint" null "$(json .authorization_endpoint)"
expect "discovery: scopes" '["openid","profile","email"]' "$(jq -c .scopes_supported <<<"$BODY")"
check "discovery: claims include auth_time" grep -qw auth_time <<<"$(json '.claims_supported | join(" ")')"

# --- The JWKS's certificates, read with openssl ---------------------------------
expect "jwks: current and next" 2 "$(jq '.keys | length' <<<"$JWKS")"
for kid in $(jq -r '.keys[].kid' <<<"$JWKS"); do
  KEY=$(jq -c --arg k "$kid" '.keys[] | select(.kid == $k)' <<<"$JWKS")
  jq -r '.x5c[0]' <<<"$KEY" | base64 -d >"$E2E_WORK/cert.der"
  SUBJECT=$(openssl x509 -inform DER -in "$E2E_WORK/cert.der" -noout -subject -nameopt RFC2253)
  expect "jwks $kid: certificate names the domain" "subject=CN=$DOMAIN" "$SUBJECT"
  MODULUS=$(openssl x509 -inform DER -in "$E2E_WORK/cert.der" -noout -modulus | cut -d= -f2)
  N_HEX=$(b64url_decode "$(jq -r .n <<<"$KEY")" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
  expect "jwks $kid: certificate holds the key (n)" "$N_HEX" "$MODULUS"
  X5T=$(openssl dgst -sha1 -binary "$E2E_WORK/cert.der" | base64 | tr '+/' '-_' | tr -d '=')
  expect "jwks $kid: x5t is the certificate's SHA-1" "$X5T" "$(jq -r .x5t <<<"$KEY")"
done

# --- auth_time through MFA: the password's time, not the second factor's ---------
mgmt PUT /api/v2/guardian/factors/email -H 'content-type: application/json' --data '{"enabled":true}'
expect "enable email factor: status" 200 "$STATUS"
PASSWORD_TIME=$(date +%s)
password_grant "openid email read:things"
expect "with MFA: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
api POST /mfa/associate -H "authorization: Bearer $MFA_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
OOB_CODE=$(json .oob_code)
MAIL=$(wait_mail 1) || fail "the email did not arrive"
CODE=$(mail_field "$MAIL" code)
sleep 2   # so that the grant's iat is later than the password's time
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "mfa-oob: status" 200 "$STATUS"
check "mfa-oob: id_token signature" verify_jwt "$(json .id_token)" "$JWKS"
MFA_CLAIMS=$(jwt_claims "$(json .id_token)")
AUTH_TIME=$(jq -r .auth_time <<<"$MFA_CLAIMS")
check "mfa-oob: auth_time is the password's" \
  test "$AUTH_TIME" -ge "$PASSWORD_TIME" -a "$AUTH_TIME" -lt "$(jq -r .iat <<<"$MFA_CLAIMS")"
expect "mfa-oob: gty" mfa-oob "$(jwt_claims "$(json .access_token)" | jq -r .gty)"
expect "mfa-oob: aud" "[\"$API\",\"$USERINFO\"]" "$(jwt_claims "$(json .access_token)" | jq -c .aud)"
MFA_ACCESS_TOKEN=$(json .access_token)
api GET /userinfo -H "authorization: Bearer $MFA_ACCESS_TOKEN"
expect "userinfo after MFA: email" "$USER_EMAIL" "$(json .email)"

# --- Rotation -------------------------------------------------------------------
mgmt GET /api/v2/keys/signing
expect "list keys: status" 200 "$STATUS"
FIRST=$(json '.[] | select(.current) | .kid')
SECOND=$(json '.[] | select(.next) | .kid')
expect "list keys: the current one signs" "$FIRST" "$(jwt_header "$ACCESS_TOKEN" | jq -r .kid)"
expect_match "list keys: thumbprint" '^[0-9A-F]{40}$' "$(json '.[0].thumbprint')"
mgmt POST /api/v2/keys/signing/rotate
expect "rotate: status" 201 "$STATUS"
THIRD=$(json .kid)
check "rotate: a new next key" test -n "$THIRD" -a "$THIRD" != "$FIRST" -a "$THIRD" != "$SECOND"
management_token
expect "after rotation: the Management token is signed by the key that was next" "$SECOND" \
  "$(jwt_header "$MANAGEMENT_TOKEN" | jq -r .kid)"
# The gateway holds that key already (published as next): no refetch needed
mgmt GET /api/v2/keys/signing
expect "after rotation: the new key's Management token works" 200 "$STATUS"
expect "after rotation: current, next, previous" \
  "$SECOND current,$THIRD next,$FIRST previous" \
  "$(json '[.[] | select(.revoked | not) | "\(.kid) \(if .current then "current" elif .next then "next" else "previous" end)"] | join(",")')"
jwks
check "after rotation: an access token from before still verifies (openssl)" verify_jwt "$ACCESS_TOKEN" "$JWKS"
api GET /userinfo -H "authorization: Bearer $MFA_ACCESS_TOKEN"
expect "after rotation: the gateway takes a token from before" 200 "$STATUS"
