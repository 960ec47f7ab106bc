import { z } from 'zod';
import type { Extension } from './ts-mls.js';
import { CryptoError } from '../errors.js';

/**
 * Host and co-hosts, written into the MLS group context itself (a private-use group-context
 * extension, RFC 9420 §13.3), so every member enforces them on every commit without asking the
 * server. Members are named by their MLS signature key (base64), which is bound to their
 * credential by the key package signature and is the same across one device's rejoins.
 */
export const ROLES_EXTENSION_TYPE = 0xf0c1;

export interface GroupRoles {
  hosts: string[];
  cohosts: string[];
}

const rolesSchema = z.object({
  v: z.literal(1),
  hosts: z.array(z.string().max(128)).max(16),
  cohosts: z.array(z.string().max(128)).max(256),
});

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export const NO_ROLES: GroupRoles = { hosts: [], cohosts: [] };

export function rolesExtension(roles: GroupRoles): Extension {
  const body = { v: 1, hosts: [...new Set(roles.hosts)].sort(), cohosts: [...new Set(roles.cohosts)].sort() };
  return { extensionType: ROLES_EXTENSION_TYPE, extensionData: enc.encode(JSON.stringify(body)) };
}

export class RolesError extends CryptoError<'bad_roles'> {
  constructor(message: string) {
    super('bad_roles', message);
    this.name = 'RolesError';
  }
}

function isRolesExtension(e: Extension): boolean {
  return e.extensionType === ROLES_EXTENSION_TYPE;
}

/** The roles in a group context's extensions (none listed when the extension is absent). */
export function readRoles(extensions: readonly Extension[]): GroupRoles {
  const ext = extensions.find(isRolesExtension);
  if (!ext) return NO_ROLES;
  let parsed;
  try {
    parsed = rolesSchema.safeParse(JSON.parse(dec.decode(ext.extensionData)));
  } catch {
    throw new RolesError('the roles extension is not UTF-8 JSON');
  }
  if (!parsed.success) throw new RolesError('the roles extension is malformed');
  return { hosts: parsed.data.hosts, cohosts: parsed.data.cohosts };
}

/** The group context's extensions with the roles replaced (every other extension kept as it is). */
export function withRoles(extensions: readonly Extension[], roles: GroupRoles): Extension[] {
  return [...extensions.filter((e) => !isRolesExtension(e)), rolesExtension(roles)];
}

export function sameRoles(a: GroupRoles, b: GroupRoles): boolean {
  const norm = (r: GroupRoles) => JSON.stringify([[...r.hosts].sort(), [...r.cohosts].sort()]);
  return norm(a) === norm(b);
}

export type GroupRole = 'host' | 'cohost' | 'participant';

export function roleOf(roles: GroupRoles, signatureKeyB64: string): GroupRole {
  if (roles.hosts.includes(signatureKeyB64)) return 'host';
  if (roles.cohosts.includes(signatureKeyB64)) return 'cohost';
  return 'participant';
}
