import { z } from 'zod';
import { ERROR_CODES } from './errors.js';

/**
 * Signaling over one WebSocket per participant (`/ws`), JSON text frames.
 *
 * Decision: binary MLS messages (key packages, commits, Welcomes, proposals, application
 * messages) travel as standard base64 inside the JSON messages. One framing for everything
 * keeps validation in one place (these schemas); the 4/3 size cost only touches handshake and
 * chat traffic, never media.
 *
 * Every message carries `v` (protocol version) and `type`. Epochs are decimal strings (MLS
 * epochs are uint64).
 */
export const PROTOCOL_VERSION = 1;
/** Largest signaling frame accepted, in bytes (a Welcome with the ratchet tree of a big meeting fits). */
export const MAX_SIGNALING_BYTES = 2 * 1024 * 1024;
/**
 * Largest MLS application message (chat), base64 characters: a 4,000-character chat message
 * encrypts to about 16 KB. Far below the frame limit, so a member cannot make the server copy
 * megabytes to every other member.
 */
export const MAX_APP_MESSAGE_CHARS = 64 * 1024;

const v = z.literal(PROTOCOL_VERSION);
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{4,64}$/, 'must be 4-64 characters of A-Z a-z 0-9 _ -');
export const b64Schema = z
  .string()
  .min(4)
  .max(MAX_SIGNALING_BYTES)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
export const epochSchema = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'must be a decimal uint64');
export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'display name is empty')
  .max(64, 'display name is longer than 64 characters');
export const roleSchema = z.enum(['host', 'cohost', 'participant']);
export type Role = z.infer<typeof roleSchema>;
export const modeSchema = z.enum(['e2ee', 'standard']);
export type MeetingMode = z.infer<typeof modeSchema>;
export const pcSchema = z.enum(['publish', 'subscribe']);
/** Why the server made a participant's media session anew (`media_reset`). */
export const mediaResetReasonSchema = z.enum(['sfu_restarted', 'connection_failed']);
export type MediaResetReason = z.infer<typeof mediaResetReasonSchema>;
export const sourceSchema = z.enum(['audio', 'camera', 'screen', 'screenAudio']);
export type MediaSource = z.infer<typeof sourceSchema>;
/** An ICE candidate as RTCIceCandidateInit carries it (signaling and the SFU's IPC). */
export const iceCandidateSchema = z.object({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
});
export type IceCandidate = z.infer<typeof iceCandidateSchema>;
/** An SDP offer of a big meeting has two m-sections per participant (about 1.3 KB each). */
const sdpSchema = z
  .string()
  .min(10)
  .max(512 * 1024);

export const meetingSettingsSchema = z.object({
  passcodeRequired: z.boolean(),
  waitingRoom: z.boolean(),
  muteOnEntry: z.boolean(),
  maxParticipants: z.number().int().min(2).max(1000),
  locked: z.boolean(),
  allowScreenShare: z.boolean(),
  /**
   * Whether senders sign attestations of their media frames (verifiable clips for reports, live
   * impersonation checks). Absent means on; a host may turn it off (deniability, docs "Frame attestation").
   */
  attestation: z.boolean().optional(),
});
export type MeetingSettings = z.infer<typeof meetingSettingsSchema>;

export const meetingInfoSchema = z.object({
  id: idSchema,
  title: z.string().max(200),
  mode: modeSchema,
  settings: meetingSettingsSchema,
  ended: z.boolean(),
});
export type MeetingInfo = z.infer<typeof meetingInfoSchema>;

export const participantSchema = z.object({
  id: idSchema,
  displayName: displayNameSchema,
  role: roleSchema,
  kind: z.enum(['user', 'guest']),
  userId: z.string().max(128).optional(),
  deviceId: z.string().min(1).max(128),
  state: z.enum(['waiting', 'joined']),
  /** Server's view only: whether a Welcome/commit put it in the MLS group. The UI roster reads the group. */
  inGroup: z.boolean(),
  /** The MLS signature key of its key package (E2EE), base64: how the group's roles name it. */
  signatureKey: b64Schema.optional(),
  audio: z.boolean(),
  video: z.boolean(),
  /**
   * Shown to hosts in the waiting room: this joiner matches a participant removed from this
   * meeting (`identity`: same device, account or MLS signature key; `network`: same network
   * as a banned participant). Such joiners always wait for a fresh host decision.
   */
  previouslyRemoved: z.enum(['identity', 'network']).optional(),
});
export type Participant = z.infer<typeof participantSchema>;

