/**
 * SFrame test-vector runner.
 *
 *   tsx packages/cli/src/vectors-sframe.ts FILE      (or: npm run -s vectors:sframe -- FILE)
 *
 * Prints one line per failing vector, then exactly `N passed, M failed`.
 * Exit status: 0 all passed, 1 at least one failure, 2 unreadable file / not JSON / bad usage.
 */
import { readFile } from 'node:fs/promises';
import { VectorFileError, runSFrameVectors } from '@conclave/crypto';

async function main(argv: string[]): Promise<number> {
  const file = argv[0];
  if (file === undefined || argv.length !== 1) {
    process.stderr.write('usage: vectors-sframe FILE   (RFC 9605 test vectors as JSON)\n');
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    process.stderr.write(`error: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  let report;
  try {
    report = await runSFrameVectors(text);
  } catch (e) {
    if (e instanceof VectorFileError) {
      process.stderr.write(`error: ${file}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const out = [...report.failures, `${report.passed} passed, ${report.failed} failed`];
  process.stdout.write(out.join('\n') + '\n');
  return report.failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);
