import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CodedError,
  ERROR_CATALOGUE,
  ERROR_CODES,
  HTTP_ERROR_VARIANTS,
  isErrorCode,
  ProtocolError,
  type ErrorCode,
  type ErrorSpec,
} from '../src/index.js';

describe('the error catalogue', () => {
  it('is keyed by exactly the error codes (a code without a status does not type-check)', () => {
    expectTypeOf<keyof typeof ERROR_CATALOGUE>().toEqualTypeOf<ErrorCode>();
    // @ts-expect-error a catalogue missing a code's row is not a catalogue
    const partial: Record<ErrorCode, ErrorSpec> = { bad_request: { status: 400, message: 'x' } };
    expect(partial).toBeDefined();
  });

  it('gives every code an HTTP error status and a sentence', () => {
    expect(Object.keys(ERROR_CATALOGUE).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      const { status, message } = ERROR_CATALOGUE[code];
      expect(Number.isInteger(status) && status >= 400 && status <= 599, code).toBe(true);
      expect(message.length, code).toBeGreaterThan(0);
    }
  });

  it('keeps the statuses the HTTP API has always answered with', () => {
    const statuses = Object.fromEntries(ERROR_CODES.map((c) => [c, ERROR_CATALOGUE[c].status]));
    expect(statuses).toMatchObject({
      bad_request: 400,
      unknown_meeting: 404,
      forbidden: 403,
      meeting_ended: 409,
      message_too_large: 413,
      rate_limited: 429,
      internal_error: 500,
      unauthenticated: 401,
      csrf_failed: 403,
      verification_expired: 410,
      sms_failed: 502,
      unknown_device: 404,
      email_taken: 409,
    });
  });

  it('names its HTTP variants apart from the codes, each with a real code', () => {
    for (const [name, variant] of Object.entries(HTTP_ERROR_VARIANTS)) {
      expect(isErrorCode(name), name).toBe(false);
      expect(isErrorCode(variant.code), name).toBe(true);
      expect(variant.status).not.toBe(ERROR_CATALOGUE[variant.code].status);
    }
  });
});

describe('CodedError', () => {
  it('is the base of ProtocolError and carries the code', () => {
    const e = new ProtocolError('meeting_full', 'full');
    expect(e).toBeInstanceOf(CodedError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'meeting_full', message: 'full', name: 'ProtocolError' });
    expectTypeOf(e.code).toEqualTypeOf<ErrorCode>();
  });

  it('widens its code for families with codes of their own', () => {
    const e = new CodedError<ErrorCode | 'connection_failed'>('connection_failed', 'offline');
    expect(isErrorCode(e.code)).toBe(false);
    expect(isErrorCode('meeting_full')).toBe(true);
    expect(isErrorCode(42)).toBe(false);
  });
});
