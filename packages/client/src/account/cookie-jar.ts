/**
 * The cookies of one Conclave server, for clients without a browser (bots, the CLI, tests):
 * what `Set-Cookie` set is sent back on every request and on the WebSocket upgrade. It keeps
 * name and value only — every Conclave cookie is `Path=/` on one host — and honours deletion
 * (`Max-Age=0` or an `Expires` in the past). Browsers do all of this themselves.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Takes the `Set-Cookie` headers of a response. */
  store(setCookies: readonly string[], now = Date.now()): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || attributes.some((a) => isExpired(a, now))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  clear(): void {
    this.cookies.clear();
  }
}

function isExpired(attribute: string, now: number): boolean {
  const eq = attribute.indexOf('=');
  const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
  const value = eq < 0 ? '' : attribute.slice(eq + 1).trim();
  if (key === 'max-age') return Number(value) <= 0;
  if (key === 'expires') {
    const at = Date.parse(value);
    return !Number.isNaN(at) && at <= now;
  }
  return false;
}
