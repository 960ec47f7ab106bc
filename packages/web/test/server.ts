import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '@conclave/testing';
import type { Browser } from 'playwright-core';
import { promisify } from 'node:util';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const WEB = join(REPO, 'packages/web');
/** The built app (`vite build`), as `conclave serve` serves it. */
export const DIST = join(WEB, 'dist');
const DIST_INDEX = join(DIST, 'index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds the web app when `dist/` is missing or older than its sources (about 5 s), so the
 * tests always run the current code, served by the real server as users get it. The sources
 * include the packages the app bundles (the SDK with its browser media and E2EE worker, crypto,
 * protocol).
 */
export function ensureWebBuild(): void {
  const bundled = ['client', 'crypto', 'protocol'].map((pkg) => newestMtime(join(WEB, '..', pkg, 'src')));
  const sources = Math.max(
    newestMtime(join(WEB, 'src')),
    ...bundled,
    statSync(join(WEB, 'index.html')).mtimeMs,
  );
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs >= sources) return;
  const r = spawnSync('npx', ['--no-install', 'vite', 'build', '--logLevel', 'warn'], {
    cwd: WEB,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface SpawnedServer {
  url: string;
  /** The server's temporary data directory (for `conclave admin … --data-dir`). */
  dataDir: string;
  /** Everything the server printed (for failure messages). */
  output(): string;
  /** SIGTERM to the server's pid (SIGKILL after 5 s), then removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Runs `conclave serve --port 0` (HTTP API, signaling, SFU, and the built web app) with a
 * temporary data directory, and reads its address from "Conclave listening on URL".
 */
async function startConclaveServer(extraArgs: string[] = []): Promise<SpawnedServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-web-'));
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'packages/cli/bin/conclave.mjs'),
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--sfu-workers',
      '1',
      ...extraArgs,
    ],
    {
      cwd: REPO,
      env: { ...process.env, CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`conclave serve did not start within 30 s:\n${out}`)),
        30_000,
      );
      child.stdout.on('data', () => {
        const m = /Conclave listening on (https?:\/\/\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`conclave serve exited (${code}):\n${out}`));
      });
    });
    let stopping: Promise<void> | undefined;
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const pid = child.pid;
        process.kill(pid, 'SIGTERM');
        const force = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
        }, 5000);
        await exited;
        clearTimeout(force);
      }
      await rm(dataDir, { recursive: true, force: true });
    };
    return { url, dataDir, output: () => out, stop: () => (stopping ??= stop()) };
  } catch (e) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** `conclave admin ARGS…` on the server's data directory (it may run while the server runs); its output. */
export async function conclaveAdmin(server: SpawnedServer, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(REPO, 'packages/cli/bin/conclave.mjs'), 'admin', ...args, '--data-dir', server.dataDir],
      { cwd: REPO, encoding: 'utf8' },
    );
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `conclave admin ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
      { cause: e },
    );
  }
}

/** `conclave admin plan EMAIL PLAN` on the server's data directory (it may run while the server runs). */
export async function adminPlan(server: SpawnedServer, email: string, plan: 'free' | 'paid'): Promise<void> {
  await conclaveAdmin(server, 'plan', email, plan);
}

/**
 * Builds the app if needed, then starts `conclave serve` and Chromium together. When either
 * fails to start, the other is stopped again before the error is thrown, so nothing is left
 * running for afterAll to miss. `browserArgs`: more Chromium switches.
 */
export async function startServerAndBrowser(
  serverArgs: string[] = [],
  browserArgs: string[] = [],
): Promise<{ server: SpawnedServer; browser: Browser }> {
  ensureWebBuild();
  const [s, b] = await Promise.allSettled([startConclaveServer(serverArgs), launchChromium(browserArgs)]);
  if (s.status === 'fulfilled' && b.status === 'fulfilled') return { server: s.value, browser: b.value };
  if (s.status === 'fulfilled') await s.value.stop();
  if (b.status === 'fulfilled') await b.value.close().catch(() => undefined);
  throw s.status === 'rejected' ? s.reason : (b as PromiseRejectedResult).reason;
}
