import nodeDataChannel, { type PeerConnection } from 'node-datachannel';
import { setLocalDescriptionChecked } from '@conclave/rtc';
import type { MediaKind } from '../ipc.js';
import { EgressTrack, type EgressEvents } from './egress-track.js';

/** Where the connection binds and what it advertises. */
export interface NativeIceConfig {
  /** Bind to this address (one socket); undefined binds every interface. */
  bindAddress: string | undefined;
  portRange: [number, number];
  /**
   * The address to advertise. When the sockets bind every interface (a 1:1 NAT: the announced
   * address is not ours), host candidates are rewritten to it; otherwise only candidates with it
   * are kept.
   */
  advertised: string;
}

const SENDER_REPORT_MS = 1000;
/** libdatachannel gathers host candidates in a few ms; past this something is wrong. */
const GATHER_TIMEOUT_MS = 10_000;
const CANDIDATE = /^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host.*)$/i;

/**
 * The SDP lines of our offer with only usable candidates: those with the advertised address, or
 * (bound to every interface) the first host candidate rewritten to it.
 */
function advertiseCandidates(sdp: string, ice: NativeIceConfig): string {
  let rewritten = false;
  return sdp
    .split('\r\n')
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const m = CANDIDATE.exec(line);
      if (!m) return false;
      if (m[2] === ice.advertised) return true;
      return ice.bindAddress === undefined && !rewritten;
    })
    .map((line) => {
      if (ice.bindAddress !== undefined || !line.startsWith('a=candidate:')) return line;
      const m = CANDIDATE.exec(line);
      if (!m || m[2] === ice.advertised) return line;
      rewritten = true;
      return `${m[1]}${ice.advertised}${m[3]}`;
    })
    .join('\r\n');
}

/**
 * A participant's subscribe connection on node-datachannel (libdatachannel: ICE, DTLS, SRTP and
 * UDP in C++). We always offer; every m-line is a sendonly `EgressTrack` with our SSRC. Removed
 * streams leave their m-lines silent (still sendonly) for reuse, as browsers never drop an m-line.
 */
export class NativeSubscribeConnection {
  private readonly pc: PeerConnection;
  private readonly tracks: EgressTrack[] = [];
  private readonly active = new Map<EgressTrack, boolean>();
  private readonly gathered: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** No answer applied yet: offers go out without our candidates (see `createOffer`). */
  private first = true;
  /** Our candidates, held back from the first offer until its answer is applied. */
  private held: string[] = [];
  state = 'new';

  constructor(
    name: string,
    private readonly ice: NativeIceConfig,
    private readonly events: EgressEvents & { stateChange(state: string): void },
  ) {
    this.pc = new nodeDataChannel.PeerConnection(name, {
      iceServers: [],
      ...(ice.bindAddress === undefined ? {} : { bindAddress: ice.bindAddress }),
      portRangeBegin: ice.portRange[0],
      portRangeEnd: ice.portRange[1],
      disableAutoNegotiation: true,
      enableIceTcp: false,
    });
    this.gathered = new Promise((resolve) => {
      this.pc.onGatheringStateChange((s) => {
        if (s === 'complete') resolve();
      });
    });
    this.pc.onStateChange((s) => {
      this.state = s;
      if (!this.closed) this.events.stateChange(s);
    });
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const t of this.tracks) if (this.active.get(t)) t.sendSenderReport(now);
    }, SENDER_REPORT_MS);
    this.timer.unref();
  }

  /** How many m-lines the connection has (free ones included: an m-line is never removed). */
  get mLines(): number {
    return this.tracks.length;
  }

  /** A new sendonly m-line (in the next offer). */
  addTrack(kind: MediaKind): EgressTrack {
    const track = new EgressTrack(String(this.tracks.length), kind, this.events);
    this.tracks.push(track);
    this.active.set(track, true);
    track.attach(this.pc.addTrack(track.description()));
    return track;
  }

  /**
   * Marks an m-line in use (a stream is on it) or free (kept for the next stream of its kind).
   * The SDP does not change: a free m-line stays sendonly with its SSRC and simply carries
   * nothing (the participant learns from the offer's StreamInfo list that no stream is on it).
   * node-datachannel can change a track's direction only by adding a new description under the
   * mid, which makes a new JavaScript wrapper each time, and a collected wrapper closes the
   * shared native track: toggling would have meant keeping a wrapper per toggle for the whole
   * connection (a leak driven by other participants' churn). Chromium also recreates its receive
   * stream without the receiver's E2EE transform when an SSRC leaves the SDP and comes back.
   */
  setActive(track: EgressTrack, active: boolean): void {
    this.active.set(track, active);
  }

  /**
   * Our next offer, with its candidates (the first one waits for gathering). libdatachannel
   * makes the description synchronously inside `setLocalDescription` and only reports it later
   * through a callback queued on its thread pool, so we read it back at once rather than wait
   * for that callback (under load it came after our timeout). An offer still outstanding (no
   * answer, no rollback) would make libdatachannel ignore the call: it is withdrawn first.
   */
  async createOffer(): Promise<string> {
    if (this.closed) throw new Error('subscribe connection closed');
    if (this.pc.signalingState() !== 'stable') this.rollback();
    setLocalDescriptionChecked(this.pc, 'offer');
    if (this.pc.signalingState() !== 'have-local-offer')
      throw new Error(
        `subscribe: libdatachannel made no offer (signaling state ${this.pc.signalingState()})`,
      );
    if (this.pc.gatheringState() !== 'complete') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`subscribe: ICE gathering not complete after ${GATHER_TIMEOUT_MS} ms`)),
          GATHER_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([this.gathered, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.closed) throw new Error('subscribe connection closed');
    const local = this.pc.localDescription()?.sdp;
    if (!local) throw new Error('subscribe: no local description');
    const sdp = advertiseCandidates(local, this.ice);
    if (!this.first) return sdp;
    // libdatachannel hands an answer to its ICE agent before it stores the description that
    // holds the peer's DTLS fingerprint. A peer that knows our candidates sends checks before
    // its answer reaches us; the agent then connects inside setRemoteDescription, DTLS starts
    // on another thread, finds no fingerprint yet and fails the handshake ("certificate verify
    // failed", then "Got a remote candidate without ICE transport"; seen for 2-4 of 50 load
    // bots). So the first offer carries no candidates: the peer cannot check before we have
    // its answer, and `applyAnswer` returns them to be trickled (hub `ice` message).
    const lines = sdp.split('\r\n');
    this.held = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
    return lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n');
  }

  /** The candidates the first offer held back (`a=candidate:` values), until its answer is applied. */
  get heldCandidates(): readonly string[] {
    return [...this.held];
  }

  /**
   * Applies the participant's answer. After the first one: our candidates held back from the
   * offer, with the mid of its first m-line (the bundle carries them), to send to the participant.
   */
  applyAnswer(sdp: string): { candidate: string; mid: string }[] {
    this.pc.setRemoteDescription(sdp, 'answer');
    if (!this.first) return [];
    this.first = false;
    const mid = /^a=mid:(\S+)/m.exec(this.pc.localDescription()?.sdp ?? '')?.[1] ?? '0';
    const held = this.held;
    this.held = [];
    return held.map((candidate) => ({ candidate, mid }));
  }

  /** Withdraws an offer the participant could not answer (a fresh one follows). */
  rollback(): void {
    try {
      this.pc.setLocalDescription('rollback');
    } catch {
      /* nothing to roll back */
    }
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.pc.addRemoteCandidate(candidate, mid);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.pc.close();
  }
}
