import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { MeetingSession } from '../meeting/session.js';
import type { SessionSnapshot } from '../meeting/snapshot.js';

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function ChatPanel({ session, snapshot }: { session: MeetingSession; snapshot: SessionSnapshot }) {
  const ids = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const logRef = useRef<HTMLOListElement>(null);
  const e2ee = snapshot.meeting.mode === 'e2ee';
  const canSend = snapshot.state === 'joined' && (!e2ee || snapshot.e2ee.active);

  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [snapshot.chat.length]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    try {
      await session.sendChat(t);
      setText('');
      setError(undefined);
    } catch {
      setError(
        'The message was not sent. Wait until the meeting is connected and encrypted, then try again.',
      );
    }
  };

  return (
    <div className="panel-body chat">
      <p className="hint">
        {e2ee
          ? 'Messages are end-to-end encrypted: only the people in the meeting can read them.'
          : 'Messages pass through the server, which can read them.'}
      </p>
      <ol className="chat-log" ref={logRef} role="log" aria-live="polite" aria-label="Messages" tabIndex={0}>
        {snapshot.chat.length === 0 && <li className="hint">No messages yet.</li>}
        {snapshot.chat.map((m) => (
          <li key={m.id} className={`chat-msg chat-${m.authorKind}`}>
            <span className="chat-author">{m.author}</span>{' '}
            <span className="chat-time">{time.format(m.sentAt)}</span>
            <p className="chat-text">{m.text}</p>
          </li>
        ))}
      </ol>
      <form onSubmit={(e) => void send(e)} className="chat-form">
        <label htmlFor={`${ids}-msg`} className="visually-hidden">
          Message
        </label>
        <input
          id={`${ids}-msg`}
          value={text}
          maxLength={4000}
          placeholder={canSend ? 'Write a message' : 'Waiting for the meeting keys…'}
          autoComplete="off"
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={!canSend || text.trim() === ''}>
          Send
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
