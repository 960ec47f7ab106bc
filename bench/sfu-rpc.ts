// Tiny request/response RPC over a forked child's IPC channel, for the SFU bench's helper
// processes (bot farm, bare werift forwarder). Children run TypeScript through tsx.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}
interface Call {
  id: number;
  method: string;
  args: unknown[];
}

function isReply(m: unknown): m is Reply {
  return typeof m === 'object' && m !== null && 'id' in m && 'ok' in m;
}
function isCall(m: unknown): m is Call {
  return typeof m === 'object' && m !== null && 'method' in m && 'args' in m && Array.isArray(m.args);
}

const tsxLoader = (): string => `file://${createRequire(import.meta.url).resolve('tsx')}`;

/** Parent side: a forked helper process answering calls. */
export class ChildRpc extends EventEmitter {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(entry: string) {
    super();
    this.child = fork(entry, [], {
      execArgv: ['--import', tsxLoader()],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: unknown) => {
      if (!isReply(m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'call failed'));
    });
    this.child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('helper process exited'));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The caller states the result type: helpers are ours and return what their handler says. */
  call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject });
      this.child.send({ id, method, args } satisfies Call);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

export type Handler = (...args: unknown[]) => unknown;

/** Child side: answer the parent's calls with these handlers. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (m: unknown) => {
    if (!isCall(m)) return;
    const handler = handlers[m.method];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`no method ${m.method}`);
        return handler(...m.args);
      })
      .then(
        (value) => process.send?.({ id: m.id, ok: true, value } satisfies Reply),
        (err: unknown) => process.send?.({ id: m.id, ok: false, error: String(err) } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

export const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new TypeError('expected a string');
  return v;
};
export const num = (v: unknown): number => {
  if (typeof v !== 'number') throw new TypeError('expected a number');
  return v;
};
