// The email provider driven by Auth0's official `auth0` ManagementClient
// (7.1.0: management.emails.provider.get / create / update), unchanged, pointed
// at Postern by its domain: 404 before one is configured, create, read, update,
// a second create and a bad body refused, the password never answered; then a
// sign-in through `@auth0/auth0-auth-js` whose mail reaches the provider's SMTP
// server (the suite's sink, SMTP_PORT) From the provider's address. Called by
// ../sdk_mail.sh before mail.mjs (no template is saved yet, so the provider's
// From is the one used). One "ok"/"FAIL" line per check; exit status = failures.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const mailDir = process.env.MAIL_DIR;
const smtpPort = Number(process.env.SMTP_PORT);
const secret = 'Sdk-pr0vider-Secret';
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

async function expectStatus(what, promise, wanted) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    check(what, error?.statusCode === wanted, `got ${error?.statusCode}: ${error?.message}`);
  }
}

const mails = () => readdirSync(mailDir).filter((name) => name.endsWith('.eml'));

// The From header of the newest message once there are more than `before`
async function nextFrom(before) {
  for (let tries = 0; tries < 150 && mails().length <= before; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const newest = mails().map((name) => join(mailDir, name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).pop();
  const raw = newest && mails().length > before ? readFileSync(newest, 'latin1') : '';
  return (raw.match(/^From: (.*)$/mi) ?? [])[1]?.trim();
}

const noSecret = (value) => !JSON.stringify(value).includes('smtp_pass')
  && !JSON.stringify(value).includes(secret);

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  await management.guardian.factors.set('email', { enabled: true });

  await expectStatus('emails.provider.get before any: 404', management.emails.provider.get(), 404);
  const created = await management.emails.provider.create({
    name: 'smtp', enabled: true, default_from_address: 'SDK Provider <provider@sdk.test>',
    credentials: { smtp_host: '127.0.0.1', smtp_port: smtpPort + 1, smtp_user: 'sdk', smtp_pass: secret },
  });
  check('emails.provider.create: answers it without the password',
    created.name === 'smtp' && created.enabled === true
    && created.default_from_address === 'SDK Provider <provider@sdk.test>'
    && created.credentials?.smtp_port === smtpPort + 1 && noSecret(created), JSON.stringify(created));
  const read = await management.emails.provider.get();
  check('emails.provider.get: the provider, no password',
    read.credentials?.smtp_user === 'sdk' && noSecret(read), JSON.stringify(read));
  await expectStatus('emails.provider.create again: 409', management.emails.provider.create({
    name: 'smtp', default_from_address: 'x@sdk.test',
    credentials: { smtp_host: '127.0.0.1', smtp_port: smtpPort },
  }), 409);
  await expectStatus('emails.provider.update to sendgrid: 400',
    management.emails.provider.update({ name: 'sendgrid' }), 400);
  // the suite's sink: the port was one past it
  const updated = await management.emails.provider.update({ credentials: { smtp_port: smtpPort } });
  check('emails.provider.update: port changed, user kept',
    updated.credentials?.smtp_port === smtpPort && updated.credentials?.smtp_user === 'sdk'
    && noSecret(updated), JSON.stringify(updated));

  // --- The next sign-in's mail goes through it
  const app = await management.clients.create({
    name: 'SDK provider app', grant_types: ['password', 'http://auth0.com/oauth/grant-type/mfa-oob'],
  });
  const password = 'Correct-Horse-Battery-9';
  const email = 'sdk.provider@example.com';
  await management.users.create({
    connection: 'Username-Password-Authentication', email, password, email_verified: true,
  });
  const auth = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  let mfaToken;
  try {
    await auth.getTokenByPassword({ username: email, password });
    check('sign-in: MFA required', false, 'tokens were issued');
  } catch (error) {
    check('sign-in: MFA required', isMfaRequiredError(error), error?.message);
    mfaToken = error?.cause?.mfa_token;
  }
  const before = mails().length;
  await auth.mfa.enrollAuthenticator({ authenticatorTypes: ['oob'], oobChannels: ['email'], mfaToken });
  const from = await nextFrom(before);
  check('mail: sent through the provider, From its address',
    from === 'SDK Provider <provider@sdk.test>', from);
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected error: ${error?.message}`);
}
process.exit(failures);
