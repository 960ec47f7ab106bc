import serverPackage from '../package.json' with { type: 'json' };

/** The server's version, from packages/server/package.json (shown by /healthz). */
export const SERVER_VERSION: string = serverPackage.version;
