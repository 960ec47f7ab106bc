import {
  useEffect,
  useId,
  useRef,
  useState,
  type AnchorHTMLAttributes,
  type MouseEvent,
  type ReactNode,
  type RefObject,
} from 'react';
import type { MeetingMode } from '@conclave/protocol';
import type { HumanError } from '../errors.js';
import { navigate, setReturnTo } from '../router.js';

/** An error the user can act on: what happened, then what to do. Announced at once. */
export function ErrorBox({ error, children }: { error: HumanError; children?: ReactNode }) {
  return (
    <div className="error-box" role="alert" data-code={error.code}>
      <p className="error-title">{error.title}</p>
      <p>{error.next}</p>
      {error.detail && <p className="error-detail">Details from the server: {error.detail}</p>}
      {children}
    </div>
  );
}

export const MODE_TEXT: Record<MeetingMode, { label: string; detail: string }> = {
  e2ee: {
    label: 'End-to-end encrypted',
    detail:
      'Only the participants can see and hear this meeting. The server relays encrypted media it cannot read.',
  },
  standard: {
    label: 'Standard (not end-to-end encrypted)',
    detail: 'The connection is encrypted, but the server can see and hear this meeting.',
  },
};

/** Small inline icons (no icon font or emoji: they are not on every system). Decorative only. */
export function LockIcon({ open = false }: { open?: boolean }) {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
      <rect x="2.5" y="7" width="11" height="8" rx="1.5" fill="currentColor" />
      <path
        d={open ? 'M5 7V4.5a3 3 0 0 1 5.8-1' : 'M5 7V4.5a3 3 0 0 1 6 0V7'}
        fill="none"
        stroke="currentColor"
        strokeWidth="1.6"
      />
    </svg>
  );
}

export function ModeBadge({ mode, long = false }: { mode: MeetingMode; long?: boolean }) {
  const t = MODE_TEXT[mode];
  return (
    <span className={`mode-badge mode-${mode}`} data-mode={mode}>
      <LockIcon open={mode !== 'e2ee'} /> {t.label}
      {long && <span className="mode-detail">{t.detail}</span>}
    </span>
  );
}

/** A read-only link with a copy button. */
export function CopyField({ label, value, hint }: { label: string; value: string; hint?: string }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard refused (permissions): select the text so the user can copy it.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <div className="copy-row">
        <input
          id={id}
          readOnly
          value={value}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
          <span className="visually-hidden"> {label.toLowerCase()}</span>
        </button>
      </div>
      <span className="visually-hidden" role="status">
        {copied ? `${label} copied` : ''}
      </span>
    </div>
  );
}

/** A ref that moves focus to its element once, when it mounts (for headings of new views). */
export function useFocusOnMount<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

/**
 * A link to a page of this app: a plain left click navigates without reloading; modified clicks
 * (new tab, new window) work as for any link. `returnTo`: where the sign-in or sign-up page goes
 * when done (kept in sessionStorage, so a host link's fragment is never put in a URL the
 * server sees).
 */
export function AppLink({
  to,
  returnTo,
  onClick,
  ...rest
}: { to: string; returnTo?: string | (() => string) } & Omit<
  AnchorHTMLAttributes<HTMLAnchorElement>,
  'href'
>) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (returnTo !== undefined) setReturnTo(typeof returnTo === 'function' ? returnTo() : returnTo);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** The 6-digit second-factor field shown when the server answers `step_up_required`. */
export function TotpField({
  value,
  onChange,
  reason = 'This request looks unusual for your account (for example a new device or network), so Conclave asks for your second factor.',
}: {
  value: string;
  onChange: (code: string) => void;
  reason?: string;
}) {
  const id = useId();
  return (
    <div className="field step-up">
      <label htmlFor={id}>Code from your authenticator app</label>
      <p className="hint" id={`${id}-d`}>
        {reason} Enter the 6-digit code your authenticator app shows for Conclave.
      </p>
      <CodeInput id={id} value={value} onChange={onChange} autoFocus describedBy={`${id}-d`} />
    </div>
  );
}

/** A 6-digit one-time code input (TOTP or SMS): digits only, offered by the OS keyboard as a code. */
export function CodeInput({
  id,
  value,
  onChange,
  autoFocus,
  describedBy,
  disabled,
}: {
  id: string;
  value: string;
  onChange: (code: string) => void;
  autoFocus?: boolean;
  describedBy?: string;
  disabled?: boolean;
}) {
  return (
    <input
      id={id}
      value={value}
      inputMode="numeric"
      autoComplete="one-time-code"
      maxLength={6}
      required
      autoFocus={autoFocus}
      aria-describedby={describedBy}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value.replace(/\D/g, ''))}
    />
  );
}

/** "in 4:05" / "in 42 s" for a number of seconds. */
export function formatSeconds(s: number): string {
  const total = Math.max(0, Math.ceil(s));
  if (total <= 60) return `${total} s`;
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')} min`;
}

/** The current time, re-read every `ms` while mounted (for countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
