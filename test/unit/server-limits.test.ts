// The `server` limits on slow and idle clients, connections and shutdown (issue 8 point 4): defaults and bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConfig, ConfigError } from '../../src/config/load.js';

const providers = [{ name: 'default', users: [{ username: 'alice', password: 'alice-password' }] }];

test('defaults: 30 s per request, 5 s idle keep-alive, 10,000 connections, 10 s to shut down', () => {
  const { server } = buildConfig({ providers });
  assert.equal(server.requestTimeoutSeconds, 30);
  assert.equal(server.keepAliveTimeoutSeconds, 5);
  assert.equal(server.maxConnections, 10000);
  assert.equal(server.shutdownTimeoutSeconds, 10);
});

test('each can be set, from the environment too, and a zero (no limit) is refused by key path', () => {
  const { server } = buildConfig(
    {
      server: { requestTimeoutSeconds: 10, keepAliveTimeoutSeconds: 2, maxConnections: '${MAX}' },
      providers,
    },
    { MAX: '500' },
  );
  assert.equal(server.requestTimeoutSeconds, 10);
  assert.equal(server.keepAliveTimeoutSeconds, 2);
  assert.equal(server.maxConnections, 500);
  for (const key of [
    'requestTimeoutSeconds',
    'keepAliveTimeoutSeconds',
    'maxConnections',
    'shutdownTimeoutSeconds',
  ]) {
    assert.throws(
      () => buildConfig({ server: { [key]: 0 }, providers }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(`server.${key}`),
      key,
    );
  }
});