// ---------------------------------------------------------------- client → server

/**
 * A request id: any client message may carry one (`rid`). The server echoes it as `rid` in
 * every `error` that message causes and in its direct reply (`pong`; `waiting` or `joined`
 * when the join is answered at once; `commit_accepted`; the publish `media_answer`), so a
 * client matches answers to requests without guessing from the message type. The SDK gives
 * every message a fresh one. A message that fails validation has its `rid` echoed only when
 * that field is valid on its own.
 */
export const ridSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters of A-Z a-z 0-9 _ -');
/** Fields of every client message. */
const head = { v, rid: ridSchema.optional() };

/** Most tiles a `media_view` can describe (a 7×7 grid). */
export const MAX_VIEW_TILES = 49;
/** Default of `media_view.lastN`: video of this many recent speakers at most. */
export const DEFAULT_LAST_N = 9;
export const videoSourceSchema = z.enum(['camera', 'screen']);
/** One video tile a subscriber shows: whose stream and how tall it is drawn (device pixels). */
export const viewTileSchema = z.object({
  participantId: idSchema,
  source: videoSourceSchema,
  height: z.number().int().min(0).max(4320),
});
export type ViewTile = z.infer<typeof viewTileSchema>;
/**
 * What the subscriber shows, so the SFU forwards only that (last-N): video of the `lastN` most
 * recent speakers (audio-level header extension) plus the `pinned` participants, each at a layer
 * that fits its tile (`tiles`; streams without a tile use `defaultHeight`). Until a subscriber
 * sends one, everything is forwarded at the best layer its downlink allows.
 */
export const mediaViewFields = z.object({
  lastN: z.number().int().min(0).max(MAX_VIEW_TILES).default(DEFAULT_LAST_N),
  pinned: z.array(idSchema).max(MAX_VIEW_TILES).default([]),
  tiles: z
    .array(viewTileSchema)
    .max(MAX_VIEW_TILES * 2)
    .default([]),
  defaultHeight: z.number().int().min(0).max(4320).default(360),
});
/** A view with its defaults applied: the `media_view` fields, and the view a `join` carries. */
export type MediaViewFields = z.output<typeof mediaViewFields>;
export const mediaViewMessage = z.object({
  ...head,
  type: z.literal('media_view'),
  ...mediaViewFields.shape,
});
export type MediaView = z.infer<typeof mediaViewMessage>;

export const joinMessage = z.object({
  ...head,
  type: z.literal('join'),
  meetingId: idSchema,
  displayName: displayNameSchema,
  deviceId: z.string().min(1).max(128),
  userId: z.string().min(1).max(128).optional(),
  passcode: z.string().max(128).optional(),
  hostSecret: z.string().max(128).optional(),
  /** A fresh MLS key package (E2EE meetings). */
  keyPackage: b64Schema.optional(),
  /** Rejoin after a dropped connection with the token from `joined`/`waiting`. */
  resume: z.object({ participantId: idSchema, token: z.string().min(16).max(128) }).optional(),
  /**
   * What it will show (as `media_view`), known to the SFU from the start: its first subscribe
   * offer then carries only the streams it shows, not every stream of the meeting.
   */
  view: mediaViewFields.optional(),
});

/**
 * The first key holder made the meeting's group: `groupInfo` is an epoch-0 MLS GroupInfo with
 * the ratchet tree (public data), signed by the creator's leaf, from which the delivery service
 * tracks the group's public state.
 */
export const groupCreateMessage = z.object({
  ...head,
  type: z.literal('group_create'),
  groupId: b64Schema,
  groupInfo: b64Schema,
});
/**
 * A commit as an MLS PublicMessage. The delivery service reads who it adds and removes from
 * the commit itself (and who a Welcome is for from the Welcome), never from the committer.
 */
