// A second authenticator driven by Auth0's official Node.js SDKs, unchanged,
// pointed at Postern by its domain. `auth0` (Management API) sets the tenant up
// and later reads and deletes Guardian enrollments; `@auth0/auth0-auth-js`
// enrols email during a sign-in, gets an access token for the MFA API
// (https://{domain}/mfa/, `enroll read:authenticators remove:authenticators`,
// 10 minutes) after MFA, enrols an otp authenticator with it (the SDK sends the
// token as the Bearer of /mfa/associate), confirms it with a code computed from
// its secret (./totp-code.mjs) in the next sign-in, challenges each by
// authenticator_id, and deletes one. Called by ../sdk_second.sh with
// POSTERN_DOMAIN, POSTERN_BOOTSTRAP, MAIL_DIR and NODE_EXTRA_CA_CERTS. Prints
// one "ok"/"FAIL" line per check; the exit status is the failure count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';
import { currentStep, totp } from './totp-code.mjs';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const mailDir = process.env.MAIL_DIR;
const API = 'https://second.example/api';
const MFA_AUDIENCE = `https://${domain}/mfa/`;
const MFA_SCOPE = 'enroll read:authenticators remove:authenticators';
const EMAIL = 'second.user@example.com';
const PASSWORD = 'Correct-Horse-Battery-Second';
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

// The call must fail with this HTTP status and error (and description, when given)
async function expectError(what, promise, status, code, description) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    const cause = error?.cause ?? {};
    const got = cause.error ?? error?.error ?? error?.code;
    const statusCode = error?.statusCode ?? cause.statusCode;
    check(what, statusCode === status && got === code
      && (description === undefined || cause.error_description === description),
    `got ${statusCode} ${got} "${cause.error_description}": ${error?.message}`);
  }
}

