// Canonical JSON: object keys sorted, no whitespace, undefined members dropped. Signatures and
// hashes are computed over these bytes, so two sides that parse the same value sign the same bytes.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new TypeError('canonical JSON allows only safe integers');
    }
    // undefined (outside an object member), functions and symbols have no JSON form: refuse them
    // rather than emit `[1,]` or let `[undefined]` sign the same bytes as `[]`.
    const json: string | undefined = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`canonical JSON cannot represent ${typeof value}`);
    return json;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
