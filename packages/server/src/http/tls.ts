import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError, type ServerConfig } from '../config.js';
import type { LogSink } from '../logger.js';

/**
 * HTTPS mode: with `tlsCert` and `tlsKey` set, `conclave serve` speaks HTTPS (and WSS on the
 * same port) through Node's https server, and nothing else on that port. The files are PEM as
 * certbot and most CAs write them (the certificate chain, the private key); they are read at
 * start and again whenever they change (checked once a minute), so a renewed certificate is
 * used without a restart. A renewal caught half-written (a new certificate with the old key)
 * fails to load and is logged; the one in use stays until the files load together.
 */

/** The certificate and key as Node's TLS options take them. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** The scheme the server itself speaks: https when it has a certificate. */
export function ownScheme(config: Pick<ServerConfig, 'tlsCert'>): 'http' | 'https' {
  return config.tlsCert === undefined ? 'http' : 'https';
}

/**
 * Whether browsers reach the server over HTTPS: it serves TLS itself, or its public URL is
 * https (TLS ends at a reverse proxy in front). Then cookies are `Secure` with `__Host-` names
 * and answers carry HSTS.
 */
export function reachedOverHttps(config: Pick<ServerConfig, 'tlsCert' | 'publicUrl'>): boolean {
  return ownScheme(config) === 'https' || (config.publicUrl?.startsWith('https:') ?? false);
}

/**
 * Reads and checks the certificate and key (a `ConfigError` naming the file when one cannot be
 * read, or when they are no valid PEM certificate and matching key); `undefined` in HTTP mode.
 */
export function readTlsFiles(config: Pick<ServerConfig, 'tlsCert' | 'tlsKey'>): TlsFiles | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const read = (setting: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(
        `Invalid setting ${setting} (${file}): cannot read it: ${(err as Error).message}`,
      );
    }
  };
  const files = { cert: read('tlsCert', config.tlsCert), key: read('tlsKey', config.tlsKey) };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new ConfigError(
      `Invalid setting tlsCert/tlsKey (${config.tlsCert}, ${config.tlsKey}): not a PEM certificate and its private key: ${(err as Error).message}`,
    );
  }
  return files;
}

/** How often the files are checked for a renewal. */
const CHECK_INTERVAL_MS = 60_000;

/**
 * Loads the certificate and key into `server` again whenever either file changes (size or
 * modification time). Returns the function that stops watching.
 */
export function reloadOnChange(
  server: HttpsServer,
  config: Pick<ServerConfig, 'tlsCert' | 'tlsKey'>,
  logger: LogSink,
  intervalMs = CHECK_INTERVAL_MS,
): () => void {
  const { tlsCert, tlsKey } = config;
  if (tlsCert === undefined || tlsKey === undefined) return () => undefined;
  const stamp = (): string => {
    try {
      return [tlsCert, tlsKey]
        .map((f) => {
          const s = statSync(f);
          return `${s.size}:${s.mtimeMs}`;
        })
        .join('|');
    } catch {
      return 'unreadable';
    }
  };
  let loaded = stamp();
  /** The last stamp that failed to load, so a broken renewal is logged once, not every minute. */
  let failed: string | undefined;
  const timer = setInterval(() => {
    const now = stamp();
    if (now === loaded || now === failed) return;
    try {
      const files = readTlsFiles(config);
      if (files) server.setSecureContext(files);
      loaded = now;
      failed = undefined;
      logger.info({ cert: tlsCert }, 'TLS certificate reloaded');
    } catch (err) {
      failed = now;
      logger.warn({ err }, 'TLS certificate changed but does not load; still serving the previous one');
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
