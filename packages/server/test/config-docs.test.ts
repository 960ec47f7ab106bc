import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, shownDefault } from '../src/config.js';

// docs/architecture.md ("Configuration") shows the settings table; this keeps it equal to
// SETTINGS in packages/server/src/config.ts. On a mismatch the failure prints the table to paste
// (then run `npx prettier --write docs/architecture.md`).

const DOCS = new URL('../../../docs/architecture.md', import.meta.url);
const MARKER =
  '<!-- settings table: packages/server/src/config.ts SETTINGS, checked by config-docs.test.ts -->';

const code = (s: string) => `\`${s}\``;

/** The rows the docs must show, one per setting, in the table's order. */
function expectedRows(): string[][] {
  return (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).map((k) => {
    const s = SETTINGS[k];
    return [code(k), code(`--${s.flag}`), code(s.env), code(shownDefault(k)), s.description];
  });
}

const HEADER = ['setting', 'flag', 'environment variable', 'default', 'what it sets'];

function markdown(rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The cells of the table after the marker (whitespace from alignment trimmed). */
function docsTable(): string[][] {
  const text = readFileSync(DOCS, 'utf8');
  const at = text.indexOf(MARKER);
  if (at < 0) throw new Error(`docs/architecture.md lacks the marker ${MARKER}`);
  const lines = text
    .slice(at + MARKER.length)
    .trimStart()
    .split('\n');
  const table: string[][] = [];
  for (const l of lines) {
    if (!l.startsWith('|')) break;
    table.push(
      l
        .slice(1, l.trimEnd().length - 1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return table;
}

describe('the settings table in docs/architecture.md', () => {
  it('lists every setting with its flag, variable, default and description, as SETTINGS defines them', () => {
    const [header, separator, ...rows] = docsTable();
    expect(header).toEqual(HEADER);
    expect(separator?.every((c) => /^:?-+:?$/.test(c))).toBe(true);
    expect(rows, `docs/architecture.md should have this table:\n\n${markdown(expectedRows())}\n`).toEqual(
      expectedRows(),
    );
  });
});
