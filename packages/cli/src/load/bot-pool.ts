import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { botMessageSchema, loadOps, type LoadArgs, type LoadOp, type LoadResult } from './ipc.js';

/** The bot process entry, a .ts file next to this one, run by tsx like the rest of the CLI. */
const BOT_ENTRY = fileURLToPath(new URL('./bot-process.ts', import.meta.url));

/** tsx's loader as a file URL, so the child finds it from any working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

interface Pending {
  op: LoadOp;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One bot process and the requests in flight to it. */
export class BotProcessHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: string | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly index: number,
    private readonly child: ChildProcess,
    warn: (line: string) => void,
  ) {
    let ready: () => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    child.on('message', (raw: unknown) => {
      const parsed = botMessageSchema.safeParse(raw);
      if (!parsed.success) {
        warn(`bot process ${index}: ignored a malformed message`);
        return;
      }
      const m = parsed.data;
      if (m.type === 'ready') return ready();
      if (m.type === 'warning') return warn(`bot process ${index}: ${m.text}`);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!m.ok) return p.reject(new Error(m.error));
      const result = loadOps[p.op].result.safeParse(m.result);
      if (result.success) p.resolve(result.data);
      else p.reject(new Error(`bot process ${index}: malformed ${p.op} result: ${result.error.message}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `bot process ${index} (pid ${child.pid}) exited (${signal ?? code})`;
      const err = new Error(this.exited);
      failed(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  call<O extends LoadOp>(op: O, args: LoadArgs<O>): Promise<LoadResult<O>> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, args }, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Ends the process by its pid (SIGKILL after `graceMs` if it has not exited). */
  async kill(graceMs: number): Promise<void> {
    if (!this.alive || this.child.pid === undefined) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Resolves once the process has exited (at once if it has). */
  exitedPromise(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((r) => this.child.once('exit', () => r()));
  }
}

/**
 * The bot processes of one run. Each is forked with an IPC channel; a bot process exits when
 * that channel closes, and `close` (also run on the coordinator's exit) ends any still running,
 * by pid, so none outlives the coordinator.
 */
export class BotPool {
  readonly processes: BotProcessHandle[] = [];
  private readonly onExit = () => {
    for (const p of this.processes) if (p.alive && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
  };

  private constructor() {
    process.once('exit', this.onExit);
  }

  static async start(count: number, warn: (line: string) => void): Promise<BotPool> {
    const pool = new BotPool();
    try {
      for (let i = 0; i < count; i++) {
        const child = fork(BOT_ENTRY, [], {
          execArgv: [
            '--import',
            tsxLoader(),
            // CONCLAVE_LOAD_CPU_PROF=DIR: each bot process writes a V8 CPU profile there at exit.
            ...(process.env.CONCLAVE_LOAD_CPU_PROF
              ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CONCLAVE_LOAD_CPU_PROF}`]
              : []),
          ],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          env: { ...process.env, CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_LOG_LEVEL ?? 'error' },
        });
        pool.processes.push(new BotProcessHandle(i, child, warn));
      }
      await Promise.all(pool.processes.map((p) => p.ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get pids(): number[] {
    return this.processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** Asks every process to stop its bots and exit; kills those that do not within `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    await Promise.all(
      this.processes.map(async (p) => {
        if (!p.alive) return;
        const stopped = p.call('stop', {}).catch(() => undefined);
        const timeout = new Promise((r) => setTimeout(r, graceMs));
        await Promise.race([stopped.then(() => p.exitedPromise()), timeout]);
        await p.kill(2_000);
      }),
    );
    process.removeListener('exit', this.onExit);
  }
}
