import { useEffect, useId, useRef, useState } from 'react';
import { fromBase64, moderationKeyId } from '@conclave/crypto';
import type { AdminReportResponse, EvidenceVerdict } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { ErrorBox } from '../components/common.js';
import { VERDICT_TEXT } from '../report/reasons.js';
import { canPlayClips, playClip, type PlaybackProgress } from './clip-player.js';
import { forgetModerationKey, loadModerationKey, useModerationKey } from './moderation-key.js';
import { openReportEvidence, type ClipCheck, type OpenedEvidence } from './verify-evidence.js';

type Report = AdminReportResponse['report'];

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function verdictClass(v: EvidenceVerdict): string {
  if (v === 'does_not_verify') return 'verdict verdict-bad';
  if (v === 'unverified') return 'verdict verdict-neutral';
  return 'verdict verdict-ok';
}

export function VerdictBadge({ verdict }: { verdict: EvidenceVerdict }) {
  return (
    <span className={verdictClass(verdict)} data-verdict={verdict}>
      {VERDICT_TEXT[verdict]}
    </span>
  );
}

/** The directory's key (base64) of a (user, device), or undefined when it lists none. */
async function directoryKey(userId: string, deviceId: string): Promise<string | undefined> {
  return (await accountApi.lookupDevice(userId, deviceId))?.publicKey;
}

/**
 * The sealed evidence: load the moderators' key file (kept in this tab's memory only), open the
 * evidence, and show what this browser found when it checked it again.
 */
