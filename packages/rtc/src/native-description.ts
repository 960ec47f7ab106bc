/**
 * libdatachannel's `setLocalDescription` throws a C++ `std::logic_error` for a type its
 * signaling state does not take (an answer while stable, an offer while it holds a remote
 * offer), and node-datachannel (0.33) calls it without a try/catch: the exception ends the whole
 * process (`terminate called after throwing an instance of 'std::logic_error'`), a load run's
 * bot process with its 75 bots, or an SFU worker with its meetings. Its `setRemoteDescription`
 * and `addRemoteCandidate` do catch and throw JavaScript errors.
 */

/** The part of node-datachannel's PeerConnection this needs (no dependency on it here). */
export interface NativeSignaling {
  signalingState(): string;
  setLocalDescription(type: 'offer' | 'answer'): void;
}

/**
 * The states each type is meant for. libdatachannel throws for an offer in have-remote-offer or
 * have-local-pranswer and for an answer while stable; elsewhere it logs and ignores the call,
 * and an ignored answer would hand back a stale description, so an answer needs a remote offer.
 * A second offer before the answer is ignored and the first one stands.
 */
const ALLOWED: Record<'offer' | 'answer', readonly string[]> = {
  offer: ['stable', 'have-local-offer'],
  answer: ['have-remote-offer'],
};

/** `pc.setLocalDescription(type)`, or a JavaScript Error where libdatachannel would abort the process. */
export function setLocalDescriptionChecked(pc: NativeSignaling, type: 'offer' | 'answer'): void {
  const state = pc.signalingState();
  if (!ALLOWED[type].includes(state))
    throw new Error(`cannot make a local ${type} in signaling state ${state}`);
  pc.setLocalDescription(type);
}