export const commitMessage = z.object({
  ...head,
  type: z.literal('commit'),
  /** The epoch the commit was made in (the group's current epoch when accepted). */
  epoch: epochSchema,
  commit: b64Schema,
  welcome: b64Schema.optional(),
});
/**
 * A member's answer to a commit it received (`epoch` = the commit's epoch) or to its Welcome
 * (`epoch` = the Welcome's epoch minus one): processed it, or could not / refused it by policy.
 */
export const commitResultMessage = z.object({
  ...head,
  type: z.literal('commit_result'),
  epoch: epochSchema,
  ok: z.boolean(),
  reason: z.string().max(500).optional(),
});
export const keyPackageMessage = z.object({ ...head, type: z.literal('key_package'), keyPackage: b64Schema });
export const appMessage = z.object({
  ...head,
  type: z.literal('app'),
  epoch: epochSchema,
  data: b64Schema.max(
    MAX_APP_MESSAGE_CHARS,
    `an application message has at most ${MAX_APP_MESSAGE_CHARS} characters`,
  ),
});
export const chatMessage = z.object({ ...head, type: z.literal('chat'), text: z.string().min(1).max(4000) });
export const mediaOfferMessage = z.object({
  ...head,
  type: z.literal('media_offer'),
  pc: z.literal('publish'),
  sdp: sdpSchema,
});
/** Which media session of the participant an offer belongs to (the server counts them). */
export const mediaSessionSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const mediaAnswerMessage = z.object({
  ...head,
  type: z.literal('media_answer'),
  pc: z.literal('subscribe'),
  sdp: sdpSchema,
  /** The `session` of the offer answered: an answer to an older session's offer is dropped. */
  session: mediaSessionSchema.optional(),
});
export const iceMessage = z.object({
  ...head,
  type: z.literal('ice'),
  pc: pcSchema,
  candidate: iceCandidateSchema,
});
/**
 * The client's own peer connection of `pc` with the SFU did not come up in time (or died while
 * the SFU still thinks it is fine: ICE stuck in checking on one side only). The server makes the
 * participant's media session anew, as when the SFU reports a failed connection (`media_reset`,
 * reason `connection_failed`), within the same per-participant limit.
 */
export const mediaFailedMessage = z.object({ ...head, type: z.literal('media_failed'), pc: pcSchema });
export const mediaStateMessage = z.object({
  ...head,
  type: z.literal('media_state'),
  audio: z.boolean(),
  video: z.boolean(),
});
const target = { participantId: idSchema };
export const hostActionMessage = z.discriminatedUnion('type', [
  z.object({ ...head, type: z.literal('admit'), ...target }),
  z.object({ ...head, type: z.literal('deny'), ...target }),
  z.object({ ...head, type: z.literal('remove'), ...target, ban: z.boolean().default(false) }),
  z.object({ ...head, type: z.literal('mute'), ...target, kind: z.enum(['audio', 'video']) }),
  z.object({ ...head, type: z.literal('mute_all'), kind: z.enum(['audio', 'video']).default('audio') }),
  z.object({ ...head, type: z.literal('set_role'), ...target, role: z.enum(['cohost', 'participant']) }),
  z.object({ ...head, type: z.literal('lock'), locked: z.boolean() }),
  z.object({ ...head, type: z.literal('end') }),
]);
export const pingMessage = z.object({ ...head, type: z.literal('ping'), t: z.number().optional() });
export const leaveMessage = z.object({ ...head, type: z.literal('leave') });

export const clientMessage = z.discriminatedUnion('type', [
  joinMessage,
  groupCreateMessage,
  commitMessage,
  commitResultMessage,
  keyPackageMessage,
  appMessage,
  chatMessage,
  mediaOfferMessage,
  mediaAnswerMessage,
  iceMessage,
  mediaStateMessage,
  mediaFailedMessage,
  mediaViewMessage,
  ...hostActionMessage.options,
  pingMessage,
  leaveMessage,
]);
export type ClientMessage = z.infer<typeof clientMessage>;
export type ClientMessageOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

// ---------------------------------------------------------------- server → client

