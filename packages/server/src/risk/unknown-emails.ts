import { createHmac, randomBytes } from 'node:crypto';

/** At most this many e-mails are tracked; the ones whose last failure is oldest go first. */
const MAX_EMAILS = 20_000;

/**
 * Failed sign-ins for e-mails that have no account, so that the sign-in risk check counts them
 * like an account's failures and answers the same whether or not the e-mail has an account.
 * Memory only, keyed by an HMAC under a key made at start-up: nothing about people without an
 * account (often a typo of somebody's real address) reaches the database, a log or a backup.
 * A restart forgets them (the window is 15 minutes anyway).
 */
export class UnknownEmailFailures {
  private readonly key = randomBytes(32);
  /** HMAC(e-mail) → failures (time, network prefix), oldest first; Map order = last failure. */
  private readonly byEmail = new Map<string, { at: number; ipPrefix: string }[]>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEmails = MAX_EMAILS,
  ) {}

  private id(email: string): string {
    return createHmac('sha256', this.key).update(email.toLowerCase(), 'utf8').digest('base64url');
  }

  private recent(id: string): { at: number; ipPrefix: string }[] {
    const since = this.now() - this.windowMs;
    const list = (this.byEmail.get(id) ?? []).filter((f) => f.at > since);
    if (list.length === 0) this.byEmail.delete(id);
    return list;
  }

  record(email: string, ipPrefix: string): void {
    const id = this.id(email);
    const list = this.recent(id);
    list.push({ at: this.now(), ipPrefix });
    this.byEmail.delete(id);
    this.byEmail.set(id, list);
    for (const oldest of this.byEmail.keys()) {
      if (this.byEmail.size <= this.maxEmails) break;
      this.byEmail.delete(oldest);
    }
  }

  /** Failures of the e-mail in the window, from this network and from all others. */
  count(email: string, ipPrefix: string): { here: number; elsewhere: number } {
    const list = this.recent(this.id(email));
    const here = list.filter((f) => f.ipPrefix === ipPrefix).length;
    return { here, elsewhere: list.length - here };
  }
}
