// The bench's C addon (bench/native-srtp), built with node-gyp on first use: the native-SRTP
// spike's send (sfu-native-srtp.ts) and the native floors (sfu-floor.ts). Needs a C compiler and
// the running Node's headers (its prefix's include/node: no download).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  /** An SRTP (AEAD_AES_128_GCM) context for a session key of 16 bytes and a salt of 12. */
  context(key: Buffer, salt: Buffer): object;
  /** SRTP-protect one RTP packet and send it: bytes sent, -1 on error. */
  send(ctx: object, fd: number, ip: number, port: number, rtp: Buffer, roc: number): number;
  /** A non-blocking UDP socket bound to 127.0.0.1: its descriptor, -1 on error. */
  socket(): number;
  /** One sendmmsg of the packet to 127.0.0.1 at every port (each copy protected with ctx if given): copies sent. */
  fanout(fd: number, ports: Uint16Array, rtp: Buffer, ctx?: object): number;
}

export function loadNativeAddon(): NativeAddon {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'native-srtp');
  const built = join(dir, 'build', 'Release', 'srtp_send.node');
  if (!existsSync(built)) {
    const prefix = join(dirname(process.execPath), '..');
    const gyp = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${prefix}`], { cwd: dir, stdio: 'ignore' });
  }
  return createRequire(import.meta.url)(built) as NativeAddon;
}
