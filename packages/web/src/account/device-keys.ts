import { ConclaveError, type AccountApi } from '@conclave/client';
import { MlsDevice } from '@conclave/crypto';

/**
 * This browser's long-term MLS device for an account: an Ed25519 signature key pair and a
 * device id, kept in IndexedDB per user id and registered on the account (`POST /api/devices`)
 * so that other members' key directory check can show "Verified account".
 *
 * The private key never leaves this browser: only the public key is sent. It is stored as raw
 * bytes because ts-mls signs with raw key bytes (a non-extractable WebCrypto key is not
 * possible); IndexedDB is the origin's own storage, out of reach of other sites, and the
 * origin's scripts could use the key whenever the page runs anyway.
 */
export interface StoredDevice {
  userId: string;
  deviceId: string;
  signKey: Uint8Array;
  publicKey: Uint8Array;
  createdAt: string;
}

const DB_NAME = 'conclave';
const DB_VERSION = 1;
const STORE = 'account-devices';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) {
        req.result.createObjectStore(STORE, { keyPath: 'userId' });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

async function withStore<T>(
  mode: IDBTransactionMode,
  fn: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

function isStoredDevice(v: unknown): v is StoredDevice {
  const d = v as Partial<StoredDevice> | undefined;
  return (
    typeof d?.userId === 'string' &&
    typeof d.deviceId === 'string' &&
    d.signKey instanceof Uint8Array &&
    d.publicKey instanceof Uint8Array
  );
}

/** The stored device of `userId` in this browser, or undefined. */
export async function loadDevice(userId: string): Promise<StoredDevice | undefined> {
  const v = await withStore<unknown>('readonly', (s) => s.get(userId));
  return isStoredDevice(v) ? v : undefined;
}

async function saveDevice(d: StoredDevice): Promise<void> {
  await withStore('readwrite', (s) => s.put(d));
}

/** A fresh device id (the protocol's id format: 4–64 of A-Z a-z 0-9 _ -). */
function newDeviceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function newDevice(userId: string): Promise<StoredDevice> {
  const deviceId = newDeviceId();
  // MlsDevice.create makes the key pair (the suite's Ed25519); the identity here is a placeholder.
  const { signatureKeys } = await MlsDevice.create({ kind: 'user', userId, deviceId, displayName: 'device' });
  return {
    userId,
    deviceId,
    signKey: signatureKeys.signKey,
    publicKey: signatureKeys.publicKey,
    createdAt: new Date().toISOString(),
  };
}

export interface AccountDevice {
  device: MlsDevice;
  deviceId: string;
  /** False when IndexedDB was unavailable: the key lives for this page only. */
  persistent: boolean;
}

/**
 * The MLS device to join a meeting as `userId` with `displayName` (the name of the credential):
 * the stored key pair, created on first use, and registered on the account every time (the
 * server answers 200 when it knows the key already, and this repairs a deleted registration).
 * `device_key_conflict` (the id is registered with another key, e.g. storage was cleared and a
 * stale id reused) → a new device id for the same key.
 */
export async function accountDevice(
  api: Pick<AccountApi, 'registerDevice'>,
  userId: string,
  displayName: string,
): Promise<AccountDevice> {
  let persistent = true;
  let stored: StoredDevice | undefined;
  try {
    stored = await loadDevice(userId);
  } catch (e) {
    persistent = false;
    console.warn(`conclave: device key storage unavailable, using a key for this page only: ${String(e)}`);
  }
  if (!stored) {
    stored = await newDevice(userId);
    if (persistent) await saveDevice(stored).catch(() => (persistent = false));
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await api.registerDevice(stored.deviceId, stored.publicKey);
      break;
    } catch (e) {
      if (!(e instanceof ConclaveError && e.code === 'device_key_conflict') || attempt >= 2) throw e;
      stored = { ...stored, deviceId: newDeviceId() };
      if (persistent) await saveDevice(stored).catch(() => (persistent = false));
    }
  }
  const device = await MlsDevice.create(
    { kind: 'user', userId, deviceId: stored.deviceId, displayName },
    { signatureKeys: { signKey: stored.signKey, publicKey: stored.publicKey } },
  );
  return { device, deviceId: stored.deviceId, persistent };
}

/** A device for `userId` with a new key that is neither stored nor registered (test switch `unregisteredDevice`). */
export async function unregisteredDevice(userId: string, displayName: string): Promise<AccountDevice> {
  const deviceId = newDeviceId();
  const device = await MlsDevice.create({ kind: 'user', userId, deviceId, displayName });
  return { device, deviceId, persistent: false };
}
