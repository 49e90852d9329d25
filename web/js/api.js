// The HTTP API with the token from sessionStorage; a refused token sends the user back to the token form.

const KEY = 'bmo.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error;
    this.field = body?.field;
  }
}

/** Called when the server refuses the token (401). */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export async function api(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { authorization: `Bearer ${token.get() ?? ''}`, accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (accept !== 'application/json' && response.ok) return response.text();
  let json;
  try {
    json = await response.json();
  } catch {
    json = undefined;
  }
  if (response.status === 401) onUnauthorized(json?.message);
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** One page of a collection route: `limit` items from `cursor` (none: the first page); `next` is the following page's cursor. */
export async function page(path, key, limit, cursor) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  const json = await api(`${path}${path.includes('?') ? '&' : '?'}${query}`);
  return { items: json[key] ?? [], next: json.next_cursor ?? undefined, pos: json.pos };
}

export const enc = encodeURIComponent;
