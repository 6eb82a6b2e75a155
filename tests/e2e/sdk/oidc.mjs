// OpenID Connect driven by openid-client (a certified OIDC relying party
// library), unchanged, against Postern: discovery, the password grant's
// id_token validated with its signature against the JWKS (non-repudiation
// checks) and with auth_time required, /userinfo, and a signing key rotation
// through the `auth0` ManagementClient after which the same client, without
// fetching the JWKS again, validates id_tokens signed by the new key (it was
// published ahead as the next key, as Auth0 does). Called by ../sdk_flow.sh
// with POSTERN_DOMAIN, POSTERN_BOOTSTRAP and NODE_EXTRA_CA_CERTS, before
// flow.mjs. Prints one "ok"/"FAIL" line per check; the exit status is the
// failure count.
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { ManagementClient } from 'auth0';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

function decodePart(token, index) {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString());
}

async function expectFailure(what, promise, test) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    check(what, test(error), `${error?.code ?? ''} ${error?.status ?? ''} ${error?.message}`);
  }
}

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  // Sign-in without a second factor here (flow.mjs turns it on afterwards)
  await management.guardian.factors.set('email', { enabled: false });
  const audience = 'https://oidc.example/api';
  await management.resourceServers.create({
    identifier: audience, name: 'OIDC API', scopes: [{ value: 'read:things', description: 'Read' }],
  });
  const app = await management.clients.create({
    name: 'OIDC relying party', grant_types: ['password'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  const password = 'Correct-Horse-Battery-OIDC';
  const user = await management.users.create({
    connection: 'Username-Password-Authentication', email: 'oidc.user@example.com',
    password, email_verified: true,
  });

  // --- Discovery: the issuer matches, the endpoints are Postern's
  const config = await client.discovery(
    new URL(`https://${domain}/`), app.client_id,
    { client_secret: app.client_secret, require_auth_time: true },
    client.ClientSecretPost(app.client_secret),
    { execute: [client.enableNonRepudiationChecks] },
  );
  const metadata = config.serverMetadata();
  check('discovery: issuer', metadata.issuer === `https://${domain}/`, metadata.issuer);
  check('discovery: userinfo_endpoint', metadata.userinfo_endpoint === `https://${domain}/userinfo`,
    metadata.userinfo_endpoint);
  check('discovery: no authorization_endpoint (none is served)', metadata.authorization_endpoint === undefined);
  check('discovery: scopes openid profile email',
    ['openid', 'profile', 'email'].every((scope) => metadata.scopes_supported?.includes(scope)),
    JSON.stringify(metadata.scopes_supported));

  // --- The password grant: an id_token whose signature and claims openid-client checks
  const signIn = (scope) => client.genericGrantRequest(config, 'password', {
    username: 'oidc.user@example.com', password, scope, audience,
  });
  const before = Math.floor(Date.now() / 1000);
  const tokens = await signIn('openid profile email read:things');
  const claims = tokens.claims();
  check('id_token: validated, for this user', claims?.sub === user.user_id, JSON.stringify(claims));
  check('id_token: aud is the client', claims?.aud === app.client_id, claims?.aud);
  check('id_token: auth_time of this sign-in',
    typeof claims?.auth_time === 'number' && claims.auth_time >= before - 5
      && claims.auth_time <= Math.floor(Date.now() / 1000) + 5, claims?.auth_time);
  check('id_token: email claims', claims?.email === 'oidc.user@example.com' && claims?.email_verified === true,
    JSON.stringify(claims));
  check('id_token: profile claims', claims?.name === 'oidc.user@example.com' && claims?.nickname === 'oidc.user'
    && typeof claims?.updated_at === 'string', JSON.stringify(claims));
  const header = decodePart(tokens.access_token, 0);
  const access = decodePart(tokens.access_token, 1);
  check('access token: typ JWT', header.typ === 'JWT', JSON.stringify(header));
  check('access token: aud [API, /userinfo]',
    Array.isArray(access.aud) && access.aud[0] === audience && access.aud[1] === `https://${domain}/userinfo`,
    JSON.stringify(access.aud));
  check('access token: gty and azp', access.gty === 'password' && access.azp === app.client_id,
    JSON.stringify(access));

  // --- /userinfo with that access token
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  check('userinfo: the same user', info.sub === user.user_id, JSON.stringify(info));
  check('userinfo: email and profile claims',
    info.email === 'oidc.user@example.com' && info.email_verified === true && info.nickname === 'oidc.user',
    JSON.stringify(info));
  const narrow = await signIn('openid read:things');
  const bare = await client.fetchUserInfo(config, narrow.access_token, user.user_id);
  check('userinfo: openid alone gives sub alone', Object.keys(bare).join() === 'sub', JSON.stringify(bare));
  const noOpenid = await signIn('read:things');
  check('no openid: no id_token', noOpenid.id_token === undefined);
  check('no openid: aud is the API alone', decodePart(noOpenid.access_token, 1).aud === audience);
  await expectFailure('userinfo: a token not for /userinfo is refused',
    client.fetchUserInfo(config, noOpenid.access_token, user.user_id),
    (error) => error?.status === 401 || error?.cause?.status === 401
      || /401|invalid_token/.test(String(error?.message) + String(error?.cause?.message)));

  // --- Rotation: every token signs with the key that was next, which the
  // client already holds (its JWKS cache is younger than the minute after which
  // it would fetch again)
  const listed = await management.keys.signing.list();
  const keys = Array.isArray(listed) ? listed : listed?.data;
  const next = keys?.find((key) => key.next);
  const current = keys?.find((key) => key.current);
  check('signing keys: current and next listed, with certificates',
    current && next && /BEGIN CERTIFICATE/.test(current.cert) && /^[0-9A-F]{40}$/.test(current.thumbprint),
    JSON.stringify(keys?.map((key) => ({ kid: key.kid, current: key.current, next: key.next }))));
  check('signing keys: tokens signed by the current key', header.kid === current?.kid);
  const rotated = await management.keys.signing.rotate();
  check('rotate: answers the new next key', typeof rotated?.kid === 'string' && /BEGIN CERTIFICATE/.test(rotated?.cert),
    JSON.stringify(rotated));
  const after = await signIn('openid email read:things');
  check('after rotation: signed by the key that was next', decodePart(after.access_token, 0).kid === next?.kid
    && decodePart(after.id_token, 0).kid === next?.kid);
  check('after rotation: the id_token validates', after.claims()?.sub === user.user_id);
  const afterInfo = await client.fetchUserInfo(config, after.access_token, user.user_id);
  check('after rotation: userinfo', afterInfo.email === 'oidc.user@example.com', JSON.stringify(afterInfo));
  // The token signed before still verifies: its key is published as the previous one
  const jwks = await (await fetch(metadata.jwks_uri)).json();
  check('after rotation: JWKS holds current, next and previous',
    jwks.keys.length === 3 && jwks.keys.some((key) => key.kid === current?.kid)
      && jwks.keys.every((key) => key.x5c?.length === 1 && typeof key.x5t === 'string'),
    JSON.stringify(jwks.keys.map((key) => key.kid)));
  const again = await client.fetchUserInfo(config, tokens.access_token, user.user_id);
  check('after rotation: the older access token still works', again.sub === user.user_id);
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected error: ${error?.stack ?? error}`);
  if (error?.cause) console.log(`     cause: ${JSON.stringify(error.cause)}`);
}
process.exit(Math.min(failures, 100));