export function EvidencePanel({
  report,
  serverKey,
}: {
  report: Report;
  serverKey: string | null | undefined;
}) {
  const ids = useId();
  const key = useModerationKey();
  const [keyError, setKeyError] = useState<string | undefined>();
  const [opening, setOpening] = useState(false);
  const [opened, setOpened] = useState<OpenedEvidence | undefined>();
  const [openError, setOpenError] = useState<string | undefined>();
  const serverKeyId = serverKey ? moderationKeyId(fromBase64(serverKey)) : undefined;

  // Another report, or the key forgotten: nothing opened stays on screen.
  useEffect(() => {
    setOpened(undefined);
    setOpenError(undefined);
  }, [report.id, key]);

  const pick = async (file: File | undefined) => {
    setKeyError(undefined);
    if (!file) return;
    try {
      await loadModerationKey(file);
    } catch (e) {
      setKeyError(`That file is not a moderators’ key file: ${(e as Error).message}.`);
    }
  };

  const open = async () => {
    if (!key) return;
    setOpening(true);
    setOpenError(undefined);
    try {
      setOpened(await openReportEvidence(report, key, directoryKey));
    } catch (e) {
      setOpenError((e as Error).message);
    } finally {
      setOpening(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${ids}-h`} data-testid="evidence">
      <h2 id={`${ids}-h`}>Evidence</h2>
      {!report.sealedEvidence ? (
        <p>
          {report.evidenceExpiresAt
            ? 'The evidence was deleted at the end of its retention period; the checks above remain.'
            : 'The server kept no evidence for this report (it had no moderators’ key when the report arrived); the checks above remain.'}
        </p>
      ) : (
        <>
          <p className="hint">
            The evidence is sealed to the moderators’ key: the server cannot read it. Load the key file that{' '}
            <code>conclave admin moderation-key create</code> wrote. This page keeps it in this tab’s memory
            only and forgets it when the tab closes or reloads.
            {report.evidenceExpiresAt &&
              ` The server deletes this evidence on ${when.format(new Date(report.evidenceExpiresAt))}.`}
          </p>
          {key ? (
            <p data-testid="key-loaded">
              Key <code>{key.keyId}</code> loaded (made {when.format(new Date(key.createdAt))}).{' '}
              {serverKeyId && serverKeyId !== key.keyId && (
                <strong>
                  This is not the server’s current key ({serverKeyId}): it opens only evidence sealed to it.
                </strong>
              )}
              <button type="button" onClick={forgetModerationKey}>
                Forget the key
              </button>
            </p>
          ) : (
            <div className="field">
              <label htmlFor={`${ids}-key`}>Moderators’ key file</label>
              <input
                id={`${ids}-key`}
                type="file"
                accept=".json,.key,application/json,text/plain"
                onChange={(e) => void pick(e.target.files?.[0])}
              />
              {serverKeyId && (
                <p className="hint">
                  This server seals new evidence to key <code>{serverKeyId}</code>.
                </p>
              )}
              {keyError && (
                <p className="field-error" role="alert">
                  {keyError}
                </p>
              )}
            </div>
          )}
          {!opened && (
            <button type="button" className="primary" disabled={!key || opening} onClick={() => void open()}>
              {opening ? 'Opening and checking…' : 'Open evidence'}
            </button>
          )}
          {openError && (
            <ErrorBox
              error={{
                code: 'evidence_not_opened',
                title: `The evidence could not be opened: ${openError}.`,
                next: 'Load the key file this report was sealed to.',
              }}
            />
          )}
          {opened && <Opened evidence={opened} />}
        </>
      )}
    </section>
  );
}

function Opened({ evidence }: { evidence: OpenedEvidence }) {
  const nothing = evidence.chat.length === 0 && !evidence.clip && evidence.screenshots.length === 0;
  return (
    <div data-testid="opened-evidence">
      <p className="hint">Checked again in this browser, with the same checks the server made on arrival.</p>
      {nothing && <p>The reporter attached no evidence.</p>}
      {evidence.chat.length > 0 && (
        <>
          <h3>Chat messages ({evidence.chat.length})</h3>
          <ol className="evidence-chat" aria-label="Chat messages in the evidence">
            {evidence.chat.map((c, i) => (
              <li key={i} data-testid="evidence-message" data-verdict={c.verdict}>
                <VerdictBadge verdict={c.verdict} /> {c.senderName && <strong>{c.senderName}</strong>}{' '}
                {c.sentAt !== undefined && (
                  <span className="chat-time">{when.format(new Date(c.sentAt))}</span>
                )}
                {c.text !== undefined && <p className="chat-text">{c.text}</p>}
                <p className="hint">
                  {c.detail}
                  {c.checkedBy === 'server' && ' (This page cannot check it; the server did.)'}
                </p>
              </li>
            ))}
          </ol>
        </>
      )}
      {evidence.clip && <ClipView clip={evidence.clip} />}
      {evidence.screenshots.length > 0 && (
        <>
          <h3>Screenshots ({evidence.screenshots.length})</h3>
          {evidence.screenshots.map((s, i) => (
            <figure key={i} data-testid="evidence-screenshot" data-verdict="unverified">
              <img
                className="evidence-shot"
                src={`data:${s.mime};base64,${s.data}`}
                alt={`Screenshot ${i + 1} the reporter attached`}
              />
              <figcaption>
                <VerdictBadge verdict="unverified" /> Taken {when.format(new Date(s.capturedAt))} by the
                reporter’s browser: nothing shows that it is what the meeting showed.
              </figcaption>
            </figure>
          ))}
        </>
      )}
    </div>
  );
}

function ClipView({ clip }: { clip: ClipCheck }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const abort = useRef<AbortController | undefined>(undefined);
  const [progress, setProgress] = useState<PlaybackProgress | undefined>();
  const video = clip.decrypted.filter((f) => f.codec === 'vp8').length;
  const audio = clip.decrypted.length - video;
  useEffect(() => () => abort.current?.abort(), []);

  const play = async () => {
    const c = canvas.current;
    if (!c) return;
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    try {
      await playClip(clip.decrypted, c, setProgress, controller.signal);
    } catch (e) {
      setProgress({ shown: 0, total: video, audio: 0, done: true, error: (e as Error).message });
    }
  };

  const playing = progress !== undefined && !progress.done;
  return (
    <div data-testid="evidence-clip" data-verdict={clip.verdict}>
      <h3>Media clip</h3>
      <p>
        <VerdictBadge verdict={clip.verdict} /> {clip.senderName && <strong>{clip.senderName}</strong>}{' '}
        <span data-testid="clip-frames">
          {clip.verifiedFrames} of {clip.frames} frames verified
        </span>
        , {(clip.durationMs / 1000).toFixed(1)} s ({video} video and {audio} audio frames decrypted).
      </p>
      <p className="hint">{clip.detail}</p>
      {clip.verdict !== 'verified' && clip.decrypted.length > 0 && (
        <p className="notice-warn">
          This clip does not verify: what plays below may not be what the sender sent.
        </p>
      )}
      {canPlayClips() ? (
        <>
          <canvas
            ref={canvas}
            className="clip-canvas"
            width={640}
            height={360}
            aria-label="The clip’s video"
          />
          <div className="actions">
            <button type="button" onClick={() => void play()} disabled={playing || video === 0}>
              {progress?.done ? 'Play again' : 'Play the clip'}
            </button>
            {playing && (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
          </div>
          {progress && (
            <p
              role="status"
              data-testid="clip-playback"
              data-shown={progress.shown}
              data-done={progress.done ? 'true' : 'false'}
            >
              {progress.shown} of {progress.total} video frames shown
              {progress.audio > 0 ? `, ${progress.audio} audio frames played` : ''}
              {progress.done ? '.' : '…'}
              {progress.error && ` ${progress.error}.`}
            </p>
          )}
        </>
      ) : (
        <p>This browser has no WebCodecs, so it cannot play the clip; the checks above still hold.</p>
      )}
    </div>
  );
}
