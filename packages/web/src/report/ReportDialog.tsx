import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  buildReport,
  type ReportableMeeting,
  type ReportablePerson,
  type ReportChoice,
} from '@conclave/client';
import {
  MAX_CLIP_MS,
  MAX_REPORT_TEXT,
  REPORT_AFTER_MEETING_DAYS,
  reportReasonSchema,
  type ReportReason,
  type SubmitReportRequest,
  type SubmitReportResponse,
} from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountName, useAccount } from '../account/store.js';
import { ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { REASON_TEXT, VERDICT_TEXT } from './reasons.js';
import { captureTrack, type Screenshot } from './screenshot.js';
import './report.css';

/** What only a live meeting can add to a report: a clip, a screenshot, and the host's removal. */
export interface LiveReporting {
  /** The reported person's media clip (E2EE meetings that attest); undefined when nothing is buffered. */
  clip(leafIndex: number, seconds: number): Promise<ReportChoice['clip']>;
  /** Their camera's decrypted track as this page shows it, when it is arriving. */
  videoTrack: MediaStreamTrack | undefined;
  /** Hosts and co-hosts: removes them from the meeting (after the report went out). */
  remove?: () => void;
}

const CLIP_DEFAULT_S = 10;
const CLIP_MIN_S = 5;
const CLIP_MAX_S = MAX_CLIP_MS / 1000;

type Submitted = SubmitReportResponse['report'];

/** The messages of `snap` whose sender is `p` (by their signing key in E2EE meetings, by participant id otherwise). */
function messagesFrom(snap: ReportableMeeting, p: ReportablePerson) {
  return snap.chat.filter((c) =>
    snap.mode === 'e2ee'
      ? c.senderKey !== undefined && c.senderKey === p.signatureKey
      : c.from !== undefined && c.from === p.participantId,
  );
}

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * Report a User: the reason, a free text, and evidence the reporter ticks one by one (none is
 * attached by default). Before anything is sent the dialog lists exactly what would leave the
 * encryption and who reads it. `live` is undefined after the meeting (end screen): then no
 * clip or screenshot can be added, and the dialog says why.
 */
export function ReportDialog({
  snapshot,
  person,
  live,
  onClose,
}: {
  snapshot: ReportableMeeting;
  person: ReportablePerson;
  live: LiveReporting | undefined;
  onClose: () => void;
}) {
  const ids = useId();
  const ref = useRef<HTMLDialogElement>(null);
  const account = useAccount();
  const [reason, setReason] = useState<ReportReason | undefined>();
  const [text, setText] = useState('');
  const [chatIds, setChatIds] = useState<string[]>([]);
  const [withClip, setWithClip] = useState(false);
  const [clipSeconds, setClipSeconds] = useState(CLIP_DEFAULT_S);
  const [withShot, setWithShot] = useState(false);
  const [shot, setShot] = useState<Screenshot | undefined>();
  const [shotError, setShotError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<HumanError | undefined>();
  const [reasonMissing, setReasonMissing] = useState(false);
  const [done, setDone] = useState<{ report: Submitted; removed: boolean } | undefined>();

  // Modal from the start (focus inside, Escape closes). No close() on unmount: the element leaves
  // the page with it, and a close event then would call onClose during React's own cleanup.
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const e2ee = snapshot.mode === 'e2ee';
  const name = person.displayName;
  const messages = messagesFrom(snapshot, person);
  const chosen = messages.filter((m) => chatIds.includes(m.id));
  const clipPossible = live !== undefined && e2ee && snapshot.attestation && person.leafIndex !== undefined;
  const clipOn = clipPossible && withClip;
  /** The screenshot is being taken: sending waits for it. */
  const shooting = withShot && !shot;
  const host = window.location.host;
  const asWho =
    account.status === 'signed_in'
      ? `your account (${accountName(account.me)})`
      : 'a guest: the moderators see no account, and the server counts guest reports per network';

  const toggleMessage = (id: string, on: boolean) =>
    setChatIds((cur) => (on ? [...cur, id] : cur.filter((x) => x !== id)));

  /** Ticked: the screenshot is taken now and shown; unticked (or failed): none is attached. */
  const toggleScreenshot = async (on: boolean) => {
    setWithShot(on);
    setShot(undefined);
    setShotError(undefined);
    if (!on) return;
    const track = live?.videoTrack;
    try {
      if (!track) throw new Error(`no video from ${name} is arriving right now`);
      setShot(await captureTrack(track));
    } catch (e) {
      setWithShot(false);
      setShotError(`No screenshot: ${(e as Error).message}.`);
    }
  };

  const send = async (andRemove: boolean) => {
    if (!reason) {
      setReasonMissing(true);
      document.getElementById(`${ids}-reason-0`)?.focus();
      return;
    }
    setError(undefined);
    try {
      let clip: ReportChoice['clip'];
      if (clipOn && live && person.leafIndex !== undefined) {
        setBusy('Preparing the clip…');
        clip = await live.clip(person.leafIndex, clipSeconds);
        if (!clip) {
          setError({
            code: 'clip_unavailable',
            title: `No clip could be made: nothing of ${name}’s media arrived in the last ${clipSeconds} seconds.`,
            next: 'Untick the clip to send the report without it, or try again while their camera or microphone is on.',
          });
          return;
        }
      }
      let request: SubmitReportRequest;
      try {
        request = buildReport(snapshot, {
          reported: person,
          reason,
          text,
          chatIds,
          clip,
          screenshots: shot ? [{ mime: shot.mime, data: shot.data, capturedAt: shot.capturedAt }] : [],
        });
      } catch (e) {
        setError({
          code: 'report_not_built',
          title: `This report cannot be sent as it is: ${(e as Error).message}.`,
          next: 'Change what is ticked, then send it again.',
        });
        return;
      }
      setBusy('Sending the report…');
      const report: Submitted = await accountApi.submitReport(request);
      let removed = false;
      if (andRemove && live?.remove) {
        live.remove();
        removed = true;
      }
      setDone({ report, removed });
    } catch (e) {
      setError(humanError(e));
    } finally {
      setBusy(undefined);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void send(false);
  };

  return (
    <dialog
      ref={ref}
      className="report-dialog"
      aria-labelledby={`${ids}-h`}
      onClose={onClose}
      data-testid="report-dialog"
    >
      <h2 id={`${ids}-h`}>Report {name}</h2>
      {done ? (
        <Done report={done.report} removed={done.removed} name={name} onClose={() => ref.current?.close()} />
      ) : (
        <form onSubmit={submit} noValidate>
          <fieldset className="field" aria-describedby={reasonMissing ? `${ids}-reason-err` : undefined}>
            <legend>Why are you reporting {name}?</legend>
            {reportReasonSchema.options.map((r, i) => (
              <div className="radio" key={r}>
                <input
                  type="radio"
                  id={`${ids}-reason-${i}`}
                  name={`${ids}-reason`}
                  value={r}
                  checked={reason === r}
                  onChange={() => {
                    setReason(r);
                    setReasonMissing(false);
                  }}
                />
                <label htmlFor={`${ids}-reason-${i}`}>{REASON_TEXT[r]}</label>
              </div>
            ))}
            {reasonMissing && (
              <p className="field-error" id={`${ids}-reason-err`} role="alert">
                Choose a reason.
              </p>
            )}
          </fieldset>
          <div className="field">
            <label htmlFor={`${ids}-text`}>What happened (optional)</label>
            <textarea
              id={`${ids}-text`}
              value={text}
              maxLength={MAX_REPORT_TEXT}
              rows={3}
              onChange={(e) => setText(e.target.value)}
            />
          </div>

          <fieldset className="field report-evidence">
            <legend>Evidence to attach</legend>
            <p className="hint">Nothing is attached unless you tick it.</p>
            {messages.length === 0 ? (
              <p className="hint">
                {e2ee
                  ? `This device kept no chat message from ${name}.`
                  : `This device kept no chat message from ${name} that the server sealed.`}
              </p>
            ) : (
              <ul className="report-messages" aria-label={`Chat messages from ${name}`}>
                {messages.slice(-50).map((m) => (
                  <li key={m.id} className="checkbox">
                    <input
                      type="checkbox"
                      id={`${ids}-m-${m.id}`}
                      checked={chatIds.includes(m.id)}
                      disabled={!m.evidence}
                      onChange={(e) => toggleMessage(m.id, e.target.checked)}
                    />
                    <label htmlFor={`${ids}-m-${m.id}`}>
                      <span className="chat-time">{time.format(m.sentAt)}</span> {m.text}
                      {!m.evidence && (
                        <span className="hint"> (cannot be attached: no evidence was kept)</span>
                      )}
                    </label>
                  </li>
                ))}
              </ul>
            )}

            {clipPossible ? (
              <div className="report-clip">
                <div className="checkbox">
                  <input
                    type="checkbox"
                    id={`${ids}-clip`}
                    checked={withClip}
                    onChange={(e) => setWithClip(e.target.checked)}
                  />
                  <label htmlFor={`${ids}-clip`}>
                    Attach the last {clipSeconds} seconds of {name}’s media
                  </label>
                </div>
                <div className="field report-seconds">
                  <label htmlFor={`${ids}-secs`}>
                    Seconds of media ({CLIP_MIN_S}–{CLIP_MAX_S})
                  </label>
                  <input
                    id={`${ids}-secs`}
                    type="number"
                    min={CLIP_MIN_S}
                    max={CLIP_MAX_S}
                    value={clipSeconds}
                    onChange={(e) =>
                      setClipSeconds(
                        Math.min(CLIP_MAX_S, Math.max(CLIP_MIN_S, Math.round(Number(e.target.value) || 0))),
                      )
                    }
                  />
                </div>
              </div>
            ) : (
              <p className="hint" data-testid="no-clip">
                {noClipReason(snapshot, person, live !== undefined)}
              </p>
            )}

            {live && (
              <div className="report-shot">
                <div className="checkbox">
                  <input
                    type="checkbox"
                    id={`${ids}-shot`}
                    checked={withShot}
                    onChange={(e) => void toggleScreenshot(e.target.checked)}
                  />
                  <label htmlFor={`${ids}-shot`}>
                    Attach a screenshot of {name}’s video (cannot be verified: it is marked “unverified”)
                  </label>
                </div>
                {shotError && <p className="field-error">{shotError}</p>}
                {withShot && !shot && <p className="hint">Taking the screenshot…</p>}
                {shot && (
                  <img
                    className="report-shot-preview"
                    src={`data:${shot.mime};base64,${shot.data}`}
                    alt={`The screenshot of ${name}’s video that will be attached`}
                    width={Math.min(shot.width, 320)}
                  />
                )}
              </div>
            )}
          </fieldset>

          <section
            className="report-disclosure"
            aria-labelledby={`${ids}-what`}
            data-testid="report-disclosure"
          >
            <h3 id={`${ids}-what`}>{e2ee ? 'What leaves the end-to-end encryption' : 'What you send'}</h3>
            <ul>
              <li>
                The reason{text.trim() ? ', your text' : ''} and this meeting’s id, sent as {asWho}.
              </li>
              {chosen.length > 0 &&
                (e2ee ? (
                  <li>
                    {chosen.length === 1 ? 'The chat message' : `The ${chosen.length} chat messages`} you
                    ticked, exactly as {name}’s device signed {chosen.length === 1 ? 'it' : 'them'}, with the
                    list of the encryption group’s members when {chosen.length === 1 ? 'it was' : 'they were'}{' '}
                    sent: the names, account ids and public keys of everyone in the meeting then (that list is
                    what lets a moderator check the signature).
                  </li>
                ) : (
                  <li>
                    {chosen.length === 1 ? 'The chat message' : `The ${chosen.length} chat messages`} you
                    ticked, with the seal this server put on {chosen.length === 1 ? 'it' : 'them'} when
                    relaying (this meeting is not end-to-end encrypted: the server could read its chat
                    already).
                  </li>
                ))}
              {clipOn && (
                <li>
                  The last {clipSeconds} seconds of {name}’s camera and microphone as this device received
                  them (still encrypted), the keys that decrypt that clip and nothing else of the meeting, and
                  {` ${name}`}’s signed statements of which frames they sent: the moderators can watch and
                  listen to it.
                </li>
              )}
              {shot && <li>The screenshot shown above.</li>}
              {chosen.length === 0 && !clipOn && !shot && (
                <li>No evidence: nothing of the meeting itself.</li>
              )}
            </ul>
            <p>
              <strong>Who sees it:</strong> the moderators of this server ({host}). The server checks the
              evidence when it arrives and stores it encrypted to the moderators’ key. {name} is not told who
              reported them; nobody else in the meeting sees the report.
            </p>
          </section>

          {error && (
            <ErrorBox error={error}>
              {live?.remove && (
                <button type="button" className="danger" onClick={() => live.remove?.()}>
                  Remove {name} without reporting
                </button>
              )}
            </ErrorBox>
          )}
          {busy && (
            <p role="status" aria-busy="true">
              {busy}
            </p>
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={busy !== undefined || shooting}>
              Send report
            </button>
            {live?.remove && (
              <button
                type="button"
                className="danger"
                disabled={busy !== undefined || shooting}
                onClick={() => void send(true)}
              >
                Report and remove
              </button>
            )}
            <button type="button" onClick={() => ref.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

/** Why the dialog offers no clip. */
function noClipReason(snap: ReportableMeeting, p: ReportablePerson, live: boolean): string {
  if (snap.mode !== 'e2ee')
    return 'Media of a standard meeting cannot be attached as verifiable evidence; a screenshot can.';
  if (!snap.attestation)
    return 'No media clip: the host turned off media attestation for this meeting, so a clip could not be verified.';
  if (!live)
    return `No media clip: clips exist only during the meeting (this device keeps no media). Chat messages can be reported for ${REPORT_AFTER_MEETING_DAYS} days.`;
  if (p.leafIndex === undefined) return `No media clip: ${p.displayName} is not in the encryption group.`;
  return 'No media clip.';
}

function Done({
  report,
  removed,
  name,
  onClose,
}: {
  report: Submitted;
  removed: boolean;
  name: string;
  onClose: () => void;
}) {
  const v = report.verification;
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => closeRef.current?.focus(), []);
  return (
    <div role="status" className="report-done" data-testid="report-sent" data-report-id={report.id}>
      <p className="status-ok">
        Report sent{removed ? ` and ${name} removed from the meeting` : ''}. The moderators of this server
        will look at it; your account page shows the outcome when they decide.
      </p>
      {(v.chat.length > 0 || v.clip || v.screenshots > 0) && (
        <>
          <p>What the server found when it checked the evidence:</p>
          <ul className="report-verdicts">
            {v.chat.map((c, i) => (
              <li key={i} data-verdict={c.verdict}>
                Chat message {i + 1}: {VERDICT_TEXT[c.verdict]}
                {c.verdict === 'does_not_verify' && <span className="hint"> ({c.detail})</span>}
              </li>
            ))}
            {v.clip && (
              <li data-verdict={v.clip.verdict}>
                Clip: {VERDICT_TEXT[v.clip.verdict]} ({v.clip.verifiedFrames} of {v.clip.frames} frames)
                {v.clip.verdict === 'does_not_verify' && <span className="hint"> — {v.clip.detail}</span>}
              </li>
            )}
            {v.screenshots > 0 && (
              <li data-verdict="unverified">
                {v.screenshots === 1 ? 'Screenshot' : `${v.screenshots} screenshots`}:{' '}
                {VERDICT_TEXT.unverified}
              </li>
            )}
          </ul>
        </>
      )}
      {!report.evidenceKept && (
        <p className="notice-warn">
          This server has no moderators’ key set up, so it kept only these results, not the evidence itself.
        </p>
      )}
      <div className="actions">
        <button type="button" ref={closeRef} onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
