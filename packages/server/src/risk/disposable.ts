import { disposableEmailBlocklistSet } from 'disposable-email-domains-js';

let domains: Set<string> | undefined;

/**
 * Whether an e-mail address is at a disposable (throw-away) domain, from the maintained list of
 * `disposable-email-domains-js`; subdomains of a listed domain count too (`x.mailinator.com`).
 * The list is loaded once, on first use.
 */
export function isDisposableEmail(email: string): boolean {
  domains ??= disposableEmailBlocklistSet();
  const at = email.lastIndexOf('@');
  const labels = email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    if (domains.has(labels.slice(i).join('.'))) return true;
  }
  return false;
}
