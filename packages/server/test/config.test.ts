import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_HELP, ConfigError, loadConfig } from '../src/index.js';
import { SETTINGS, SETTING_GROUPS, shownDefault } from '../src/config.js';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const c = loadConfig([], {});
    expect(c).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: resolve('data'),
      publicUrl: undefined,
      mediaAddress: '127.0.0.1',
      mediaPorts: { min: 40000, max: 40999 },
      sfuWorkers: Math.min(2, availableParallelism()),
      rekeySeconds: 300,
      logLevel: 'info',
      trustProxy: false,
      maxSocketsPerAddress: 64,
      maxSocketsPerNetwork: 256,
      joinsPerMinutePerAddress: 60,
      joinsPerMinutePerNetwork: 240,
      maxWaiting: 100,
      maxWaitingPerNetwork: 20,
      maxSendBufferBytes: 4 * 1024 * 1024,
      resumeSeconds: 120,
      passcodeFailuresPerNetwork: 5,
      passcodeFailuresPerMeeting: 30,
      reportsPerAccountPerDay: 10,
      reportsPerNetworkPerDay: 5,
      maxOpenReportsPerAccount: 20,
      reportEvidenceDays: 90,
    });
  });

  it('reads every limit from its flag and its environment variable, and names the setting when one is out of range', () => {
    const fromFlags = loadConfig(['--max-sockets-per-address', '3', '--max-waiting-per-network', '2'], {});
    expect(fromFlags).toMatchObject({ maxSocketsPerAddress: 3, maxWaitingPerNetwork: 2 });
    const fromEnv = loadConfig([], {
      CONCLAVE_RESUME_SECONDS: '30',
      CONCLAVE_MAX_SEND_BUFFER_BYTES: '100000',
    });
    expect(fromEnv).toMatchObject({ resumeSeconds: 30, maxSendBufferBytes: 100000 });
    expect(() => loadConfig(['--max-send-buffer-bytes', '10'], {})).toThrow(
      /maxSendBufferBytes \(--max-send-buffer-bytes="10"\): must be an integer from 65536/,
    );
    expect(() => loadConfig([], { CONCLAVE_JOINS_PER_MINUTE_PER_NETWORK: 'many' })).toThrow(
      /joinsPerMinutePerNetwork \(CONCLAVE_JOINS_PER_MINUTE_PER_NETWORK="many"\)/,
    );
  });

  it('reads the environment', () => {
    const c = loadConfig([], {
      CONCLAVE_PORT: '9000',
      CONCLAVE_HOST: '0.0.0.0',
      CONCLAVE_DATA_DIR: '/var/lib/conclave',
      CONCLAVE_PUBLIC_URL: 'https://meet.example.org/',
      CONCLAVE_MEDIA_ADDRESS: '203.0.113.7',
      CONCLAVE_MEDIA_PORTS: '50000-50100',
      CONCLAVE_SFU_WORKERS: '4',
      CONCLAVE_REKEY_SECONDS: '60',
      CONCLAVE_LOG_LEVEL: 'DEBUG',
      CONCLAVE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8',
    });
    expect(c).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/var/lib/conclave',
      publicUrl: 'https://meet.example.org',
      mediaAddress: '203.0.113.7',
      mediaPorts: { min: 50000, max: 50100 },
      sfuWorkers: 4,
      rekeySeconds: 60,
      logLevel: 'debug',
      trustProxy: ['127.0.0.1', '10.0.0.0/8'],
    });
  });

  it('lets flags override the environment', () => {
    const c = loadConfig(
      [
        '--port',
        '0',
        '--host',
        '::1',
        '--data-dir',
        'x/y',
        '--public-url',
        'http://localhost:3000/conclave',
        '--trust-proxy',
        'true',
      ],
      { CONCLAVE_PORT: '9000', CONCLAVE_HOST: '0.0.0.0' },
    );
    expect(c.port).toBe(0);
    expect(c.host).toBe('::1');
    expect(c.dataDir).toBe(resolve('x/y'));
    expect(c.publicUrl).toBe('http://localhost:3000/conclave');
    expect(c.trustProxy).toBe(true);
  });

  it('accepts --flag=value and treats empty variables as unset', () => {
    const c = loadConfig(['--rekey-seconds=30'], { CONCLAVE_PORT: '', CONCLAVE_MEDIA_ADDRESS: '' });
    expect(c.rekeySeconds).toBe(30);
    expect(c.port).toBe(8080);
    expect(c.mediaAddress).toBe('127.0.0.1');
  });

  it.each([
    [['--port', 'abc'], {}, /Invalid setting port \(--port="abc"\): must be an integer from 0 to 65535/],
    [[], { CONCLAVE_PORT: '70000' }, /Invalid setting port \(CONCLAVE_PORT="70000"\)/],
    [[], { CONCLAVE_PORT: '-1' }, /setting port/],
    [['--port', '80.5'], {}, /setting port/],
    [['--media-ports', '40999-40000'], {}, /mediaPorts.*first port must not be greater/],
    [['--media-ports', '40000'], {}, /mediaPorts.*range like 40000-40999/],
    [['--media-ports', '0-10'], {}, /mediaPorts.*from 1 to 65535/],
    [['--media-address', 'example.org'], {}, /mediaAddress.*IPv4 or IPv6/],
    [['--public-url', 'meet.example.org'], {}, /publicUrl.*absolute URL/],
    [['--public-url', 'ftp://meet.example.org'], {}, /publicUrl.*http or https/],
    [['--public-url', 'https://meet.example.org/?a=1'], {}, /publicUrl.*query/],
    [['--sfu-workers', '0'], {}, /sfuWorkers.*from 1 to 256/],
    [['--rekey-seconds', '5'], {}, /rekeySeconds.*from 10 to 86400/],
    [
      [],
      { CONCLAVE_LOG_LEVEL: 'loud' },
      /logLevel \(CONCLAVE_LOG_LEVEL="loud"\): must be one of fatal, error/,
    ],
    [['--host', 'a b'], {}, /host.*host name or an IP/],
    [['--trust-proxy', 'nonsense'], {}, /trustProxy/],
    [['--data-dir', ''], {}, /dataDir.*must not be empty/],
  ] as const)('rejects %j %j', (argv, env, message) => {
    expect(() => loadConfig([...argv], env)).toThrow(ConfigError);
    expect(() => loadConfig([...argv], env)).toThrow(message);
  });

  it('rejects unknown flags and positional arguments', () => {
    expect(() => loadConfig(['--prot', '80'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--prot', '80'], {})).toThrow(/--prot/);
    expect(() => loadConfig(['serve'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--port'], {})).toThrow(ConfigError);
  });
});

describe('the settings table (SETTINGS) is the one definition', () => {
  const keys = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];

  it('names flags and variables by one rule: the key in kebab case, CONCLAVE_ and the flag in upper snake case', () => {
    for (const k of keys) {
      const { flag, env } = SETTINGS[k];
      expect(flag, k).toBe(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
      expect(env, k).toBe(`CONCLAVE_${flag.toUpperCase().replace(/-/g, '_')}`);
    }
  });

  it('gives ServerConfig one field per setting, each its default when nothing is set', () => {
    const c = loadConfig([], {});
    expect(Object.keys(c)).toEqual(keys);
    for (const k of keys) expect(c[k], k).toEqual(SETTINGS[k].fallback());
  });

  it('reads every setting from its flag and from its variable (a value that fails names the setting and its source)', () => {
    for (const k of keys) {
      const { flag, env } = SETTINGS[k];
      // Every schema refuses a blank value but trustProxy's (a blank is `false` there).
      const bad = k === 'trustProxy' ? 'nonsense' : ' ';
      expect(() => loadConfig([`--${flag}`, bad], {}), k).toThrow(
        `Invalid setting ${k} (--${flag}="${bad}")`,
      );
      expect(() => loadConfig([], { [env]: bad }), k).toThrow(`Invalid setting ${k} (${env}="${bad}")`);
    }
  });

  it('refuses a flag that is not in the table, as before', () => {
    expect(() => loadConfig(['--max-waitin', '3'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--max-waitin', '3'], {})).toThrow(/Unknown option '--max-waitin'/);
    expect(() => loadConfig(['--help'], {})).toThrow(ConfigError);
  });

  it('lists every setting in `conclave serve --help`: flag, variable, default and description', () => {
    const lines = CONFIG_HELP.split('\n');
    for (const k of keys) {
      const s = SETTINGS[k];
      const i = lines.findIndex((l) => l.trimStart().startsWith(`--${s.flag} `));
      expect(i, `--${s.flag} in the help`).toBeGreaterThanOrEqual(0);
      expect(lines[i]!.split(/\s{2,}/).filter(Boolean)).toEqual([
        `--${s.flag} ${s.arg}`,
        s.env,
        shownDefault(k),
      ]);
      expect(lines[i + 1]!.trim()).toBe(s.description);
    }
    // titles, and two lines per setting: nothing else
    expect(lines.filter((l) => !l.startsWith(' '))).toEqual(
      Object.values(SETTING_GROUPS).map(
        (t, i) => `${t}${i === 0 ? ' (flag, environment variable, default)' : ''}:`,
      ),
    );
    expect(lines).toHaveLength(keys.length * 2 + Object.keys(SETTING_GROUPS).length);
  });
});
