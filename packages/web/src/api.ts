import {
  createMeetingResponse,
  errorResponse,
  meetingResponse,
  PROTOCOL_VERSION,
  type CreateMeetingResponse,
  type MeetingInfo,
  type MeetingMode,
} from '@conclave/protocol';
import { ApiError } from './errors.js';

/** The part of a zod schema we use (keeps zod itself out of this package's dependencies). */
interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false };
}

/** The HTTP API of the server that served this page. Responses are validated with the protocol's schemas. */
async function call<T>(path: string, schema: Schema<T>, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  } catch (e) {
    throw new ApiError('connection_failed', (e as Error).message, 0);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = errorResponse.safeParse(body);
    if (err.success) throw new ApiError(err.data.error.code, err.data.error.message, res.status);
    throw new ApiError('internal_error', `HTTP ${res.status}`, res.status);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError('bad_request', 'unexpected answer from the server', res.status);
  return parsed.data;
}

export interface CreateMeetingInput {
  mode: MeetingMode;
  title: string;
  passcode: string | undefined;
  waitingRoom: boolean;
}

export function createMeeting(input: CreateMeetingInput): Promise<CreateMeetingResponse> {
  return call('/api/meetings', createMeetingResponse, {
    method: 'POST',
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      mode: input.mode,
      title: input.title,
      passcode: input.passcode || undefined,
      waitingRoom: input.waitingRoom,
    }),
  });
}

export async function getMeeting(id: string): Promise<MeetingInfo> {
  return (await call(`/api/meetings/${encodeURIComponent(id)}`, meetingResponse)).meeting;
}