export const streamInfoSchema = z.object({
  mid: z.string().max(64),
  participantId: idSchema,
  source: sourceSchema,
});
export type StreamInfo = z.infer<typeof streamInfoSchema>;

export const joinerSchema = z.object({
  participantId: idSchema,
  displayName: displayNameSchema,
  deviceId: z.string().max(128),
  userId: z.string().max(128).optional(),
  keyPackage: b64Schema,
});
export type Joiner = z.infer<typeof joinerSchema>;

/** One video stream of another participant in `media_status`. */
export const videoForwardingSchema = z.object({
  participantId: idSchema,
  source: videoSourceSchema,
  forwarded: z.boolean(),
  /**
   * The rule that decided, whichever way `forwarded` went: `muted` (the publisher's video is
   * off), `not_shown` (its tile is 0 pixels high), `pinned` (pinned by this participant, or a
   * screen share: always forwarded), `speaker` (one of the `lastN` places, as a recent
   * speaker), `last_n` (forwarded: a `lastN` place nobody spoke for; not forwarded: beyond the
   * `lastN` places — "not a recent speaker").
   */
  reason: z.enum(['pinned', 'speaker', 'last_n', 'not_shown', 'muted']),
  layer: z.number().int().min(0).max(7).nullable(),
  layers: z.number().int().min(0).max(8),
  /** What keeps it below its best layer, if anything. */
  limit: z.enum(['tile', 'bandwidth']).nullable(),
});
export type VideoForwarding = z.infer<typeof videoForwardingSchema>;
/**
 * What the SFU forwards to this participant and why (sent when it changes, at most twice a
 * second): `speakers` is the meeting's recent speakers (speaking now first, then those who
 * spoke before, the most recent first); `audio` whose audio is forwarded (the top few
 * speakers); per video stream whether it is forwarded, at which simulcast layer (`layer` 0 =
 * lowest of `layers`; null while none flows), and what limits it; `downlinkBps` the SFU's
 * estimate of this participant's downlink from its RTCP receiver reports (null: none yet).
 */
export const mediaStatusMessage = z.object({
  v,
  type: z.literal('media_status'),
  speakers: z.array(idSchema).max(256),
  audio: z.array(idSchema).max(256),
  video: z.array(videoForwardingSchema).max(512),
  downlinkBps: z.number().nonnegative().nullable(),
  lossFraction: z.number().min(0).max(1).nullable(),
  rttMs: z.number().nonnegative().nullable(),
});
export type MediaStatusMessage = z.infer<typeof mediaStatusMessage>;

