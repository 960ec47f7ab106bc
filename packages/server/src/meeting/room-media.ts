import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessageOf,
  type MediaResetReason,
  type MediaView,
  type StreamInfo,
} from '@conclave/protocol';
import type { LogSink } from '../logger.js';
import type { MediaRouter } from './deps.js';
import type { Member } from './room-member.js';

/** `media_view` messages a participant may send per second (bursts of as many). */
export const MEDIA_VIEWS_PER_SECOND = 10;
/**
 * Media sessions made anew for one member after failed connections, at most this many within
 * MEDIA_RESET_WINDOW_MS: past that its connections keep failing for a reason a new session does
 * not cure (or a modified client closes them on purpose), and it is told so instead.
 */
export const MEDIA_RESETS_PER_WINDOW = 3;
const MEDIA_RESET_WINDOW_MS = 60_000;

type ViewFields = Pick<MediaView, 'lastN' | 'pinned' | 'tiles' | 'defaultHeight'>;

/**
 * A room's SFU session: puts members in it (one join at a time per member), relays their
 * offers, answers and candidates, applies who may receive and who is muted, takes them out,
 * and — when the meeting's SFU worker died — joins everyone again on a live worker. The SFU
 * never sees the SFrame payload; this class never sees media at all.
 */
export class RoomMedia {
  /** Each member's latest view (applied again when its media session is made anew). */
  private readonly views = new WeakMap<Member, ViewFields>();
  /** Each member's `media_view` budget (a token bucket). */
  private readonly viewTokens = new WeakMap<Member, { tokens: number; at: number }>();
  /** When each member's media session was last made anew after a failed connection. */
  private readonly resets = new WeakMap<Member, number[]>();
  /** Numbers the media sessions of the room (`Member.mediaSession`). */
  private sessions = 0;

  constructor(
    private readonly ctx: {
      meetingId: string;
      sfu: MediaRouter | undefined;
      logger: LogSink;
      /** Whether the member may receive media now (E2EE: it is in the MLS group). */
      mayReceive: (m: Member) => boolean;
      /** The member is still this room's (it did not leave, the room is not closed). */
      current: (m: Member) => boolean;
    },
  ) {}

  /**
   * Puts the participant in the meeting's SFU session. With no free media port the
   * participant stays in the meeting (signaling, chat, MLS) and is told why it has no media;
   * its next offer tries again.
   */
  join(m: Member): Promise<boolean> {
    // Admission (control lane) and a first offer (media lane) may ask at the same time: one join.
    return m.mediaJoin ?? this.track(m, this.joinOnce(m));
  }

  /**
   * The meeting's SFU worker died (the hub hears it from the SFU): every media session of the
   * room is gone. Each participant that had one, or was getting one, joins the SFU again on a
   * live worker (receiving and mute flags applied again, so in an E2EE meeting still only MLS
   * group members receive media) and is sent `media_reset`: it opens a new transport and
   * publishes again. Signaling, the meeting and the MLS group are not touched.
   */
  lost(members: Member[]): void {
    let count = 0;
    for (const m of members) {
      if (!m.media && !m.mediaJoin) continue;
      count++;
      void this.rejoin(m, 'sfu_restarted');
    }
    this.ctx.logger.info(
      { meetingId: this.ctx.meetingId, participants: count },
      'SFU worker lost: media restarts',
    );
  }

  /**
   * A peer connection of the member with the SFU failed for good (the SFU reports it once per
   * session: ICE or DTLS gave up, or the client closed it). libdatachannel does not revive a
   * failed connection and a browser cannot move one to new DTLS keys, so the session is made
   * anew: the member leaves the SFU, joins it again and is sent `media_reset` with
   * `connection_failed` (the SDK opens new connections and publishes again). At most
   * MEDIA_RESETS_PER_WINDOW times per MEDIA_RESET_WINDOW_MS; past that the member is told with a
   * `media_error` and stays without media until it joins the meeting again.
   */
  connectionFailed(m: Member): void {
    if (!m.media && !m.mediaJoin) return;
    const now = Date.now();
    const recent = (this.resets.get(m) ?? []).filter((t) => now - t < MEDIA_RESET_WINDOW_MS);
    const log = { meetingId: this.ctx.meetingId, participantId: m.id, resets: recent.length };
    if (recent.length >= MEDIA_RESETS_PER_WINDOW) {
      this.resets.set(m, recent);
      this.ctx.logger.warn(log, 'media connection failed again: no new session');
      m.peer.send({
        v,
        type: 'error',
        code: 'media_error',
        message: `your media connections with the server failed ${recent.length + 1} times within ${MEDIA_RESET_WINDOW_MS / 1000} s; audio and video stay off until you join the meeting again`,
        ref: 'media',
      });
      return;
    }
    recent.push(now);
    this.resets.set(m, recent);
    this.ctx.logger.info(log, 'media connection failed: new media session');
    void this.rejoin(m, 'connection_failed');
  }

