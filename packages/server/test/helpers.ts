import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, loadConfig, type Logger, type ServerConfig } from '../src/index.js';

/** A fresh directory under the OS temp dir; `remove()` deletes it. */
export function tempDir(prefix = 'conclave-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Config for tests: ephemeral port on loopback, the given data dir, quiet logs. */
export function testConfig(dataDir: string, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return { ...loadConfig(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {}), ...overrides };
}

/** A logger that keeps every line in memory (all levels), for assertions on what was logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'trace', destination }), lines };
}

/** A controllable clock in milliseconds. */
export function fakeClock(start = Date.UTC(2030, 0, 1)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
