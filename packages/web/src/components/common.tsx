import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';
import type { MeetingMode } from '@conclave/protocol';
import type { HumanError } from '../errors.js';

/** An error the user can act on: what happened, then what to do. Announced at once. */
export function ErrorBox({ error, children }: { error: HumanError; children?: ReactNode }) {
  return (
    <div className="error-box" role="alert" data-code={error.code}>
      <p className="error-title">{error.title}</p>
      <p>{error.next}</p>
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
