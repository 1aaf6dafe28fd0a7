// Sepal's local OpenID provider for `make dev` and the tests: panva's
// oidc-provider (OpenID Certified), with fixed users, one confidential client,
// no consent screen, and a login page that loads nothing from elsewhere.
//
//   node end2end/oidc/provider.mjs        (settings: see `settings` below)
//
// The signing key is made on first start and kept in OIDC_KEY_FILE, so tokens
// and sessions survive restarts. Its storage (sessions, codes) is in memory.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const settings = {
  port: Number(env.OIDC_PORT ?? 4000),
  keyFile: env.OIDC_KEY_FILE ?? `${root}/target/oidc/keys.json`,
  clientId: env.OIDC_CLIENT_ID ?? 'sepal',
  clientSecret: env.OIDC_CLIENT_SECRET ?? 'sepal-dev-secret',
  // Where Sepal may send people back to: dev (3000) and the browser tests (3100).
  appUrls: (env.OIDC_APP_URLS ?? 'http://127.0.0.1:3000,http://127.0.0.1:3100').split(','),
};
const issuer = `http://127.0.0.1:${settings.port}`;

// Every user's password is `sepal-dev`. Groups: `sepal-users` may use Sepal,
// `admin` administers it, `guests` may not use it.
const PASSWORD = 'sepal-dev';
const USERS = {
  alice: { name: 'Alice Liddell', email: 'alice@example.org', groups: ['sepal-users'] },
  bob: { name: 'Bob Marley', email: 'bob@example.org', groups: ['sepal-users'] },
  grace: { name: 'Grace Hopper', email: 'grace@example.org', groups: ['sepal-users'] },
  ada: { name: 'Ada Lovelace', email: 'ada@example.org', groups: ['sepal-users', 'admin'] },
  mallory: { name: 'Mallory Guest', email: 'mallory@elsewhere.test', groups: ['guests'] },
};

/** The signing key and cookie keys, made once and kept in a file. */
function keys() {
  if (!existsSync(settings.keyFile)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
    mkdirSync(dirname(settings.keyFile), { recursive: true });
    const cookieKeys = [randomBytes(32).toString('base64url')];
    writeFileSync(settings.keyFile, JSON.stringify({ jwks: { keys: [jwk] }, cookieKeys }), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(settings.keyFile, 'utf8'));
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;background:#23527c;color:#fff;border:0;border-radius:4px}
.error{color:#a00000}.note{color:#555;font-size:.9rem}
</style></head><body>${body}</body></html>`;

const { jwks, cookieKeys } = keys();
const provider = new Provider(issuer, {
  clients: [{
    client_id: settings.clientId,
    client_secret: settings.clientSecret,
    client_name: 'Sepal',
    redirect_uris: settings.appUrls.map((url) => `${url}/auth/callback`),
    post_logout_redirect_uris: settings.appUrls.map((url) => `${url}/`),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks,
  cookies: { keys: cookieKeys },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    // Groups come with `profile`, as Cognito's come without asking: Sepal
    // asks for the standard scopes only.
    profile: ['name', 'preferred_username', 'groups'],
  },
  // The ID token carries the claims of the scopes asked for, groups included.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `<h1>Sign out of the dev provider?</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<h1>You are signed out.</h1>');
      },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // No consent screen: Sepal is this provider's own client.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  findAccount: async (_ctx, sub) => {
    const user = USERS[sub];
    return user && {
      accountId: sub,
      claims: async () => ({
        sub,
        name: user.name,
        preferred_username: sub,
        email: user.email,
        email_verified: true,
        groups: user.groups,
      }),
    };
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<h1>Sign-in failed</h1><p class="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
});

function loginForm(uid, error = '', login = '') {
  return page('Sign in to Sepal (dev)', `<h1>Sign in</h1>
<p class="note">Local dev provider. Users: ${Object.keys(USERS).join(', ')}; password <code>${PASSWORD}</code>.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">User name</label><input id="login" name="login" autocomplete="username" value="${escape(login)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`);
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

/** The login page: GET shows it, POST checks the user and hands back to the provider. */
async function interaction(req, res) {
  const { uid, prompt } = await provider.interactionDetails(req, res);
  if (prompt.name !== 'login') throw new Error(`unexpected prompt ${prompt.name}`);
  const html = (status, body) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  if (req.method === 'GET') return html(200, loginForm(uid));
  const form = await formBody(req);
  const login = form.get('login') ?? '';
  if (!Object.hasOwn(USERS, login) || form.get('password') !== PASSWORD) {
    return html(401, loginForm(uid, 'Unknown user or wrong password.', login));
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
createServer((req, res) => {
  if (!req.url.startsWith('/interaction/')) return callback(req, res);
  interaction(req, res).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Sign-in error', `<h1>Sign-in failed</h1><p class="error">${escape(err.message)}</p><p><a href="javascript:history.back()">Back</a></p>`));
  });
}).listen(settings.port, '127.0.0.1', () => {
  console.log(`oidc: ${issuer} is ready (client ${settings.clientId}, users ${Object.keys(USERS).join(', ')})`);
});
