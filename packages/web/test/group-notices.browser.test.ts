import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, WebSocketRoute } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import {
  axeSerious,
  join,
  openPage,
  screenshot,
  signUp,
  sleep,
  until,
  view,
  type Participant,
} from './helpers.js';
import type { ConclaveTestView } from '../src/test-hooks.js';

type Frame = Record<string, unknown>;

/**
 * A page's signaling socket through Playwright's WebSocket routing: the page talks to the real
 * server; the test may rewrite what the server sends, send the page a frame of its own (a
 * server that lies about who sends which stream, or hands the page a commit it must refuse),
 * or hold back the next commit (and everything after it) for a while (a slow server).
 */
interface Signaling {
  inject(frame: Frame): void;
  rewrite: ((frame: Frame) => Frame) | undefined;
  /** The next `commit` frame and every frame after it reach the page this many ms late. */
  holdNextCommitMs: number | undefined;
}

async function routeSignaling(context: BrowserContext): Promise<Signaling> {
  let current: WebSocketRoute | undefined;
  const s: Signaling = {
    inject: (frame) => {
      if (!current) throw new Error('no signaling socket yet');
      current.send(JSON.stringify({ v: 1, ...frame }));
    },
    rewrite: undefined,
    holdNextCommitMs: undefined,
  };
  await context.routeWebSocket(/\/ws$/, (ws) => {
    current = ws;
    const server = ws.connectToServer();
    let held: (string | Buffer)[] | undefined;
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const frame = typeof m === 'string' ? (JSON.parse(m) as Frame) : undefined;
      const out = frame && s.rewrite ? JSON.stringify(s.rewrite(frame)) : m;
      if (held) return void held.push(out);
      const hold = s.holdNextCommitMs;
      if (hold !== undefined && frame?.type === 'commit') {
        s.holdNextCommitMs = undefined;
        held = [out];
        setTimeout(() => {
          const frames = held ?? [];
          held = undefined;
          for (const f of frames) ws.send(f);
        }, hold);
        return;
      }
      ws.send(out);
    });
  });
  return s;
}

const FINGERPRINT = /[0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}/;

const texts = (v: ConclaveTestView) => v.groupNotices.map((n) => n.text);

/**
 * The encryption group as the room shows it: a notice on every page for every add and remove
 * (names from the MLS group, "(you)" for the page's own commits, the credential of whoever was
 * added), the membership code (the same everywhere, unchanged by a rekey, changed by a join or
 * a leave), Admit buttons that name the credential, the loud warning while a page is out of
 * sync, and tiles labelled with the MLS sender whose key decrypts their frames — with a marker
 * when the server says the stream is someone else's.
 *
 * Alice hosts (an account with the paid plan) a meeting with a waiting room; Bob joins signed
 * in (a verified account), Carol as a guest whose signaling the test routes: the server's
 * stream descriptions she receives have Alice and Bob swapped.
 */
