import { useSyncExternalStore } from 'react';
import { parseModerationKeyFile, type ModerationKeyFile } from '@conclave/crypto';

/**
 * The moderators' private key file, once loaded on the console: in this tab's memory only (a
 * module variable — never localStorage, sessionStorage, IndexedDB or the server), so it is gone
 * when the tab closes or reloads, and "Forget the key" drops it at once.
 */
let current: ModerationKeyFile | undefined;
const listeners = new Set<() => void>();

function set(next: ModerationKeyFile | undefined): void {
  current?.privateKey.fill(0);
  current = next;
  for (const l of listeners) l();
}

/** Reads a key file the moderator picked. Throws EvidenceError('bad_key') when it is not one. */
export async function loadModerationKey(file: File): Promise<ModerationKeyFile> {
  if (file.size > 4096) throw new Error('this file is too large to be a moderation key file');
  const key = parseModerationKeyFile(await file.text());
  set(key);
  return key;
}

export function forgetModerationKey(): void {
  set(undefined);
}

export function useModerationKey(): ModerationKeyFile | undefined {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => current,
  );
}
