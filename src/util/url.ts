// URL helpers shared by configuration checks and redirect URI matching (RFC 8252 §7.3, §8.3).

/** Loopback hosts as URL.hostname spells them. RFC 8252 §8.3 prefers the IP literals over `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost';
}

/** An absolute http or https URL. */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