function mailCount() {
  return readdirSync(mailDir).filter((name) => name.endsWith('.eml')).length;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The 6-digit code of the newest of `count` messages, from its text/plain part
async function waitCode(count) {
  for (let tries = 0; tries < 150; tries++) {
    const files = readdirSync(mailDir).filter((name) => name.endsWith('.eml'));
    if (files.length >= count) {
      const newest = files
        .map((name) => ({ name, time: statSync(join(mailDir, name)).mtimeMs }))
        .sort((a, b) => a.time - b.time)
        .pop();
      const message = readFileSync(join(mailDir, newest.name), 'utf8');
      const text = message.split(/Content-Type: text\/plain[^\n]*\n/)[1] || '';
      const match = text.split('\n--')[0].match(/\b(\d{6})\b/);
      if (match) return match[1];
    }
    await sleep(100);
  }
  throw new Error(`no message number ${count} in ${mailDir}`);
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });

  // --- 1. The tenant: both factors on (both start off), an API, an application, a user
  const initial = await management.guardian.factors.list();
  check('management: the email and otp factors start disabled',
    initial.some((f) => f.name === 'email' && f.enabled === false)
    && initial.some((f) => f.name === 'otp' && f.enabled === false), JSON.stringify(initial));
  for (const name of ['email', 'otp']) {
    const factor = await management.guardian.factors.set(name, { enabled: true });
    check(`management: ${name} factor enabled`, factor.enabled === true, JSON.stringify(factor));
  }
  const api = await management.resourceServers.create({
    identifier: API, name: 'Second API', scopes: [{ value: 'read:sample', description: 'Read' }],
  });
  check('management: API created', api.identifier === API, JSON.stringify(api));
  const grants = ['password', 'http://auth0.com/oauth/grant-type/mfa-oob',
    'http://auth0.com/oauth/grant-type/mfa-otp'];
  const app = await management.clients.create({ name: 'SDK second authenticator', grant_types: grants });
  check('management: application with the password, mfa-oob and mfa-otp grants',
    typeof app.client_secret === 'string' && grants.every((g) => app.grant_types?.includes(g)),
    JSON.stringify(app.grant_types));
  const user = await management.users.create({
    connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD,
    email_verified: true,
  });
  check('management: user created', /^auth0\|/.test(user.user_id ?? ''), JSON.stringify(user));

  const auth = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  // A sign-in that must stop at MFA: its mfa_token and mfa_requirements
  const signIn = async (what, audience = API, scope = 'read:sample') => {
    try {
      await auth.getTokenByPassword({ username: EMAIL, password: PASSWORD, audience, scope });
      check(`${what}: mfa_required`, false, 'tokens were issued');
    } catch (error) {
      check(`${what}: mfa_required`, isMfaRequiredError(error) && typeof error?.cause?.mfa_token === 'string',
        error?.message);
      return { mfaToken: error?.cause?.mfa_token, requirements: error?.cause?.mfa_requirements };
    }
    return {};
  };
  const requirementsAre = (what, requirements, types) => check(`${what}: mfa_requirements`,
    JSON.stringify(requirements) === JSON.stringify({ challenge: types.map((type) => ({ type })) }),
    JSON.stringify(requirements));

  // --- 2. Email, enrolled during the first sign-in
  let { mfaToken, requirements } = await signIn('first sign-in');
  check('first sign-in: no mfa_requirements before enrolment', requirements === undefined,
    JSON.stringify(requirements));
  let mails = mailCount();
  const emailEnrolment = await auth.mfa.enrollAuthenticator({
    authenticatorTypes: ['oob'], oobChannels: ['email'], mfaToken,
  });
  const emailId = emailEnrolment.id;
  check('enrol email: oob over email, an oob_code, one recovery code, id email|dev_',
    emailEnrolment.authenticatorType === 'oob' && emailEnrolment.oobChannel === 'email'
    && typeof emailEnrolment.oobCode === 'string' && emailEnrolment.recoveryCodes?.length === 1
    && /^email\|dev_/.test(emailId ?? ''), JSON.stringify({ ...emailEnrolment, recoveryCodes: undefined }));
  let code = await waitCode(mails + 1);
  check('enrol email: the code is mailed', mailCount() === mails + 1, `${mails} -> ${mailCount()}`);
  const first = await auth.mfa.verify({
    mfaToken, factorType: 'oob', oobCode: emailEnrolment.oobCode, bindingCode: code,
  });
  const firstClaims = claimsOf(first.accessToken);
  check('verify email: a token for the API, gty mfa-oob',
    firstClaims.aud === API && firstClaims.scope === 'read:sample' && firstClaims.gty === 'mfa-oob'
    && firstClaims.sub === user.user_id, JSON.stringify(firstClaims));

  // --- 3. An access token for the MFA API, after MFA by email
  ({ mfaToken, requirements } = await signIn('sign-in for the MFA API', MFA_AUDIENCE, MFA_SCOPE));
  requirementsAre('sign-in for the MFA API', requirements, ['email']);
  mails = mailCount();
  let challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob' });
  check('challenge email: an oob_code', challenge.challengeType === 'oob'
    && typeof challenge.oobCode === 'string', JSON.stringify(challenge));
  code = await waitCode(mails + 1);
  const mfaApi = await auth.mfa.verify({
    mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code, audience: MFA_AUDIENCE,
  });
  const mfaAccess = mfaApi.accessToken;
  const mfaClaims = claimsOf(mfaAccess ?? 'x.e30.x');
  check('MFA API token: aud https://{domain}/mfa/', mfaClaims.aud === MFA_AUDIENCE, JSON.stringify(mfaClaims.aud));
  check('MFA API token: scope enroll read:authenticators remove:authenticators',
    mfaClaims.scope === MFA_SCOPE && mfaApi.scope === MFA_SCOPE, `${mfaClaims.scope} / ${mfaApi.scope}`);
  check('MFA API token: lives 10 minutes (exp - iat)', mfaClaims.exp - mfaClaims.iat === 600,
    mfaClaims.exp - mfaClaims.iat);
  check('MFA API token: the user\'s, for this application',
    mfaClaims.sub === user.user_id && mfaClaims.azp === app.client_id, JSON.stringify(mfaClaims));

  // --- 4. A second authenticator, otp, with that access token as the SDK's mfaToken
  mails = mailCount();
  const otpEnrolment = await auth.mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken: mfaAccess });
  const otpId = otpEnrolment.id;
  const { secret } = otpEnrolment;
  check('enrol otp with the access token: a base32 secret and an otpauth URI, id totp|dev_',
    otpEnrolment.authenticatorType === 'otp' && /^[A-Z2-7]{32}$/.test(secret ?? '')
    && otpEnrolment.barcodeUri?.startsWith('otpauth://totp/') && /^totp\|dev_/.test(otpId ?? ''),
    JSON.stringify({ ...otpEnrolment, secret: secret?.length, barcodeUri: undefined }));
  check('enrol otp: no further recovery code', otpEnrolment.recoveryCodes === undefined,
    JSON.stringify(otpEnrolment.recoveryCodes));
  check('enrol otp: nothing mailed', mailCount() === mails, `${mails} -> ${mailCount()}`);
  await expectError('enrol a second email authenticator: access_denied',
    auth.mfa.enrollAuthenticator({ authenticatorTypes: ['oob'], oobChannels: ['email'], mfaToken: mfaAccess }),
    403, 'access_denied');
  let listed = await auth.mfa.listAuthenticators({ mfaToken: mfaAccess });
  check('list with the access token: email active, otp not yet',
    listed.some((a) => a.id === emailId && a.authenticatorType === 'oob' && a.active === true)
    && listed.some((a) => a.id === otpId && a.authenticatorType === 'otp' && a.active === false),
    JSON.stringify(listed));
  let enrollments = await management.users.enrollments.get(user.user_id);
  check('management: users.enrollments.get, email confirmed and otp pending',
    enrollments.length === 2
    && enrollments.some((e) => e.id === emailId && e.type === 'email' && e.status === 'confirmed'
      && e.identifier === EMAIL)
    && enrollments.some((e) => e.id === otpId && e.type === 'authenticator' && e.status === 'pending'),
    JSON.stringify(enrollments));
  // Postern confirms it by the mfa-otp grant of a later sign-in (docs/auth0.md);
  // the access token is not an mfa_token
  await expectError('verify otp with the access token as mfa_token: invalid_grant',
    auth.mfa.verify({ mfaToken: mfaAccess, factorType: 'otp', otp: totp(secret, currentStep()) }),
    403, 'invalid_grant');

  ({ mfaToken, requirements } = await signIn('sign-in confirming otp'));
  requirementsAre('sign-in confirming otp, before confirmation', requirements, ['email']);
  mails = mailCount();
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'otp', authenticatorId: otpId });
  check('challenge the pending otp authenticator by id: challenge_type otp, no oob_code',
    challenge.challengeType === 'otp' && challenge.oobCode === undefined, JSON.stringify(challenge));
  let lastStep = currentStep();
  const confirmed = await auth.mfa.verify({ mfaToken, factorType: 'otp', otp: totp(secret, lastStep) });
  const confirmedClaims = claimsOf(confirmed.accessToken);
  check('confirm otp with the app\'s code: a token for the API, gty mfa-otp',
    confirmedClaims.aud === API && confirmedClaims.gty === 'mfa-otp', JSON.stringify(confirmedClaims));
  check('confirm otp: nothing mailed', mailCount() === mails, `${mails} -> ${mailCount()}`);
  // The next step the authenticator has not used yet (one step ahead is accepted)
  const nextOtp = () => {
    lastStep = Math.max(currentStep(), lastStep + 1);
    return totp(secret, lastStep);
  };

  // --- 5. Both listed, by the MFA API and the Management API
  listed = await auth.mfa.listAuthenticators({ mfaToken: mfaAccess });
  check('list with the access token: email active, otp active, the recovery code',
    listed.length === 3
    && listed.some((a) => a.id === emailId && a.authenticatorType === 'oob' && a.active === true)
    && listed.some((a) => a.id === otpId && a.authenticatorType === 'otp' && a.active === true)
    && listed.some((a) => a.authenticatorType === 'recovery-code' && a.active === true),
    JSON.stringify(listed));
  enrollments = await management.users.enrollments.get(user.user_id);
  check('management: users.enrollments.get, both confirmed',
    enrollments.length === 2 && enrollments.every((e) => e.status === 'confirmed')
    && enrollments.some((e) => e.id === emailId) && enrollments.some((e) => e.id === otpId),
    JSON.stringify(enrollments));

  // --- 6. Each by its id: the email one mails a code, the otp one nothing
  ({ mfaToken, requirements } = await signIn('sign-in with two authenticators'));
  requirementsAre('sign-in with two authenticators', requirements, ['email', 'otp']);
  mails = mailCount();
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob', authenticatorId: emailId });
  check('challenge the email authenticator by id: an oob_code', challenge.challengeType === 'oob'
    && typeof challenge.oobCode === 'string', JSON.stringify(challenge));
  code = await waitCode(mails + 1);
  check('challenge email: one mail', mailCount() === mails + 1, `${mails} -> ${mailCount()}`);
  const emailOob = challenge.oobCode;
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'otp', authenticatorId: otpId });
  check('challenge the otp authenticator by id: challenge_type otp, no oob_code',
    challenge.challengeType === 'otp' && challenge.oobCode === undefined, JSON.stringify(challenge));
  await sleep(500);
  check('challenge otp: nothing mailed', mailCount() === mails + 1, `${mails + 1} -> ${mailCount()}`);
  const byOtp = await auth.mfa.verify({ mfaToken, factorType: 'otp', otp: nextOtp() });
  check('verify by otp: a token, gty mfa-otp', claimsOf(byOtp.accessToken).gty === 'mfa-otp');
  await expectError('the email code of that sign-in after it: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'oob', oobCode: emailOob, bindingCode: code }),
    403, 'invalid_grant');
  ({ mfaToken } = await signIn('sign-in verified by email'));
  mails = mailCount();
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob', authenticatorId: emailId });
  code = await waitCode(mails + 1);
  const byEmail = await auth.mfa.verify({ mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code });
  check('verify by email: a token, gty mfa-oob', claimsOf(byEmail.accessToken).gty === 'mfa-oob');

  // --- 7. The user deletes the otp one; an mfa_token cannot enrol once one is active
  ({ mfaToken } = await signIn('sign-in for an mfa_token'));
  await expectError('delete with an mfa_token: 401',
    auth.mfa.deleteAuthenticator({ authenticatorId: otpId, mfaToken }), 401, 'invalid_token');
  await auth.mfa.deleteAuthenticator({ authenticatorId: otpId, mfaToken: mfaAccess });
  check('deleteAuthenticator with the access token: resolved', true);
  listed = await auth.mfa.listAuthenticators({ mfaToken: mfaAccess });
  check('list: the otp authenticator gone, email and the recovery code left',
    listed.length === 2 && !listed.some((a) => a.id === otpId)
    && listed.some((a) => a.id === emailId && a.active === true), JSON.stringify(listed));
  await expectError('delete it again: 404',
    auth.mfa.deleteAuthenticator({ authenticatorId: otpId, mfaToken: mfaAccess }), 404, 'not_found');
  // Auth0: with an active authenticator, /mfa/associate wants an access token holding enroll
  await expectError('enrol otp with an mfa_token while email is active: "User is already enrolled."',
    auth.mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken }), 403, 'access_denied',
    'User is already enrolled.');
  ({ mfaToken, requirements } = await signIn('sign-in after the deletion'));
  requirementsAre('sign-in after the deletion', requirements, ['email']);
  mails = mailCount();
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob' });
  code = await waitCode(mails + 1);
  const narrow = await auth.mfa.verify({ mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code });
  check('sign-in by email after the deletion: a token', typeof narrow.accessToken === 'string');
  ({ mfaToken } = await signIn('sign-in for the MFA API without enroll', MFA_AUDIENCE, 'read:authenticators'));
  mails = mailCount();
  challenge = await auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob' });
  code = await waitCode(mails + 1);
  const readOnly = await auth.mfa.verify({
    mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code, audience: MFA_AUDIENCE,
  });
  check('MFA API token without enroll: scope read:authenticators',
    claimsOf(readOnly.accessToken).scope === 'read:authenticators', claimsOf(readOnly.accessToken).scope);
  await expectError('enrol otp with an access token lacking enroll: insufficient_scope',
    auth.mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken: readOnly.accessToken }),
    403, 'insufficient_scope');
  await expectError('delete with an access token lacking remove:authenticators: insufficient_scope',
    auth.mfa.deleteAuthenticator({ authenticatorId: emailId, mfaToken: readOnly.accessToken }),
    403, 'insufficient_scope');

  // --- 8. The administrator deletes the email enrolment: the user enrols again
  await management.guardian.enrollments.delete(emailId);
  check('management: guardian.enrollments.delete, resolved', true);
  enrollments = await management.users.enrollments.get(user.user_id);
  check('management: users.enrollments.get, none left', enrollments.length === 0, JSON.stringify(enrollments));
  try {
    await management.guardian.enrollments.delete(emailId);
    check('management: delete it again: 404', false, 'it succeeded');
  } catch (error) {
    check('management: delete it again: 404', error?.statusCode === 404, `${error?.statusCode} ${error?.message}`);
  }
  ({ mfaToken, requirements } = await signIn('sign-in after the administrator\'s deletion'));
  check('sign-in after the administrator\'s deletion: no mfa_requirements (enrol again)',
    requirements === undefined, JSON.stringify(requirements));
  listed = await auth.mfa.listAuthenticators({ mfaToken });
  check('list: nothing, the recovery code went with the last factor', listed.length === 0,
    JSON.stringify(listed));
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected error: ${error?.stack ?? error}`);
  if (error?.cause) console.log(`     cause: ${JSON.stringify(error.cause)}`);
  if (error?.body) console.log(`     body: ${JSON.stringify(error.body)}`);
}
process.exit(Math.min(failures, 100));
