// Operations endpoints: /healthz answers from the store, /metrics speaks Prometheus text with request and token counts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.close());

test('/healthz is 200 while the store answers, and 503 once it is closed', async () => {
  const ok = await fetch(`${t.baseUrl}/healthz`);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: 'ok' });
});

test('/metrics counts requests by route and tokens by grant type', async () => {
  const cb = await signIn(
    new UserAgent(),
    authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid',
    }),
  );
  const res = await postForm(
    `${t.issuer}/token`,
    {
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code') as string,
      redirect_uri: 'https://rp.example/cb',
    },
    { authorization: basic(demoClient.client_id, demoClient.client_secret) },
  );
  assert.equal(res.status, 200);
  const metrics = await fetch(`${t.baseUrl}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await metrics.text();
  assert.match(text, /gatehouse_tokens_issued_total\{provider="default",grant_type="authorization_code"\} 1/);
  assert.match(
    text,
    /gatehouse_http_requests_total\{method="POST",route="\/oidc\/endpoint\/default\/token",status="200"\} 1/,
  );
  assert.match(text, /gatehouse_http_request_duration_seconds_bucket/);
  assert.match(text, /gatehouse_process_resident_memory_bytes/);
  // No token, code or secret ever reaches a label.
  assert.ok(!text.includes(res.json.access_token as string));
  assert.ok(!text.includes(cb.searchParams.get('code') as string));
});

test('/healthz reports 503 when the store does not answer', async () => {
  await t.server.store.close();
  const res = await fetch(`${t.baseUrl}/healthz`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { status: 'unavailable' });
});
