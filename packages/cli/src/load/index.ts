// `conclave load` as a library: bench/join.bench.ts runs the same scenarios (@conclave/cli/load).
export { parseLoadArgs, type LoadOptions } from './args.js';
export { runLoad } from './coordinator.js';
export { formatSummary, type LoadReport } from './report.js';
