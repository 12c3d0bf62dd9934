// Raw HTTP for tests: one call, the status, headers, text and (when it parses) JSON of the answer.

export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

/** fetch without following redirects; `json` is `{}` when the body is not a JSON object. */
export async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, headers: res.headers, json, text };
}
