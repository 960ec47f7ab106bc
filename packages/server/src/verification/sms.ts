import { CodedError } from '@conclave/protocol';
import type { Logger } from '../logger.js';

/** One SMS. `to` is E.164; it lives only in memory, for as long as `send` runs. */
export interface SmsMessage {
  to: string;
  text: string;
  /** The code inside `text` (the console provider prints it on its own). */
  code: string;
}

/**
 * Delivers SMS codes. Implementations must not log, store or put in an error message the
 * number (`to`): the verification promises that the number is gone once the SMS is sent.
 */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
}

/** The provider could not send a code (`sms_failed`); the message says why, for the log. */
export class SmsDeliveryError extends CodedError {
  constructor(message: string) {
    super('sms_failed', message);
    this.name = 'SmsDeliveryError';
  }
}

/**
 * The default, for local use: writes the code to the server log (level info) and sends nothing.
 * The line carries the code and nothing about the number:
 * `{"msg":"console SMS provider: verification code 123456","smsCode":"123456",...}`.
 */
export class ConsoleSmsProvider implements SmsProvider {
  readonly name = 'console';
  constructor(private readonly logger: Logger) {}

  async send(message: SmsMessage): Promise<void> {
    this.logger.info({ smsCode: message.code }, `console SMS provider: verification code ${message.code}`);
  }
}

export interface HttpSmsProviderOptions {
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  timeoutMs?: number;
}

/**
 * Posts `{"to": "+447400123456", "text": "…"}` (JSON) to a gateway; any 2xx answer is success.
 * Errors say what went wrong with the gateway (status, time-out), never which number.
 */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  constructor(private readonly options: HttpSmsProviderOptions) {}

  async send(message: SmsMessage): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ to: message.to, text: message.text }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'is unreachable';
      throw new SmsDeliveryError(`the SMS gateway ${reason}`);
    }
    // Drain the body so the connection can be reused; its content is not needed.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new SmsDeliveryError(`the SMS gateway answered HTTP ${res.status}`);
  }
}

export function createSmsProvider(
  config: { smsProvider: 'console' | 'http' | undefined; smsGatewayUrl?: string; smsGatewayToken?: string },
  logger: Logger,
): SmsProvider {
  if (config.smsProvider === 'http') {
    if (!config.smsGatewayUrl) throw new Error('the http SMS provider needs smsGatewayUrl');
    return new HttpSmsProvider({ url: config.smsGatewayUrl, token: config.smsGatewayToken });
  }
  return new ConsoleSmsProvider(logger);
}
