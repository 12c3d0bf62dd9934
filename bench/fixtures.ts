// The one client and user both providers of the bench (issue 9 point 1) are configured with, identically.

export const benchClient = {
  id: 'bench',
  // 40 characters: above Gatehouse's minimum and `check`'s warning threshold (issue 8 point 7).
  secret: 'bench-secret-0123456789abcdef-0123456789',
  redirectUri: 'https://rp.example/cb',
} as const;

export const benchUser = {
  username: 'alice',
  password: 'alice-password',
  sub: 'alice-sub',
  claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
} as const;

export const basicAuth = `Basic ${Buffer.from(
  `${encodeURIComponent(benchClient.id)}:${encodeURIComponent(benchClient.secret)}`,
).toString('base64')}`;
