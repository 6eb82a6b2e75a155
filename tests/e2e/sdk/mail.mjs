// Mail as data driven by Auth0's official `auth0` ManagementClient, unchanged,
// pointed at Postern by its domain: the mfa_oob_code template set, read,
// patched and refused; then a sign-in through `@auth0/auth0-auth-js` whose code
// mail, as the real SMTP server received it, is the customised one. Called by
// ../sdk_mail.sh. Prints one "ok"/"FAIL" line per check; the exit status is
// the failure count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const mailDir = process.env.MAIL_DIR;
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
    return error;
  }
  return undefined;
}

const mails = () => readdirSync(mailDir).filter((name) => name.endsWith('.eml'));

// The newest message once there are more than `before`: its headers and its
// HTML part, quoted-printable decoded (enough for the ASCII checked here)
async function nextMail(before) {
  for (let tries = 0; tries < 150 && mails().length <= before; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const newest = mails().map((name) => join(mailDir, name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).pop();
  const raw = newest ? readFileSync(newest, 'latin1') : '';
  const header = (name) => (raw.match(new RegExp(`^${name}: (.*)$`, 'mi')) ?? [])[1]?.trim();
  const htmlStart = raw.indexOf('Content-Type: text/html');
  const html = htmlStart < 0 ? '' : raw.slice(raw.indexOf('\r\n\r\n', htmlStart) + 4)
    .replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return { subject: header('Subject'), from: header('From'), html };
}

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  await management.guardian.factors.set('email', { enabled: true });
  const body = '<html><body><h1>SDK-TEMPLATE</h1><p>{{ code }} for {{ user.email }}</p>'
    + '{% if application.name %}<p>{{ application.name }}</p>{% endif %}</body></html>';

  // --- The template through the SDK
  await expectStatus('emailTemplates.get before any: 404',
    management.emailTemplates.get('mfa_oob_code'), 404);
  const saved = await management.emailTemplates.set('mfa_oob_code', {
    template: 'mfa_oob_code', body, from: 'SDK Shop <codes@sdk.test>',
    subject: 'SDK code for {{ user.email }}', syntax: 'liquid', enabled: true,
  });
  check('emailTemplates.set: answers the template',
    saved.template === 'mfa_oob_code' && saved.body === body && saved.syntax === 'liquid'
    && saved.enabled === true && saved.from === 'SDK Shop <codes@sdk.test>', JSON.stringify(saved));
  const read = await management.emailTemplates.get('mfa_oob_code');
  check('emailTemplates.get: the saved template', read.subject === 'SDK code for {{ user.email }}'
    && read.body === body, JSON.stringify(read));
  const patched = await management.emailTemplates.update('mfa_oob_code', {
    subject: 'Your SDK code, {{ user.email }}',
  });
  check('emailTemplates.update: subject changed, body kept',
    patched.subject === 'Your SDK code, {{ user.email }}' && patched.body === body,
    JSON.stringify(patched));
  const refusal = await expectStatus('emailTemplates.update with an unknown variable: 400',
    management.emailTemplates.update('mfa_oob_code', { body: '{{ user.secret }}' }), 400);
  check('emailTemplates.update refused: says why',
    /Unknown variable.*user\.secret/.test(JSON.stringify(refusal?.body ?? {})),
    JSON.stringify(refusal?.body));
  await expectStatus('emailTemplates.update with an unclosed if: 400',
    management.emailTemplates.update('mfa_oob_code', { body: '{% if code %}' }), 400);
  const after = await management.emailTemplates.get('mfa_oob_code');
  check('refusals changed nothing', after.body === body
    && after.subject === 'Your SDK code, {{ user.email }}', JSON.stringify(after));

  // --- The mail a sign-in sends is the customised one
  const app = await management.clients.create({
    name: 'SDK mail app', grant_types: ['password', 'http://auth0.com/oauth/grant-type/mfa-oob'],
  });
  const password = 'Correct-Horse-Battery-9';
  const email = 'sdk.mail@example.com';
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
  const enrolment = await auth.mfa.enrollAuthenticator({
    authenticatorTypes: ['oob'], oobChannels: ['email'], mfaToken,
  });
  check('enrol email: an oob_code', typeof enrolment.oobCode === 'string', JSON.stringify(enrolment));
  const mail = await nextMail(before);
  check('mail: the template\'s subject, rendered', mail.subject === `Your SDK code, ${email}`,
    mail.subject);
  check('mail: the template\'s From', mail.from === 'SDK Shop <codes@sdk.test>', mail.from);
  check('mail: the template\'s body', /<h1>SDK-TEMPLATE<\/h1><p>\d{6} for sdk\.mail@example\.com<\/p><p>SDK mail app<\/p>/
    .test(mail.html), mail.html.slice(0, 200));
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected error: ${error?.message}`);
}
process.exit(failures);
