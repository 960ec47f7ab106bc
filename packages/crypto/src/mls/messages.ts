import { decodeMlsMessage, encodeMlsMessage, type MLSMessage } from './ts-mls.js';
import { CryptoError } from '../errors.js';

export class MlsMessageError extends CryptoError<'malformed_mls_message' | 'unexpected_mls_message'> {
  constructor(code: 'malformed_mls_message' | 'unexpected_mls_message', message: string) {
    super(code, message);
    this.name = 'MlsMessageError';
  }
}

/** Decodes one whole MLSMessage; trailing bytes or a failed decode are errors, never exceptions from deep inside ts-mls. */
export function decodeMls(bytes: Uint8Array): MLSMessage {
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (e) {
    throw new MlsMessageError('malformed_mls_message', `cannot decode MLS message: ${(e as Error).message}`);
  }
  if (!decoded) throw new MlsMessageError('malformed_mls_message', 'cannot decode MLS message');
  if (decoded[1] !== bytes.length)
    throw new MlsMessageError('malformed_mls_message', 'trailing bytes after MLS message');
  return decoded[0];
}

export function encodeMls(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

/** The clear framing of a handshake or application message: what a delivery service may read. */
export interface MlsFraming {
  wireformat: MLSMessage['wireformat'];
  groupId?: Uint8Array;
  epoch?: bigint;
  /** For public messages: the sender type ("member", "external", ...). */
  senderType?: string;
  contentType?: string;
}

/** Reads the unencrypted routing fields (group id, epoch) of an MLS message, for the delivery service. */
export function readMlsFraming(bytes: Uint8Array): MlsFraming {
  const msg = decodeMls(bytes);
  switch (msg.wireformat) {
    case 'mls_private_message':
      return {
        wireformat: msg.wireformat,
        groupId: msg.privateMessage.groupId,
        epoch: msg.privateMessage.epoch,
        contentType: msg.privateMessage.contentType,
      };
    case 'mls_public_message':
      return {
        wireformat: msg.wireformat,
        groupId: msg.publicMessage.content.groupId,
        epoch: msg.publicMessage.content.epoch,
        senderType: msg.publicMessage.content.sender.senderType,
        contentType: msg.publicMessage.content.contentType,
      };
    default:
      return { wireformat: msg.wireformat };
  }
}
