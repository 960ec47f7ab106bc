// Import rules between the workspace packages (docs/architecture.md, "Components"), checked by
// `npx depcruise packages bench` in the lint step of scripts/test.sh.
//
// Production code (packages/*/src) may import only these workspace packages besides itself:
const layers = {
  crypto: [],
  protocol: [],
  rtc: [],
  testing: [],
  client: ['crypto', 'protocol', 'rtc'],
  server: ['crypto', 'protocol', 'rtc'],
  web: ['client', 'crypto', 'protocol'],
  cli: ['client', 'crypto', 'protocol', 'rtc', 'server'],
};

const layerRules = Object.entries(layers).map(([pkg, allowed]) => ({
  name: `${pkg}-imports`,
  severity: 'error',
  comment:
    `packages/${pkg}/src may import ` +
    (allowed.length ? `only ${allowed.join(', ')} of our packages` : 'none of our packages'),
  from: { path: `^packages/${pkg}/src/` },
  to: {
    path: '^packages/',
    pathNot: [`^packages/${pkg}/`, ...allowed.map((other) => `^packages/${other}/src/`)],
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-relative-import-of-another-package',
      severity: 'error',
      comment:
        'Another package is imported by its name (@conclave/...), i.e. through its package.json exports, never by a relative path into its files.',
      from: {
        path: '^packages/([^/]+)/',
        // Exception: this test runs the `conclave admin` command in process against the
        // server's HTTP harness; the cli package has no library entry point.
        pathNot: '^packages/server/test/accounts/admin-cli[.]test[.]ts$',
      },
      to: {
        dependencyTypes: ['local'],
        dependencyTypesNot: ['aliased'],
        path: '^packages/',
        pathNot: '^packages/$1/',
      },
    },
    {
      name: 'no-relative-import-into-packages',
      severity: 'error',
      comment:
        'Code outside packages/ (bench/, root configs) imports a package by its name, never by a relative path.',
      from: {
        // Exceptions: the SFU bench's bare forward loops (bench/sfu-loop.ts, what they share) use
        // the SFU worker's own (internal) peer-connection settings; the policy bench drives the
        // worker's (internal) forwarding policy.
        pathNot: ['^packages/', '^bench/sfu-loop[.]ts$', '^bench/sfu-policy[.]bench[.]ts$'],
      },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], path: '^packages/' },
    },
    {
      name: 'ts-mls-through-the-adapter',
      severity: 'error',
      comment:
        'ts-mls (its index and its internal modules) is imported only by packages/crypto/src/mls/ts-mls.ts, the adapter whose pinned behaviours packages/crypto/test/ts-mls-adapter.test.ts checks. Tests may import ts-mls directly: the RFC 9420 vector tests run its primitives, and the attack tests build commits our API refuses to make.',
      from: { pathNot: ['^packages/crypto/src/mls/ts-mls[.]ts$', '^packages/[^/]+/test/'] },
      to: { path: '(^|/)node_modules/ts-mls/' },
    },
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'Production code never imports tests, test helpers or benchmarks.',
      from: { path: '^packages/[^/]+/src/' },
      to: { path: ['^packages/[^/]+/test/', '^bench/'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules stays in the graph as leaves (doNotFollow), so rules can name npm packages.
    exclude: { path: ['^packages/[^/]+/dist/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count too (for the layers and for cycles).
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