  /**
   * The SFU's subscribe offer, tagged with the member's current media session. None while its
   * session is being made anew: such an offer comes from the session that is going, and an
   * answer to it must never reach the new one.
   */
  subscribeOffer(m: Member, sdp: string, streams: StreamInfo[]): void {
    // (`mediaSession` opens when the SFU join starts: the new session's first offer can come
    // before that join returns.)
    if (m.mediaSession === undefined) return;
    m.peer.send({ v, type: 'media_offer', pc: 'subscribe', sdp, streams, session: m.mediaSession });
  }

  /** Opens or closes the member's receiving side (the group coordinator decides). */
  setReceiving(m: Member | undefined, allowed: boolean): void {
    if (!m?.media || !this.ctx.sfu) return;
    void this.ctx.sfu
      .call('setReceiving', { meetingId: this.ctx.meetingId, participantId: m.id, allowed })
      .catch(() => undefined);
  }

  async handle(m: Member, msg: ClientMessageOf<'media_offer' | 'media_answer' | 'ice'>): Promise<void> {
    const target = { meetingId: this.ctx.meetingId, participantId: m.id };
    switch (msg.type) {
      case 'media_offer': {
        const sfu = this.requireSfu();
        if (!(await this.join(m))) return;
        const sdp = await sfu.call('publishOffer', { ...target, sdp: msg.sdp }).catch((e: Error) => {
          throw new ProtocolError('media_error', `the SFU refused the offer: ${e.message}`);
        });
        m.peer.send({ v, type: 'media_answer', rid: msg.rid, pc: 'publish', sdp });
        return;
      }
      case 'media_answer':
        // An answer to an offer of a session made anew since (sent before the client read
        // `media_reset`) would break the new session's negotiation: dropped.
        if (msg.session !== undefined && msg.session !== m.mediaSession) return;
        if (!m.media) throw new ProtocolError('media_capacity', 'you have no media session on this server');
        await this.requireSfu()
          .call('subscribeAnswer', { ...target, sdp: msg.sdp })
          .catch((e: Error) => {
            throw new ProtocolError('media_error', `the SFU refused the answer: ${e.message}`);
          });
        return;
      case 'ice':
        if (!m.media) return; // no media session (media_capacity was sent): nothing to connect
        await this.requireSfu()
          .call('addIce', { ...target, pc: msg.pc, candidate: msg.candidate })
          .catch((e: Error) => {
            throw new ProtocolError('media_error', `bad ICE candidate: ${e.message}`);
          });
        return;
    }
  }

  /** The view of the participant's `join`: its media session starts with it (no rate limit: one per join). */
  initialView(m: Member, view: ViewFields): void {
    this.views.set(m, view);
  }

  /**
   * What the participant shows (`media_view`, validated by the protocol schema): the SFU
   * forwards it the video of its last-N speakers and pinned participants at layers that fit its
   * tiles. At most MEDIA_VIEWS_PER_SECOND per participant (`rate_limited` past that: the view is
   * dropped; the SDK coalesces to a few a second). A view sent before the participant's media
   * session exists is kept and applied when it does, and again after an SFU worker restart.
   */
  async setView(m: Member, msg: ClientMessageOf<'media_view'>): Promise<void> {
    const now = Date.now();
    const bucket = this.viewTokens.get(m) ?? { tokens: MEDIA_VIEWS_PER_SECOND, at: now };
    bucket.tokens = Math.min(
      MEDIA_VIEWS_PER_SECOND,
      bucket.tokens + ((now - bucket.at) / 1000) * MEDIA_VIEWS_PER_SECOND,
    );
    bucket.at = now;
    this.viewTokens.set(m, bucket);
    if (bucket.tokens < 1)
      throw new ProtocolError(
        'rate_limited',
        `too many media_view messages: at most ${MEDIA_VIEWS_PER_SECOND} a second`,
      );
    bucket.tokens -= 1;
    this.requireSfu();
    const view: ViewFields = {
      lastN: msg.lastN,
      pinned: msg.pinned,
      tiles: msg.tiles,
      defaultHeight: msg.defaultHeight,
    };
    this.views.set(m, view);
    if (m.media) await this.applyView(m, view);
  }

  /**
   * The participant's own microphone and camera state. Policy: a host mute stops forwarding at
   * the SFU, and the participant may unmute themselves afterwards (as in common meeting
   * products); removal is the hard stop. The SFU follows the participant's own state either way.
   */
  async setMuted(m: Member, audio: boolean, video: boolean): Promise<void> {
    const sfu = this.ctx.sfu;
    if (!sfu || !m.media) return;
    const target = { meetingId: this.ctx.meetingId, participantId: m.id };
    if (audio !== m.audio) await sfu.call('setMuted', { ...target, kind: 'audio', muted: !audio });
    if (video !== m.video) await sfu.call('setMuted', { ...target, kind: 'video', muted: !video });
  }

