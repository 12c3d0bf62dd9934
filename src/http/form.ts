// Strict application/x-www-form-urlencoded parsing (RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once).

/** A parsed form or query string. Repeated names are kept aside so each endpoint decides how to refuse them. */
export class FormParams {
  /** The first value of each name. */
  readonly values: ReadonlyMap<string, string>;
  /** Names that appeared more than once. */
  readonly repeated: ReadonlySet<string>;
  private readonly extra: ReadonlyMap<string, string[]>;

  constructor(values: Map<string, string>, repeated: Set<string>, extra: Map<string, string[]> = new Map()) {
    this.values = values;
    this.repeated = repeated;
    this.extra = extra;
  }

  /** Every value of a name that may legitimately repeat (RFC 8707 `resource`). */
  getAll(name: string): string[] {
    const first = this.values.get(name);
    return first === undefined ? [] : [first, ...(this.extra.get(name) ?? [])];
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Only the named parameters (every value of each), e.g. a grant's allow-list. */
  pick(names: ReadonlySet<string>): FormParams {
    const values = new Map([...this.values].filter(([k]) => names.has(k)));
    const repeated = new Set([...this.repeated].filter((k) => names.has(k)));
    const extra = new Map([...this.extra].filter(([k]) => names.has(k)));
    return new FormParams(values, repeated, extra);
  }

  /** Empty values count as absent (RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if omitted"). */
  present(name: string): string | undefined {
    const v = this.values.get(name);
    return v === '' ? undefined : v;
  }
}

export class FormSyntaxError extends Error {
  override name = 'FormSyntaxError';
}

function decodeComponent(s: string): string {
  const plusDecoded = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plusDecoded.includes('%')) return plusDecoded;
  try {
    // Throws URIError on a bad escape or an escape sequence that is not UTF-8.
    return decodeURIComponent(plusDecoded);
  } catch {
    throw new FormSyntaxError('malformed percent-encoding or not UTF-8');
  }
}

/** Parses `a=1&b=2`. Throws FormSyntaxError on bad encoding or control characters. */
export function parseForm(text: string): FormParams {
  const values = new Map<string, string>();
  const repeated = new Set<string>();
  const extra = new Map<string, string[]>();
  if (text.length === 0) return new FormParams(values, repeated);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq === -1 ? '' : pair.slice(eq + 1));
    // NUL and other C0 controls have no place in any OAuth parameter and break stores and logs alike.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(name + value))
      throw new FormSyntaxError('control characters');
    if (values.has(name)) {
      repeated.add(name);
      const list = extra.get(name);
      if (list) list.push(value);
      else extra.set(name, [value]);
    } else values.set(name, value);
  }
  return new FormParams(values, repeated, extra);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a request body as UTF-8, refusing invalid sequences rather than replacing them. */
export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new FormSyntaxError('body is not UTF-8');
  }
}

/** The query string of a raw request URL, parsed strictly. */
export function parseQuery(rawUrl: string): FormParams {
  const q = rawUrl.indexOf('?');
  return parseForm(q === -1 ? '' : rawUrl.slice(q + 1));
}

/**
 * Whether a Content-Type names a charset other than UTF-8: our bodies (forms, JSON) are read as UTF-8 only, and bytes
 * declared as another charset would be read as something else (issue 8 point 8).
 */
export function declaresOtherCharset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return charset !== undefined && charset !== 'utf-8' && charset !== 'utf8';
}