export const serverMessage = z.discriminatedUnion('type', [
  z.object({
    v,
    type: z.literal('joined'),
    rid: ridSchema.optional(),
    participantId: idSchema,
    resumeToken: z.string(),
    role: roleSchema,
    meeting: meetingInfoSchema,
    participants: z.array(participantSchema),
    /** The delivery service's MLS external-sender public key (E2EE). */
    serverKey: b64Schema.optional(),
    /** The meeting's current MLS group (E2EE), or null when there is none yet. */
    group: z.object({ groupId: b64Schema, epoch: epochSchema }).nullable(),
    /** This participant must create the group (it is the first key holder); others wait for a Welcome. */
    createGroup: z.boolean(),
  }),
  z.object({
    v,
    type: z.literal('waiting'),
    rid: ridSchema.optional(),
    participantId: idSchema,
    resumeToken: z.string(),
    meeting: meetingInfoSchema,
  }),
  z.object({ v, type: z.literal('denied'), reason: z.string() }),
  z.object({ v, type: z.literal('removed'), reason: z.string() }),
  z.object({ v, type: z.literal('meeting_ended') }),
  z.object({ v, type: z.literal('meeting_updated'), meeting: meetingInfoSchema }),
  z.object({ v, type: z.literal('participant_joined'), participant: participantSchema }),
  z.object({ v, type: z.literal('participant_updated'), participant: participantSchema }),
  z.object({
    v,
    type: z.literal('participant_left'),
    participantId: idSchema,
    reason: z.enum(['left', 'dropped', 'removed']),
  }),
  z.object({ v, type: z.literal('waiting_room'), waiting: z.array(participantSchema) }),
  /**
   * To hosts and co-hosts: too many wrong passcodes were tried for this meeting; joins with a
   * passcode are refused (`passcode_locked`) until `until` (ms since the epoch). Changing the
   * passcode ends the lockout.
   */
  z.object({
    v,
    type: z.literal('passcode_lockout'),
    until: z.number(),
    failures: z.number().int().min(0),
  }),
  /** To the member chosen to commit: add these authorised joiners (one commit for all). */
  z.object({ v, type: z.literal('add_request'), epoch: epochSchema, joiners: z.array(joinerSchema) }),
  z.object({ v, type: z.literal('group_created'), groupId: b64Schema, epoch: epochSchema }),
  z.object({ v, type: z.literal('commit'), epoch: epochSchema, commit: b64Schema, from: idSchema }),
  z.object({
    v,
    type: z.literal('commit_accepted'),
    rid: ridSchema.optional(),
    epoch: epochSchema,
    newEpoch: epochSchema,
  }),
  z.object({ v, type: z.literal('welcome'), epoch: epochSchema, welcome: b64Schema }),
  /** An external Remove proposal signed by the server; `committer` is asked to commit it. */
  z.object({
    v,
    type: z.literal('proposal'),
    epoch: epochSchema,
    proposal: b64Schema,
    participantId: idSchema,
    deviceId: z.string().max(128),
    committer: idSchema,
  }),
  /** Asks the member to make an empty (path) commit: the periodic rekey. */
  z.object({ v, type: z.literal('rekey_request'), epoch: epochSchema }),
  /**
   * To the host: commit the group's roles (group-context extension) as the host wants them;
   * sent when the host is in the group but the group does not list it, or after `set_role`.
   */
  z.object({ v, type: z.literal('roles_request'), epoch: epochSchema }),
  /** The meeting's MLS group is gone (server restart): the named participant creates a new one, the rest wait for a Welcome. */
  z.object({ v, type: z.literal('group_reset'), creator: idSchema }),
  z.object({ v, type: z.literal('app'), epoch: epochSchema, data: b64Schema, from: idSchema }),
  z.object({
    v,
    type: z.literal('chat'),
    text: z.string(),
    from: idSchema,
    /** Standard meetings: when the server relayed it (ms) and its seal over meeting, sender, text and time (report evidence). */
    sentAt: z.number().int().nonnegative().optional(),
    seal: b64Schema.max(128).optional(),
  }),
  z.object({
    v,
    type: z.literal('media_answer'),
    rid: ridSchema.optional(),
    pc: z.literal('publish'),
    sdp: sdpSchema,
  }),
  z.object({
    v,
    type: z.literal('media_offer'),
    pc: z.literal('subscribe'),
    sdp: sdpSchema,
    streams: z.array(streamInfoSchema),
    session: mediaSessionSchema.optional(),
  }),
  z.object({
    v,
    type: z.literal('ice'),
    pc: pcSchema,
    candidate: iceCandidateSchema,
  }),
  mediaStatusMessage,
  z.object({ v, type: z.literal('muted'), kind: z.enum(['audio', 'video']), by: idSchema }),
  /**
   * This participant's media session is gone and a new one is being made: close both peer
   * connections and publish again (a new `media_offer`, answered once the new session exists;
   * subscribe offers after this message are the new session's). `sfu_restarted`: its SFU worker died;
   * `connection_failed`: one of its peer connections with the SFU failed for good (ICE or DTLS
   * gave up). Signaling, the meeting and the MLS group are untouched.
   */
  z.object({ v, type: z.literal('media_reset'), reason: mediaResetReasonSchema }),
  z.object({ v, type: z.literal('pong'), rid: ridSchema.optional(), t: z.number().optional() }),
  z.object({
    v,
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** The `type` of the client message that caused it, when known (for logs and older clients). */
    ref: z.string().optional(),
    /** The `rid` of the client message that caused it, when it had a valid one. */
    rid: ridSchema.optional(),
  }),
]);
export type ServerMessage = z.infer<typeof serverMessage>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
