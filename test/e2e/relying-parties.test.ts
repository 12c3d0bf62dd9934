// README "Connect your app": each relying-party library's recipe run exactly as the README shows it (openid-client,
// express-openid-connect on its defaults and with the code flow, passport-openidconnect) against a real Gatehouse
// serving config/dev.yaml plus the README's clients, with the browser's part played over HTTP.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import {
  freePorts,
  importRecipe,
  readmeSection,
  recipeFolder,
  removeRecipes,
  repoRoot,
  substitute,
  testedBlocks,
} from '../helpers/readme-recipes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { authorize, type Page, UserAgent } from '../helpers/user-agent.js';

type ProviderInput = NonNullable<ConfigInput['providers']>[number];

/** The README's development issuer origin; the test's Gatehouse is on another port. */
const readmeIssuerOrigin = 'http://127.0.0.1:8080';
/** The README's app ports, one per recipe, in the order of `freePorts` below. */
const readmePorts = { openidClient: 3000, expressCode: 3001, passport: 3002, expressDefaults: 3003 } as const;

/** Step 1 of the README: config/dev.yaml, whose provider gets the README's clients. */
const devProvider = (
  parse(readFileSync(join(repoRoot, 'config/dev.yaml'), 'utf8')) as { providers: ProviderInput[] }
).providers[0] as ProviderInput;
/** dev.yaml's demo user (the `signIn` default), who signs in through every recipe. */
const alice = devProvider.users?.find((u) => u.username === 'alice')?.claims as {
  name: string;
  email: string;
};

/**
 * A browser: one cookie jar per host name, shared by every port of that host as browsers do (cookies ignore ports,
 * RFC 6265 §8.5), so the loopback apps and Gatehouse share one jar.
 */
class Browser {
  private readonly jars = new Map<string, UserAgent>();