describe('encryption group notices, membership code and tile senders', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let alice: Participant;
  let bob: Participant;
  let carol: Participant;
  let aliceSignaling: Signaling;
  let bobSignaling: Signaling;
  let carolSignaling: Signaling;
  let joinUrl = '';
  const ids: Record<string, string> = {};
  let membershipCode = '';

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  const panel = async (p: Participant, name: 'Participants' | 'Security') => {
    const aside = p.page.getByRole('complementary', { name });
    if (!(await aside.isVisible()))
      await p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name: new RegExp(`^${name}`) })
        .click();
    await aside.waitFor();
    return aside;
  };

  /** Admits `name` from Alice's waiting room with the button that names the credential; returns its label. */
  const admit = async (name: string, credential: string, audit = false): Promise<string> => {
    const aside = await panel(alice, 'Participants');
    const button = aside.getByRole('button', {
      name: new RegExp(`^Admit ${name} \\(${credential} · ${FINGERPRINT.source}\\)$`),
    });
    await button.waitFor({ timeout: 10_000 });
    const label = (await button.textContent()) ?? '';
    if (audit) {
      expect(await axeSerious(alice.page)).toEqual([]);
      await screenshot(alice.page, 'group-admit-with-credential');
    }
    await button.click();
    return label;
  };

  it('every add is announced on every page in the group, with the credential; the Admit button names it', async () => {
    alice = await openPage(browser, 'Alice');
    bob = await openPage(browser, 'Bob');
    carol = await openPage(browser, 'Carol');
    aliceSignaling = await routeSignaling(alice.context);
    bobSignaling = await routeSignaling(bob.context);
    carolSignaling = await routeSignaling(carol.context);
    await Promise.all([
      (async () => {
        const email = 'alice@example.org';
        await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
        await adminPlan(server, email, 'paid');
      })(),
      signUp(bob, server.url, {
        email: 'bob@example.org',
        password: 'correct horse battery',
        displayName: 'Bob',
      }),
    ]);
    await alice.page.goto(server.url + '/');
    await alice.page.getByRole('checkbox', { name: /Waiting room/ }).check();
    await alice.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await alice.page.getByLabel('Host link').inputValue();
    joinUrl = await alice.page.getByLabel('Join link').inputValue();
    expect(await join(alice, hostUrl)).toBe('room');
    ids.Alice = (await until(alice, 'Alice in her group', (v) => v.e2eeActive)).participantId ?? '';
    expect((await view(alice)).membershipCode).toMatch(/^\d{4}( \d{4}){3}$/);

    // Bob (signed in: the key registered on his account) waits; the host's button says what joins.
    expect(await join(bob, joinUrl)).toBe('waiting');
    const bobLabel = await admit('Bob', 'verified account');
    await bob.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    ids.Bob =
      (await until(bob, 'Bob in the group', (v) => v.e2eeActive && v.roster.length === 2)).participantId ??
      '';
    await until(alice, 'the notice of her add', (v) =>
      texts(v).includes('Alice (you) added Bob (verified account)'),
    );
    // The roster shows the key Bob was added with: the one the Admit button named.
    const fp = FINGERPRINT.exec(bobLabel)?.[0] ?? '';
    await (
      await panel(alice, 'Participants')
    )
      .getByRole('list', { name: 'People in the meeting' })
      .locator('li.person', { hasText: 'Bob' })
      .getByText(fp)
      .waitFor();

    // Carol, a guest, with the server's stream labels for Alice and Bob swapped on her page.
    const [aliceId, bobId] = [ids.Alice ?? '', ids.Bob ?? ''];
    const swap: Record<string, string> = { [aliceId]: bobId, [bobId]: aliceId };
    carolSignaling.rewrite = (f) =>
      f.type === 'media_offer' && Array.isArray(f.streams)
        ? {
            ...f,
            streams: (f.streams as Frame[]).map((s) => ({
              ...s,
              participantId: swap[String(s.participantId)] ?? s.participantId,
            })),
          }
        : f;
    expect(await join(carol, joinUrl, { cameraOff: true })).toBe('waiting');
    await admit('Carol', 'guest', true);
    await carol.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    ids.Carol =
      (await until(carol, 'Carol in the group', (v) => v.e2eeActive && v.roster.length === 3))
        .participantId ?? '';

    // Alice's page or Bob's committed Carol's add: that page says "(you)", the other names it.
    const added = /^(Alice|Bob)( \(you\))? added Carol \(guest\)$/;
    const [a, b] = await Promise.all(
      [alice, bob].map((p) =>
        until(p, 'the notice of Carol’s add', (v) => texts(v).some((t) => added.test(t))),
      ),
    );
    const aliceSays = texts(a!).find((t) => added.test(t)) ?? '';
    const bobSays = texts(b!).find((t) => added.test(t)) ?? '';
    const committer = added.exec(aliceSays)?.[1];
    expect(added.exec(bobSays)?.[1]).toBe(committer);
    expect([aliceSays, bobSays]).toEqual(
      committer === 'Alice'
        ? ['Alice (you) added Carol (guest)', 'Alice added Carol (guest)']
        : ['Bob added Carol (guest)', 'Bob (you) added Carol (guest)'],
    );
    // Bob's page saw only the add after his own; the notice also shows briefly in the room.
    expect(texts(b!)).toEqual([bobSays]);
    await bob.page.getByTestId('group-toast').filter({ hasText: bobSays }).waitFor();
  });

  it('all pages show one membership code, next to the security code', async () => {
    const views = await Promise.all([alice, bob, carol].map(view));
    const codes = new Set(views.map((v) => v.membershipCode));
    expect(codes.size).toBe(1);
    membershipCode = views[0]?.membershipCode ?? '';
    expect(membershipCode).toMatch(/^\d{4}( \d{4}){3}$/);
    for (const p of [alice, bob, carol]) {
      const aside = await panel(p, 'Security');
      await expect(aside.getByTestId('membership-code').textContent()).resolves.toBe(membershipCode);
      await aside.getByTestId('security-code').waitFor();
      await aside.getByText(/changes only when someone joins or leaves the encryption group/).waitFor();
    }
    const list = (await panel(alice, 'Security')).getByRole('list', {
      name: 'Changes to the encryption group',
    });
    await list.getByText('Alice (you) added Bob (verified account)').waitFor();
    expect(await axeSerious(alice.page)).toEqual([]);
    await screenshot(alice.page, 'group-notices-security-panel');
  });

  it('tiles are labelled with the MLS sender of their frames, and say so when the server claims otherwise', async () => {
    // Honest server (Alice's and Bob's pages): each camera tile is labelled with its MLS sender.
    for (const [p, other] of [
      [alice, 'Bob'],
      [bob, 'Alice'],
    ] as const) {
      const v = await until(p, `${other}'s camera decrypted`, (x) =>
        x.streams.some((s) => s.source === 'camera' && s.flowing && s.senderName === other),
      );
      expect(v.streams.filter((s) => s.senderLeaf !== undefined).every((s) => !s.mismatch)).toBe(true);
      expect(v.streams.find((s) => s.source === 'camera' && s.senderName === other)?.claimedName).toBe(other);
      await p.page.locator(`li.tile[data-sender="mls"][data-tile-name="${other}"]`).waitFor();
      expect(await p.page.locator('li.tile[data-mismatch]').count()).toBe(0);
    }
    // Carol's page got the streams with Alice and Bob swapped: the frames' keys tell the truth.
    const v = await until(carol, 'both swapped cameras flagged', (x) =>
      ['Alice', 'Bob'].every((n) =>
        x.streams.some((s) => s.source === 'camera' && s.flowing && s.senderName === n && s.mismatch),
      ),
    );
    const cam = (pid: string) => v.streams.find((s) => s.source === 'camera' && s.participantId === pid);
    expect(cam(ids.Alice ?? '')).toMatchObject({ claimedName: 'Alice', senderName: 'Bob', mismatch: true });
    expect(cam(ids.Bob ?? '')).toMatchObject({ claimedName: 'Bob', senderName: 'Alice', mismatch: true });
    const bobsVideo = carol.page.locator('li.tile[data-mismatch][data-tile-name="Bob"]');
    await bobsVideo.getByText('Video is from Bob; the server says Alice', { exact: false }).waitFor();
    await carol.page
      .locator('li.tile[data-mismatch][data-tile-name="Alice"]')
      .getByText('Video is from Alice; the server says Bob', { exact: false })
      .waitFor();
  });

  it('a page that refuses a commit warns loudly and is never green, until the next commit brings it back', async () => {
    const before = await view(carol);
    // A commit the page cannot process (as a broken or malicious server might send).
    carolSignaling.inject({
      type: 'commit',
      epoch: before.epoch,
      commit: 'AAECAwQFBgcICQ==',
      from: ids.Alice,
    });
    await until(carol, 'out of sync', (v) => v.health === 'out_of_sync' && !v.e2eeActive);
    const alert = carol.page.getByRole('alert').filter({ hasText: 'out of sync' });
    await alert
      .getByText(
        'This device refused a change to the encryption group and is out of sync. Reconnecting to the group…',
        { exact: false },
      )
      .waitFor();
    const indicator = carol.page.locator('.e2ee-indicator');
    await expect(indicator.getAttribute('data-status')).resolves.toBe('alert');
    expect(await carol.page.getByRole('button', { name: 'End-to-end encrypted' }).count()).toBe(0);
    expect((await view(carol)).indicator).toBe('alert');
    expect(await axeSerious(carol.page)).toEqual([]);
    await screenshot(carol.page, 'group-out-of-sync-and-swapped-tiles');

    // A rekey without a membership change (the host makes Bob co-host: a roles commit): a new
    // security code everywhere, the same membership code, no add/remove notice, Carol back.
    const counts = await Promise.all([alice, bob].map(async (p) => (await view(p)).groupNotices.length));
    await (await panel(alice, 'Participants')).getByRole('button', { name: 'Make co-host Bob' }).click();
    const after = await Promise.all(
      [alice, bob, carol].map((p) =>
        until(
          p,
          'the next epoch',
          (v) => BigInt(v.epoch ?? '0') > BigInt(before.epoch ?? '0') && v.e2eeActive,
        ),
      ),
    );
    expect(new Set(after.map((v) => v.securityCode)).size).toBe(1);
    expect(after[0]?.securityCode).not.toBe(before.securityCode);
    expect(after.map((v) => v.membershipCode)).toEqual([membershipCode, membershipCode, membershipCode]);
    expect(after.slice(0, 2).map((v) => v.groupNotices.length)).toEqual(counts);
    expect(after[2]?.health).toBe('ok');
    await carol.page.getByRole('alert').filter({ hasText: 'out of sync' }).waitFor({ state: 'detached' });
    await expect(indicator.getAttribute('data-status')).resolves.toBe('active');
  });

  it('a leave is announced on every page and changes the membership code; a page that sees the leaver stay in the group warns', async () => {
    // The server's commit removing Carol reaches the page that did not commit it 4 s late:
    // for those seconds she is still in that page's group although she left.
    aliceSignaling.holdNextCommitMs = 4000;
    bobSignaling.holdNextCommitMs = 4000;
    await carol.page.getByRole('button', { name: 'Leave' }).click();
    await carol.page.getByRole('heading', { name: 'You left the meeting.' }).waitFor();
    let warned: Participant | undefined;
    for (const t0 = Date.now(); !warned && Date.now() - t0 < 8000; await sleep(200)) {
      for (const p of [alice, bob]) if ((await view(p)).health === 'departed_member_present') warned = p;
    }
    if (!warned) throw new Error('neither page warned that Carol is still in the encryption group');
    await warned.page
      .getByRole('alert')
      .getByText(
        'Someone who left is still in the encryption group and could still decrypt. Waiting for the group to remove them…',
      )
      .waitFor();
    await expect(warned.page.locator('.e2ee-indicator').getAttribute('data-status')).resolves.toBe('alert');
    expect(await warned.page.getByRole('button', { name: 'End-to-end encrypted' }).count()).toBe(0);
    expect((await view(warned)).e2eeActive).toBe(false);
    await screenshot(warned.page, 'group-departed-member-present');
    aliceSignaling.holdNextCommitMs = undefined;
    bobSignaling.holdNextCommitMs = undefined;

    const removed = /^(Alice|Bob)( \(you\))? removed Carol$/;
    const after = await Promise.all(
      [alice, bob].map((p) =>
        until(
          p,
          'the notice of Carol’s removal',
          (v) => texts(v).some((t) => removed.test(t)) && v.roster.length === 2 && v.e2eeActive,
        ),
      ),
    );
    const [a, b] = after.map((v) => texts(v).find((t) => removed.test(t)) ?? '');
    const committer = removed.exec(a ?? '')?.[1];
    expect([a, b]).toEqual(
      committer === 'Alice'
        ? ['Alice (you) removed Carol', 'Alice removed Carol']
        : ['Bob removed Carol', 'Bob (you) removed Carol'],
    );
    expect(after[0]?.membershipCode).toBe(after[1]?.membershipCode);
    expect(after[0]?.membershipCode).not.toBe(membershipCode);
    await until(warned, 'the warning gone', (v) => v.health === 'ok' && v.indicator === 'active');
    expect(await warned.page.getByRole('alert').filter({ hasText: 'Someone who left' }).count()).toBe(0);
    const list = (await panel(bob, 'Security')).getByRole('list', {
      name: 'Changes to the encryption group',
    });
    await list.getByText(b ?? '', { exact: true }).waitFor();
    await expect((await panel(bob, 'Security')).getByTestId('membership-code').textContent()).resolves.toBe(
      after[1]?.membershipCode,
    );
  });
});
