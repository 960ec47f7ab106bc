import { toBase64, type MembershipProof } from '@conclave/crypto';
import type { ChatEvidence, MembershipProofWire, MeetingInfo } from '@conclave/protocol';
import type { ChatMessage } from '../e2ee-member.js';
import type { Person } from '../people.js';

/** Someone a report can name: what this client saw of them (never the server's word alone in E2EE meetings). */
export interface ReportablePerson {
  participantId?: string;
  displayName: string;
  /** Their MLS leaf signature key (base64), E2EE meetings. */
  signatureKey?: string;
  leafIndex?: number;
  isSelf: boolean;
}

/** A received chat message a report can attach, with what makes it checkable. */
export interface ReportableChat {
  id: string;
  senderName: string;
  /** E2EE: the signer's leaf signature key (base64). */
  senderKey?: string;
  /** Standard meetings: the sender's participant id. */
  from?: string;
  text: string;
  sentAt: number;
  /** The evidence as a report carries it; for `mls_chat`, `proofEpoch` names its membership proof. */
  evidence?: ChatEvidence;
  proofEpoch?: string;
}

/**
 * What this client can still report about a meeting: the people it saw and the chat it received,
 * with the evidence material. Plain JSON: the web app keeps it on the device for
 * REPORT_AFTER_MEETING_DAYS so that the end screen can report after the meeting (clips cannot:
 * the media buffer lives in memory only).
 */
export interface ReportableMeeting {
  v: 1;
  meetingId: string;
  mode: 'e2ee' | 'standard';
  title: string;
  savedAt: number;
  /** Whether the meeting's senders attest their frames (clips can be verified). */
  attestation: boolean;
  people: ReportablePerson[];
  chat: ReportableChat[];
  /** Membership proofs by epoch (decimal), for the `mls_chat` evidence. */
  proofs: Record<string, MembershipProofWire>;
}

/** How many received messages a client keeps for reports (oldest dropped first). */
export const REPORT_LOG_MESSAGES = 200;
const MAX_PEOPLE = 1000;

export function proofToWire(p: MembershipProof): MembershipProofWire {
  return { groupContext: toBase64(p.groupContext), ratchetTree: toBase64(p.ratchetTree) };
}

/**
 * The client's memory for Report a User: received chat (bounded) with each E2EE message's
 * signature evidence and its epoch's membership proof (kept once per epoch, only while a message
 * of that epoch is kept), and everyone seen in the meeting (a participant who left can still be
 * reported).
 */
export class ReportLog {
  private chat: ReportableChat[] = [];
  private proofs = new Map<string, MembershipProofWire>();
  private readonly people = new Map<string, ReportablePerson>();
  private standardCount = 0;

  /** An E2EE chat message; `proof` is asked for only when its epoch has none kept yet. */
  recordE2ee(msg: ChatMessage, proof: (epoch: bigint) => MembershipProof | undefined): void {
    const epoch = String(msg.epoch);
    if (!this.proofs.has(epoch)) {
      const p = proof(msg.epoch);
      if (p) this.proofs.set(epoch, proofToWire(p));
    }
    const senderKey = toBase64(msg.sender.signaturePublicKey);
    this.push({
      id: msg.id,
      senderName: msg.sender.identity.displayName,
      senderKey,
      text: msg.text,
      sentAt: msg.sentAt,
      proofEpoch: this.proofs.has(epoch) ? epoch : undefined,
      evidence: this.proofs.has(epoch)
        ? {
            kind: 'mls_chat',
            proof: 0, // the index is assigned when a report is built
            framedContent: toBase64(msg.evidence.framedContent),
            signature: toBase64(msg.evidence.signature),
          }
        : undefined,
    });
    this.notePerson({
      displayName: msg.sender.identity.displayName,
      signatureKey: senderKey,
      leafIndex: msg.sender.leafIndex,
      isSelf: false,
    });
  }

  /** A standard meeting's chat message as the server relayed it (with its seal, when it sent one). */
  recordStandard(
    msg: { from: string; text: string; sentAt?: number; seal?: string },
    senderName: string,
  ): string {
    const id = `s-${++this.standardCount}`;
    const sentAt = msg.sentAt ?? Date.now();
    this.push({
      id,
      senderName,
      from: msg.from,
      text: msg.text,
      sentAt,
      evidence:
        msg.seal && msg.sentAt !== undefined
          ? {
              kind: 'server_chat',
              from: msg.from,
              displayName: senderName,
              text: msg.text,
              sentAt,
              seal: msg.seal,
            }
          : undefined,
    });
    return id;
  }

  /** Remembers everyone shown now (people who leave stay reportable). */
  notePeople(people: Person[]): void {
    for (const p of people)
      this.notePerson({
        participantId: p.participantId,
        displayName: p.displayName,
        signatureKey: p.member ? toBase64(p.member.signaturePublicKey) : undefined,
        leafIndex: p.member?.leafIndex,
        isSelf: p.isSelf,
      });
  }

  snapshot(meeting: MeetingInfo, attestation: boolean): ReportableMeeting {
    const used = new Set(this.chat.flatMap((c) => (c.proofEpoch ? [c.proofEpoch] : [])));
    return {
      v: 1,
      meetingId: meeting.id,
      mode: meeting.mode,
      title: meeting.title,
      savedAt: Date.now(),
      attestation,
      people: [...this.people.values()],
      chat: this.chat.map((c) => ({ ...c })),
      proofs: Object.fromEntries([...this.proofs].filter(([epoch]) => used.has(epoch))),
    };
  }

  private push(c: ReportableChat): void {
    this.chat.push(c);
    if (this.chat.length > REPORT_LOG_MESSAGES) this.chat = this.chat.slice(-REPORT_LOG_MESSAGES);
    // Proofs of epochs no kept message needs are dropped.
    const used = new Set(this.chat.flatMap((m) => (m.proofEpoch ? [m.proofEpoch] : [])));
    for (const epoch of [...this.proofs.keys()]) if (!used.has(epoch)) this.proofs.delete(epoch);
  }

  private notePerson(p: ReportablePerson): void {
    const key = p.signatureKey ?? p.participantId ?? p.displayName;
    const known = this.people.get(key);
    this.people.set(key, {
      ...known,
      ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)),
    } as ReportablePerson);
    if (this.people.size > MAX_PEOPLE) this.people.delete(this.people.keys().next().value as string);
  }
}