  jar(url: string): UserAgent {
    const host = new URL(url).hostname;
    let jar = this.jars.get(host);
    if (!jar) {
      jar = new UserAgent();
      this.jars.set(host, jar);
    }
    return jar;
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    return this.jar(url).request(url, init);
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  /** What a browser does with a form_post response page: POST its hidden fields to its action. */
  postForm(url: string, fields: Record<string, string>): Promise<Page> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

function locationOf(page: Page): string | undefined {
  const location = page.headers.get('location');
  return page.status >= 300 && page.status < 400 && location ? new URL(location, page.url).href : undefined;
}

/** Follows redirects while they stay off the provider; returns the last page and, if reached, the provider URL. */
async function followApp(
  browser: Browser,
  page: Page,
  issuer: string,
): Promise<{ page: Page; providerUrl?: string }> {
  let current = page;
  for (let i = 0; i < 10; i++) {
    const next = locationOf(current);
    if (!next) return { page: current };
    if (next.startsWith(`${issuer}/`)) return { page: current, providerUrl: next };
    current = await browser.get(next);
  }
  throw new Error('too many redirects');
}

interface Login {
  /** The authorization request the app sent the browser with. */
  authorizationRequest: URL;
  /** How the response came back to the app. */
  responseMode: 'redirect' | 'form_post';
  /** The app's page after the sign-in (JSON of the user it holds). */
  page: Page;
}

/** Opens `startUrl` on the app, signs in at Gatehouse as alice (login and consent), and returns where the app lands. */
async function signInThrough(browser: Browser, startUrl: string, issuer: string): Promise<Login> {
  const start = await followApp(browser, await browser.get(startUrl), issuer);
  assert.ok(start.providerUrl, `the app did not send the browser to Gatehouse: ${start.page.status}`);
  const authorizationRequest = new URL(start.providerUrl);
  assert.equal(`${authorizationRequest.origin}${authorizationRequest.pathname}`, `${issuer}/authorize`);
  const response = await authorize(browser.jar(start.providerUrl), start.providerUrl);
  const back =
    response.kind === 'form_post'
      ? await browser.postForm(response.action, response.fields)
      : await browser.get(response.location.href);
  const end = await followApp(browser, back, issuer);
  assert.equal(end.providerUrl, undefined, 'the app sent the browser back to Gatehouse after the callback');
  assert.equal(end.page.status, 200, `the app answered ${end.page.status}: ${end.page.body.slice(0, 500)}`);
  return {
    authorizationRequest,
    responseMode: response.kind === 'form_post' ? 'form_post' : 'redirect',
    page: end.page,
  };
}

/**
 * The app's /logout, through Gatehouse's end_session_endpoint (confirming if asked) and back to the app, which then
 * starts a new sign-in: returns Gatehouse's page for it. A login form there means the Gatehouse session ended.
 */
async function logOutThrough(browser: Browser, appOrigin: string, issuer: string): Promise<Page> {
  const out = await followApp(browser, await browser.get(`${appOrigin}/logout`), issuer);
  assert.ok(
    out.providerUrl,
    `/logout did not go to Gatehouse: ${out.page.status} ${out.page.body.slice(0, 300)}`,
  );
  const endSession = new URL(out.providerUrl);
  assert.equal(`${endSession.origin}${endSession.pathname}`, `${issuer}/end_session`);
  assert.ok(endSession.searchParams.get('id_token_hint'), 'the app sent its ID token as id_token_hint');
  const gatehouse = browser.jar(out.providerUrl);
  let page = await gatehouse.get(out.providerUrl);
  if (page.status === 200 && page.body.includes('name="logout"'))
    page = await gatehouse.submit(page, { logout: 'yes' });
  const back = locationOf(page);
  assert.ok(back, `end_session answered ${page.status} without a redirect: ${page.body.slice(0, 300)}`);
  assert.equal(new URL(back).origin, appOrigin, 'end_session went back to the registered post-logout URI');
  // Back at the app, signed out: it sends the browser to Gatehouse to sign in again.
  const again = await followApp(browser, await browser.get(back), issuer);
  assert.ok(again.providerUrl, 'the signed-out app sent the browser to sign in again');
  return gatehouse.follow(again.providerUrl, new URL(issuer).origin);
}

function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!server) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const section = readmeSection('Connect your app');
const blocks = testedBlocks(section);
function block(name: string): string {
  const code = blocks.get(name);
  assert.ok(code, `README "Connect your app" has no block marked <!-- tested: ${name} -->`);
  return code;
}

let t: TestServer;
let folder: string;
/** A README app port → the origin the test serves that app on. */
const appOrigins = new Map<number, string>();
const servers: Server[] = [];

/**
 * The README recipe `name` with its issuer and its port (in `baseURL`, `redirect_uri` and `listen`) swapped for the
 * test's, imported: its app starts listening.
 */
async function startRecipe(name: string, readmePort: number): Promise<void> {
  const port = new URL(appOrigins.get(readmePort) as string).port;
  const code = substitute(block(name), [
    [readmeIssuerOrigin, new URL(t.issuer).origin],
    [`app.listen(${readmePort})`, `export const server = app.listen(${port}, '127.0.0.1')`],
    [`http://127.0.0.1:${readmePort}`, `http://127.0.0.1:${port}`],
  ]);
  const module = await importRecipe(folder, name, code);
  const server = module.server as Server;
  servers.push(server);
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
}

before(async () => {
  const ports = await freePorts(Object.keys(readmePorts).length);
  Object.values(readmePorts).forEach((readmePort, i) => {
    appOrigins.set(readmePort, `http://127.0.0.1:${ports[i]}`);
  });
  // Step 2 of the README: its clients, added to dev.yaml's.
  const clientsYaml = substitute(
    block('clients'),
    [
      readmePorts.openidClient,
      readmePorts.expressCode,
      readmePorts.passport,
      readmePorts.expressDefaults,
    ].map((p) => [`http://127.0.0.1:${p}`, appOrigins.get(p) as string] as const),
  );
  const clients = parse(clientsYaml) as NonNullable<ProviderInput['clients']>;
  t = await startTestServer({
    providers: [{ ...devProvider, clients: [...(devProvider.clients ?? []), ...clients] }],
  });
  folder = recipeFolder();
});

after(async () => {
  await Promise.all(servers.map(closeServer));
  if (folder) removeRecipes(folder);
  await t?.close();
});

describe('openid-client 6: code flow with PKCE, secret in the form body (oidcc-server)', () => {
  before(() => startRecipe('openid-client', readmePorts.openidClient));

  test('signs in; the session holds the ID token claims with name and email', async () => {
    const origin = appOrigins.get(readmePorts.openidClient) as string;
    const login = await signInThrough(new Browser(), `${origin}/login`, t.issuer);
    const request = login.authorizationRequest.searchParams;
    assert.equal(request.get('response_type'), 'code');
    assert.equal(request.get('code_challenge_method'), 'S256');
    assert.equal(login.responseMode, 'redirect');
    const user = JSON.parse(login.page.body) as Record<string, unknown>;
    assert.equal(user.iss, t.issuer);
    assert.equal(user.aud, 'node-app');
    assert.equal(user.name, alice.name);
    assert.equal(user.email, alice.email);
  });
});

describe('express-openid-connect 3 with the code flow (local http)', () => {
  before(() => startRecipe('express-openid-connect code', readmePorts.expressCode));

  test('signs in; req.oidc.user has name and email; /logout ends the Gatehouse session (oidcc-rp-initiated-logout)', async () => {
    const origin = appOrigins.get(readmePorts.expressCode) as string;
    const browser = new Browser();
    const login = await signInThrough(browser, `${origin}/`, t.issuer);
    const request = login.authorizationRequest.searchParams;
    assert.equal(request.get('response_type'), 'code');
    assert.equal(request.get('code_challenge_method'), 'S256');
    const user = JSON.parse(login.page.body) as Record<string, unknown>;
    assert.equal(user.name, alice.name);
    assert.equal(user.email, alice.email);
    const next = await logOutThrough(browser, origin, t.issuer);
    assert.equal(next.status, 200);
    assert.match(next.body, /name="password"/, 'after /logout, Gatehouse asks for the password again');
  });
});

describe('express-openid-connect 3 on its defaults: id_token by form_post (oidcc-formpost-basic-certification-test-plan)', () => {
  const browser = new Browser();
  let origin: string;
  before(async () => {
    await startRecipe('express-openid-connect defaults', readmePorts.expressDefaults);
    origin = appOrigins.get(readmePorts.expressDefaults) as string;
  });

  test('signs in with response_type=id_token and response_mode=form_post; req.oidc.user has name and email', async () => {
    const login = await signInThrough(browser, `${origin}/`, t.issuer);
    const request = login.authorizationRequest.searchParams;
    assert.equal(request.get('response_type'), 'id_token');
    assert.equal(request.get('response_mode'), 'form_post');
    assert.equal(request.get('client_id'), 'express-defaults');
    assert.equal(login.responseMode, 'form_post');
    const user = JSON.parse(login.page.body) as Record<string, unknown>;
    assert.equal(user.name, alice.name);
    assert.equal(user.email, alice.email);
  });

  test('/logout ends the Gatehouse session: the next sign-in asks for the password (oidcc-rp-initiated-logout)', async () => {
    const next = await logOutThrough(browser, origin, t.issuer);
    assert.equal(next.status, 200);
    assert.match(next.body, /name="password"/, 'after /logout, Gatehouse asks for the password again');
  });
});

describe('passport-openidconnect 0.1: code flow, secret in the form body', () => {
  before(() => startRecipe('passport-openidconnect', readmePorts.passport));

  test('signs in; the profile has displayName and email', async () => {
    const origin = appOrigins.get(readmePorts.passport) as string;
    const login = await signInThrough(new Browser(), `${origin}/login`, t.issuer);
    assert.equal(login.authorizationRequest.searchParams.get('response_type'), 'code');
    assert.equal(login.authorizationRequest.searchParams.get('scope'), 'openid profile email');
    const profile = JSON.parse(login.page.body) as { displayName?: string; emails?: { value: string }[] };
    assert.equal(profile.displayName, alice.name);
    assert.deepEqual(profile.emails, [{ value: alice.email }]);
  });
});

describe('the single-page app recipe is the code test/browser/spa.test.ts runs in Chromium', () => {
  /** The lines of the SPA test's page scripts, as the browser gets them (template literal escapes undone). */
  function spaTestLines(): Set<string> {
    const source = readFileSync(join(repoRoot, 'test/browser/spa.test.ts'), 'utf8');
    const lines = new Set<string>();
    for (const [, script = ''] of source.matchAll(/<script>\n([\s\S]*?)<\/script>/g))
      for (const line of script.replaceAll('\\\\', '\\').split('\n')) lines.add(line.trim());
    return lines;
  }

  for (const name of ['spa start', 'spa callback']) {
    test(`README block "${name}": every line is in spa.test.ts, with the README's own spa client`, () => {
      const known = spaTestLines();
      assert.ok(known.size > 20, 'found the page scripts of spa.test.ts');
      const lines = block(name)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      assert.equal(lines[0], '<script type="module">');
      assert.equal(lines.at(-1), '</script>');
      const settingsLine = lines[1] ?? '';
      const settings = /^const settings = (\{.*\});$/.exec(settingsLine)?.[1];
      assert.ok(settings, `the second line sets settings: ${settingsLine}`);
      // The settings name the README's spa client and issuer.
      assert.match(settings, /clientId: 'spa'/);
      assert.match(settings, /issuer: 'http:\/\/127\.0\.0\.1:8080\/oidc\/endpoint\/default'/);
      const redirect = /redirectUri: '([^']+)'/.exec(settings)?.[1] ?? '';
      const spaClient = (parse(block('clients')) as { client_id: string; redirect_uris?: string[] }[]).find(
        (c) => c.client_id === 'spa',
      );
      assert.ok(
        spaClient?.redirect_uris?.includes(redirect),
        `${redirect} is a redirect URI of the spa client`,
      );
      for (const line of lines.slice(2, -1)) assert.ok(known.has(line), `not in spa.test.ts: ${line}`);
    });
  }
});
