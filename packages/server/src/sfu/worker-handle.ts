import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ops,
  workerMessageSchema,
  type ArgsOf,
  type Op,
  type ResultOf,
  type WorkerConfig,
  type WorkerMessage,
} from './ipc.js';

/** The worker entry, a .ts file next to this one: run by tsx, as the rest of the server is. */
const WORKER_ENTRY = fileURLToPath(new URL('./worker/main.ts', import.meta.url));

/**
 * tsx's loader as an absolute file URL, so the child finds it whatever its working directory.
 * The parent itself may run under tsx, vitest or plain node with --import tsx: only the resolved
 * path matters, never how the parent was started (the child gets exactly this execArgv).
 */
function tsxLoader(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve('tsx')).href;
}

/** How long a request may take before the worker is considered stuck. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Pending {
  op: Op;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export type WorkerEvent = Exclude<WorkerMessage, { type: 'result' } | { type: 'ready' }>;

export interface WorkerHandleEvents {
  event: [msg: WorkerEvent];
  invalid: [issue: string];
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

/**
 * One SFU worker process: request/response over IPC with ids, every received message validated.
 * `ready` resolves once the worker loaded and accepted its configuration.
 */
export class WorkerHandle extends EventEmitter<WorkerHandleEvents> {
  readonly ready: Promise<void>;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitedFlag = false;

  constructor(readonly config: WorkerConfig) {
    super();
    this.child = fork(WORKER_ENTRY, [], {
      // CONCLAVE_SFU_CPU_PROF=DIR: the worker writes a V8 CPU profile there when it exits (a
      // diagnostic for benchmarks, as CONCLAVE_LOAD_CPU_PROF is for the load tool's bots).
      execArgv: [
        '--import',
        tsxLoader(),
        ...(process.env.CONCLAVE_SFU_CPU_PROF
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CONCLAVE_SFU_CPU_PROF}`]
          : []),
      ],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let onReady: () => void = () => undefined;
    let onFail: (err: Error) => void = () => undefined;
    const loaded = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.child.on('message', (raw: unknown) => {
      const parsed = workerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        this.emit('invalid', parsed.error.issues[0]?.message ?? 'invalid message');
        return;
      }
      const msg = parsed.data;
      if (msg.type === 'ready') onReady();
      else if (msg.type === 'result') this.settle(msg.id, msg.ok, msg.value, msg.error);
      else this.emit('event', msg);
    });
    this.child.on('error', (err) => onFail(err));
    this.child.on('exit', (code, signal) => {
      this.exitedFlag = true;
      onFail(new Error(`SFU worker exited before it was ready (code ${code}, signal ${signal})`));
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`SFU worker ${config.worker} exited during ${p.op}`));
        this.pending.delete(id);
      }
      this.emit('exit', code, signal);
    });
    this.ready = loaded.then(() => this.call('init', { config })).then(() => undefined);
    // Failures surface through `exit`; keep an unobserved `ready` from becoming an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  /** One op of the IPC table (ipc.ts, `ops`); its result is checked against the op's result schema. */
  call<O extends Op>(op: O, args: ArgsOf<O>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ResultOf<O>> {
    if (this.exitedFlag || !this.child.connected)
      return Promise.reject(new Error(`SFU worker ${this.config.worker} is not running`));
    const id = this.nextId++;
    return new Promise<ResultOf<O>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`SFU worker ${this.config.worker}: ${op} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        op,
        // settle() checked the value against ops[op].result, so it is a ResultOf<O>.
        resolve: (value) => resolve(value as ResultOf<O>),
        reject,
        timer,
      });
      this.child.send({ id, op, args }, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(err);
      });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exitedFlag) this.child.kill(signal);
  }

  /** Resolves when the process has exited (at once if it already has). */
  waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exitedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private settle(id: number, ok: boolean, value: unknown, error: string | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!ok) {
      p.reject(new Error(error ?? `${p.op} failed`));
      return;
    }
    const checked = ops[p.op].result.safeParse(value);
    if (checked.success) p.resolve(checked.data);
    else p.reject(new Error(`SFU worker sent a malformed ${p.op} result`));
  }
}