  leave(m: Member): void {
    if (this.ctx.sfu && m.media) void this.ctx.sfu.leave(this.ctx.meetingId, m.id).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.ctx.sfu?.closeMeeting(this.ctx.meetingId).catch(() => undefined);
  }

  /** `join` is the member's media join until it settles (later asks wait for it). */
  private track(m: Member, join: Promise<boolean>): Promise<boolean> {
    m.mediaJoin = join;
    const settled = () => {
      if (m.mediaJoin === join) m.mediaJoin = undefined;
    };
    void join.then(settled, settled);
    return join;
  }

  /**
   * Sends the member `media_reset` and makes its media session anew. After a worker exit the
   * old session is gone with the worker; after a failed connection it is left first (its ports
   * and connections freed).
   */
  private rejoin(m: Member, reason: MediaResetReason): Promise<boolean> {
    const sfu = this.ctx.sfu;
    const inFlight = m.mediaJoin;
    const rejoin = (async () => {
      // A join in flight went to the dead worker (or made the session that failed): it fails or
      // its session is gone either way.
      await inFlight?.catch(() => false);
      m.media = false;
      m.mediaSession = undefined; // offers of the going session are not forwarded any more
      if (reason === 'connection_failed') await sfu?.leave(this.ctx.meetingId, m.id).catch(() => undefined);
      if (!sfu || !this.ctx.current(m)) return false;
      // Said before the new session exists: the new session's subscribe offer (made at once
      // when others publish) must reach the SDK after it, for its new transport, not the old
      // one. The SDK's new publish offer waits for this join (`join` returns it).
      m.peer.send({ v, type: 'media_reset', reason });
      let joined = false;
      try {
        joined = await this.joinOnce(m);
      } catch (e) {
        // No media for now; the participant's next offer tries again.
        this.ctx.logger.warn(
          { err: e, meetingId: this.ctx.meetingId, participantId: m.id },
          'media rejoin failed',
        );
      }
      if (!this.ctx.current(m)) {
        // It left (or the room closed) meanwhile: nobody will take it out of the SFU but us.
        if (joined) void sfu.leave(this.ctx.meetingId, m.id).catch(() => undefined);
        return false;
      }
      return joined;
    })();
    return this.track(m, rejoin);
  }

  private async joinOnce(m: Member): Promise<boolean> {
    const sfu = this.ctx.sfu;
    if (!sfu || m.media) return m.media;
    m.mediaSession = ++this.sessions;
    // The view known now goes with the join: the worker's first offer carries only what it shows.
    const initial = this.views.get(m);
    try {
      await sfu.join(this.ctx.meetingId, m.id, initial);
    } catch (e) {
      m.mediaSession = undefined;
      if ((e as { code?: unknown }).code === 'media_capacity') {
        m.peer.send({
          v,
          type: 'error',
          code: 'media_capacity',
          message: (e as Error).message,
          ref: 'media',
        });
        return false;
      }
      throw e;
    }
    if (!this.ctx.current(m)) {
      // It left (or the room closed) while the SFU joined it: nobody else will take it out.
      void sfu.leave(this.ctx.meetingId, m.id).catch(() => undefined);
      return false;
    }
    m.media = true;
    const target = { meetingId: this.ctx.meetingId, participantId: m.id };
    // Media reaches only admitted participants, and in E2EE meetings only members of the
    // MLS group (the coordinator opens it when the member confirms its Welcome).
    await sfu.call('setReceiving', { ...target, allowed: this.ctx.mayReceive(m) });
    if (!m.audio) await sfu.call('setMuted', { ...target, kind: 'audio', muted: true });
    if (!m.video) await sfu.call('setMuted', { ...target, kind: 'video', muted: true });
    const view = this.views.get(m);
    // The session stands without it (everything is forwarded then): a failure is only logged.
    if (view && view !== initial)
      await this.applyView(m, view).catch((e: unknown) =>
        this.ctx.logger.warn(
          { err: e, meetingId: this.ctx.meetingId, participantId: m.id },
          'media view not applied',
        ),
      );
    return true;
  }

  private async applyView(m: Member, view: ViewFields): Promise<void> {
    const sfu = this.requireSfu();
    await sfu
      .call('setView', { meetingId: this.ctx.meetingId, participantId: m.id, ...view })
      .catch((e: Error) => {
        throw new ProtocolError('media_error', `the SFU refused the view: ${e.message}`);
      });
  }

  private requireSfu(): MediaRouter {
    if (!this.ctx.sfu) throw new ProtocolError('media_error', 'this server runs without media');
    return this.ctx.sfu;
  }
}
