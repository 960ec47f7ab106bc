import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** `packages/web/dist` of this repository (the Vite build of the browser app). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Conclave</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Conclave</h1>
<p>The server is running, but the web app is not built.</p>
<p>Build it with <code>npm run build -w @conclave/web</code> and restart the server.
The API is at <code>/api</code>, the health check at <code>/healthz</code>.</p>
</body>
</html>
`;

/** Paths the app routes on the client: meeting links, the account pages, reports and the moderation console. */
const APP_PAGES = ['/m/*', '/signin', '/signup', '/account', '/account/*', '/report/*', '/admin', '/admin/*'];

/**
 * The browser app, registered at the root: when `root` holds a build, its files as they are
 * (`@fastify/static`, whose `reply.sendFile` stays inside this plugin) and `index.html` for
 * every client-side route (APP_PAGES). Without a build (`root` null or not built), `/` and those
 * paths answer with a short page that says so (no inline style: the CSP allows none). Every
 * answer of this plugin carries `csp` (security-headers.ts, pageCsp), the E2EE worker's script
 * included: a worker runs under the policy its script came with.
 */
export const webApp: FastifyPluginAsync<{ root: string | null; csp: string }> = async (
  app,
  { root, csp },
) => {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', csp);
  });
  if (root && existsSync(`${root}/index.html`)) {
    await app.register(fastifyStatic, { root, wildcard: true, index: 'index.html' });
    for (const path of APP_PAGES) app.get(path, (_req, reply) => reply.sendFile('index.html'));
    return;
  }
  const notBuilt = (_req: unknown, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
  app.get('/', notBuilt);
  for (const path of APP_PAGES) app.get(path, notBuilt);
};
