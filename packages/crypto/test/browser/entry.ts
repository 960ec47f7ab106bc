// Bundled by esbuild and loaded in headless Chromium: runs the crypto package's own code
// (SFrame vectors, an MLS meeting with SFrame media keys) with the browser's WebCrypto.
import { MediaKeys, MlsDevice, MlsSession, runSFrameVectors, toBase64, toHex } from '../../src/index.js';

async function mlsScenario(): Promise<{
  codes: string[];
  baseKeys: string[];
  decrypted: number;
  removedFailed: boolean;
  epochs: string[];
}> {
  const names = ['alice', 'bob', 'carol'];
  const devices = await Promise.all(
    names.map((n) => MlsDevice.create({ kind: 'guest', deviceId: `browser-${n}`, displayName: n })),
  );
  // The first member is the group's host (roles extension): it may commit removals.
  const host = await MlsSession.create(devices[0]!, {
    groupId: new TextEncoder().encode('browser-meeting'),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  const p = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(p);
  const sessions = [
    host,
    ...(await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, p.welcome!)))),
  ];
  const keys = sessions.map(() => new MediaKeys());
  const sync = async () => {
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i]!;
      if (s.active) keys[i]!.setEpoch(s.epoch, await s.sframeBaseKey(keys[i]!.nk), s.ownLeafIndex);
    }
  };
  await sync();
  let decrypted = 0;
  const frame = new Uint8Array(300).map((_, i) => i & 0xff);
  frame[0] = 0x01; // VP8 delta frame
  for (let i = 0; i < 3; i++) {
    const f = await keys[i]!.protect('camera', 'vp8', frame);
    for (let j = 0; j < 3; j++) {
      if (j === i) continue;
      const out = await keys[j]!.unprotect('vp8', f);
      if (toHex(out.frame) === toHex(frame)) decrypted++;
    }
  }
  const codes = await Promise.all(sessions.map((s) => s.securityCode()));
  const baseKeys = await Promise.all(sessions.map(async (s) => toHex(await s.sframeBaseKey(16))));
  // remove carol: she must not decrypt alice's next frame
  const removal = await host.prepareCommit({ remove: [sessions[2]!.ownLeafIndex] });
  host.applyCommit(removal);
  await sessions[1]!.processHandshake(removal.commit);
  await sessions[2]!.processHandshake(removal.commit);
  await sync();
  const after = await keys[0]!.protect('camera', 'vp8', frame);
  await keys[1]!.unprotect('vp8', after);
  const removedFailed = await keys[2]!.unprotect('vp8', after).then(
    () => false,
    () => true,
  );
  return {
    codes,
    baseKeys,
    decrypted,
    removedFailed,
    epochs: sessions.filter((s) => s.active).map((s) => String(s.epoch)),
  };
}

declare global {
  interface Window {
    conclaveCrypto: {
      runVectors(text: string): Promise<{ passed: number; failed: number; failures: string[] }>;
      mlsScenario: typeof mlsScenario;
    };
  }
}

window.conclaveCrypto = { runVectors: runSFrameVectors, mlsScenario };
document.title = 'ready';
