import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VECTORS = fileURLToPath(
  new URL('../../../test-vectors/sframe/rfc9605-test-vectors.json', import.meta.url),
);
const tmp = mkdtempSync(join(tmpdir(), 'sframe-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(file: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'packages/cli/src/vectors-sframe.ts', file],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        const status = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

function lastLine(s: string): string {
  return s.trimEnd().split('\n').at(-1) ?? '';
}

describe('vectors-sframe CLI', () => {
  it('passes the RFC vectors and prints the summary as its last line', async () => {
    const r = await cli(VECTORS);
    expect(r.status).toBe(0);
    expect(lastLine(r.stdout)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints each failure on its own line and exits 1 on a broken vector', async () => {
    // Break one sframe ciphertext byte and one header encoding in an otherwise valid file.
    const text = readFileSync(VECTORS, 'utf8')
      .replace('"encoded": "09ffff"', '"encoded": "09fffe"')
      .replace(/"ct": "9901234567449408/, '"ct": "9901234567449409');
    const file = join(tmp, 'broken.json');
    writeFileSync(file, text);
    const r = await cli(file);
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 2 failed$/);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^header\[\d+\]: /);
    expect(lines[1]).toMatch(/^sframe\[0\]: .*protect/);
  });

  it('exits 2 with a message on invalid JSON and on an unreadable file', async () => {
    const file = join(tmp, 'invalid.json');
    writeFileSync(file, '{"header": [');
    const bad = await cli(file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid JSON/);
    const missing = await cli(join(tmp, 'missing.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});
