/**
 * The try-a-model page (`GET /`, functions/http/page/) driven in headless Chromium against the real
 * Worker in workerd (`startLocalEdge`), serving real ONNX exports published into a temp file store.
 * What the page renders is compared with what a direct `fetch` to the API returns.
 *
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it).
 * Without it the test is skipped locally, but fails in CI (CI set), so it can never silently vanish.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { readRouting, rollout, routedVersions } from '../../../shared/routing/operations.ts';
import { sha256Hex } from '../../../shared/store/digest.ts';
import { keys } from '../../../shared/store/keys.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { EDGE_LABELS, EDGE_SEEDS, edgeExport, edgeImages } from '../../../bench/edge-models.ts';
import { photoCrop } from '../../../bench/prototype-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../../..');
const SCREENSHOT = path.join(ROOT, '.edgetune', 'screenshots', 'page.png');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !fs.existsSync(CHROMIUM) && !inCI;

const MODEL = 'pets';
/**
 * Labels are user data: one carries markup that would run if the page ever used innerHTML, one
 * carries characters HTML escaping must keep. The page must show them verbatim, as text.
 */
const LABELS = EDGE_LABELS.map((l, i) =>
  i === 0 ? `${l} <img src=x onerror="document.title='pwned'">` : i === 1 ? `${l} & "quotes" <b>` : l,
);
/** Typed into the teach panel; the edge is started with it. */
const ADMIN_TOKEN = 'page-test-admin-token';
/** The key and a version pinned in the page; found below so that the three cases disagree. */
const USER_KEY = 'page-test-user';

interface Classified {
  version: string;
  predictions: { label: string; score: number }[];
  route: string | null;
  engine: string | null;
}

interface Candidate {
  name: string;
  type: 'image/png' | 'image/jpeg';
  bytes: Uint8Array<ArrayBuffer>;
}

/** At a phone's width (390 CSS px) the page must not scroll sideways; what sticks out is named. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    wider: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .map((e) => `${e.tagName.toLowerCase()}#${e.id} right=${Math.round(e.getBoundingClientRect().right)}`),
  }));
  expect(widths.inner).toBe(390);
  expect(widths.scroll, JSON.stringify(widths)).toBeLessThanOrEqual(widths.inner);
}

function candidates(): Candidate[] {
  const photos = fs.readdirSync(path.join(ROOT, 'data', 'photos')).filter((f) => /\.(png|jpe?g)$/.test(f));
  return [
    ...photos.map((f) => ({
      name: f,
      type: (f.endsWith('.png') ? 'image/png' : 'image/jpeg') as Candidate['type'],
      bytes: new Uint8Array(fs.readFileSync(path.join(ROOT, 'data', 'photos', f))),
    })),
    ...edgeImages().map((i) => ({
      name: `${i.id}.${i.contentType === 'image/png' ? 'png' : 'jpg'}`,
      type: i.contentType,
      bytes: new Uint8Array(i.bytes),
    })),
  ];
}

describe('the try-a-model page in headless Chromium', () => {
  if (skip) {
    console.warn(`page e2e test skipped: ${CHROMIUM} not found (apt-get install chromium)`);
    it.skip(`SKIPPED: ${CHROMIUM} not found (apt-get install chromium); with CI set this fails instead`, () => {});
    return;
  }

  let dir: string;
  let edge: LocalEdge | undefined;
  let store: FileStore;
  let context: BrowserContext | undefined;
  let page: Page;
  const timings: Record<string, number> = {};

  async function classifyDirect(c: Candidate, headers: Record<string, string> = {}): Promise<Classified> {
    const res = await fetch(new URL(`/v1/models/${MODEL}/classify?top_k=5`, edge!.url), {
      method: 'POST',
      headers: { 'content-type': c.type, ...headers },
      body: c.bytes,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model: string;
      version: string;
      predictions: Classified['predictions'];
    };
    expect(body.model).toBe(MODEL);
    expect(res.headers.get('x-model-version')).toBe(body.version);
    return {
      version: body.version,
      predictions: body.predictions,
      route: res.headers.get('x-model-route'),
      engine: res.headers.get('x-engine'),
    };
  }

  /** What the page shows once the answer for `version` is rendered. */
  async function rendered(version: string): Promise<Classified & { latency: string; error: string }> {
    await expect.poll(() => page.locator('#answer-version').textContent(), { timeout: 30_000 }).toBe(version);
    const labels = await page.locator('#predictions .label').allTextContents();
    const scores = await page
      .locator('#predictions meter')
      .evaluateAll((ms) => ms.map((m) => (m as HTMLMeterElement).value));
    return {
      version: (await page.locator('#answer-version').textContent()) ?? '',
      predictions: labels.map((label, i) => ({ label, score: scores[i]! })),
      route: await page.locator('#answer-route').textContent(),
      engine: await page.locator('#answer-engine').textContent(),
      latency: (await page.locator('#answer-latency').textContent()) ?? '',
      error: (await page.locator('#error').textContent()) ?? '',
    };
  }

  function expectSameAnswer(shown: Classified, direct: Classified): void {
    expect(shown.version).toBe(direct.version);
    expect(shown.predictions.map((p) => p.label)).toEqual(direct.predictions.map((p) => p.label));
    expect(shown.predictions[0]!.label).toBe(direct.predictions[0]!.label);
    // The meters hold the API's scores (float32 → JSON → DOM double: equal to ~1e-7).
    for (const [i, p] of shown.predictions.entries())
      expect(p.score).toBeCloseTo(direct.predictions[i]!.score, 6);
  }

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `CI is set but ${CHROMIUM} is missing: install Debian's chromium (.ci/run does it with apt-get)`,
      );
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-page-'));
    store = new FileStore(path.join(dir, 'store'));
    let t = performance.now();
    // v1 (stable) and v2 (a 50 % candidate): real ONNX exports through the registry's publish.
    for (const seed of EDGE_SEEDS.slice(0, 2)) {
      const exp = edgeExport(seed);
      await publishVersion(store, MODEL, {
        manifest: { ...exp.manifest, name: MODEL, labels: LABELS },
        files: exp.files,
      });
    }
    await rollout(store, MODEL, 'v2', 50);
    timings.publishMs = performance.now() - t;

    t = performance.now();
    edge = await startLocalEdge(store, {
      port: 0,
      persistDir: path.join(dir, 'r2'),
      syncIntervalMs: 0,
      adminToken: ADMIN_TOKEN,
    });
    timings.edgeStartMs = performance.now() - t;

    t = performance.now();
    context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 900, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    timings.browserStartMs = performance.now() - t;
  });

  afterAll(async () => {
    await context?.close();
    await edge?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    console.log(
      `page e2e timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}`,
    );
  });

  it('classifies a chosen image: same top-k and version as the API, routed, keyed and pinned', async () => {
    // An image on which v1 and v2 disagree, so showing the wrong version could not pass unnoticed.
    let image: Candidate | undefined;
    let byVersion: Record<string, Classified> = {};
    for (const c of candidates()) {
      const v1 = await classifyDirect(c, { 'x-model-version': 'v1' });
      const v2 = await classifyDirect(c, { 'x-model-version': 'v2' });
      if (v1.predictions[0]!.label !== v2.predictions[0]!.label) {
        image = c;
        byVersion = { v1, v2 };
        break;
      }
    }
    expect(image, 'an image whose top-1 differs between v1 and v2').toBeDefined();
    // A long name, as phones write them: it must wrap, not widen the page.
    const file = path.join(dir, `IMG_20261205_123456789_from_a_phone_camera_${image!.name}`);
    fs.writeFileSync(file, image!.bytes);

    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const classifyCalls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/classify')) classifyCalls.push(r.url());
    });

    let t = performance.now();
    const res = await page.goto(edge!.url.href);
    expect(res?.status()).toBe(200);
    // Controls are found by their labels: the accessible names are part of what is tested.
    const model = page.getByLabel('Model');
    await expect.poll(() => model.locator('option').allTextContents()).toEqual(['Choose a model…', MODEL]);
    expect(await model.inputValue()).toBe('');
    timings.pageLoadMs = performance.now() - t;

    // 0. A file chosen before any model: nothing is classified until a model is chosen.
    await page.getByLabel(/User key/).fill(USER_KEY);
    await page.getByLabel(/Image/).setInputFiles(file);
    await expect.poll(() => page.locator('#file-name').textContent()).toMatch(/IMG_20261205/);
    expect(await page.getByRole('button', { name: 'Classify' }).isDisabled()).toBe(true);
    expect(classifyCalls).toEqual([]);
    expect(await page.locator('#results').isHidden()).toBe(true);

    // 1. Choosing the model runs it on the chosen file, routed with the user key: the page and a
    //    direct call with the same key get the same version.
    t = performance.now();
    await model.selectOption(MODEL);
    await expect
      .poll(() =>
        page
          .getByLabel('Version')
          .locator('option')
          .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
      )
      .toEqual(['', 'v2', 'v1']);
    expect(await page.locator('#routing').textContent()).toBe('stable: v1 · candidate v2 at 50%');
    const keyed = await classifyDirect(image!, { 'x-user-key': USER_KEY });
    const shownKeyed = await rendered(keyed.version);
    timings.firstClassifyMs = performance.now() - t;
    expect(classifyCalls).toHaveLength(1);
    expectSameAnswer(shownKeyed, keyed);
    expect(shownKeyed.route).toBe(keyed.route);
    expect(keyed.route).toBe('sticky');
    expect(shownKeyed.latency).toMatch(/^\d+\.\d ms$/);
    expect(shownKeyed.error).toBe('');
    // The engine that ran the model, when the edge reports it (x-engine).
    expect(shownKeyed.engine).toBe(keyed.engine ?? 'not reported');

    // At a phone's width (390 CSS px) with a file chosen and an answer shown: no sideways scrolling.
    await expectNoSidewaysScroll(page);
    await page.setViewportSize({ width: 900, height: 1000 });

    // 2. Pinning the other version re-runs at once: the answer follows the pin.
    const other = keyed.version === 'v1' ? 'v2' : 'v1';
    t = performance.now();
    await page.getByLabel('Version').selectOption(other);
    const shownPinned = await rendered(other);
    timings.pinnedClassifyMs = performance.now() - t;
    expect(classifyCalls).toHaveLength(2);
    expectSameAnswer(shownPinned, byVersion[other]!);
    expect(shownPinned.predictions[0]!.label).not.toBe(shownKeyed.predictions[0]!.label);
    expect(shownPinned.route).toBe('pinned');
    // Submitting from the keyboard asks again with the same pin.
    await page.getByRole('button', { name: 'Classify' }).press('Enter');
    await expect.poll(() => classifyCalls.length).toBe(3);
    expect((await rendered(other)).route).toBe('pinned');

    // Labels from the API are text: the markup in them is shown, not parsed or run.
    const shownLabels = await page.locator('#predictions .label').allTextContents();
    expect(shownLabels.sort()).toEqual([...LABELS].sort());
    expect(await page.locator('#predictions img, #predictions b').count()).toBe(0);
    expect(await page.title()).toBe('edgetune — try a model');

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    // 3. A file the edge refuses: the API's own error is shown, nothing crashes.
    const bad = path.join(dir, 'notes.txt');
    fs.writeFileSync(bad, 'not an image');
    const direct = await fetch(new URL(`/v1/models/${MODEL}/classify`, edge!.url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'not an image',
    });
    const { error } = (await direct.json()) as { error: { code: string; message: string } };
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect(direct.status).toBeLessThan(500);
    await page.getByLabel(/Image/).setInputFiles(bad);
    await expect.poll(() => page.locator('#error').textContent()).toBe(`${error.code}: ${error.message}`);
    // The previous answer is taken away rather than left beside the error.
    expect(await page.locator('#results').isHidden()).toBe(true);

    // No CSP violations or script errors along the way (a blocked inline script would show here).
    expect(consoleErrors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
  });
  it('teaches a version in the teach panel: token from the page, created, pinned, answers like the API', async () => {
    const TAUGHT = 'taught';
    const crop = (cls: 'cat' | 'coffee', i: number) => ({
      name: `${cls}-${i}.png`,
      mimeType: 'image/png',
      buffer: Buffer.from(photoCrop(cls, i)),
    });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const adminCalls: { url: string; auth: string | undefined }[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/admin/')) adminCalls.push({ url: r.url(), auth: r.headers().authorization });
    });
    await page.goto(edge!.url.href);
    const from = page.getByLabel('Start from');
    await expect
      .poll(() => from.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)))
      .toEqual(['', `${MODEL}@v2`, `${MODEL}@v1`]);
    await from.selectOption(`${MODEL}@v1`);
    // Choosing the parent proposes its model's name; a new name starts a new model.
    expect(await page.getByLabel('Name to save it under').inputValue()).toBe(MODEL);
    await page.getByLabel('Name to save it under').fill(TAUGHT);
    await page.getByLabel('Class 1 name').fill('cat');
    await page.getByLabel('Class 2 name').fill('coffee');
    await page.getByLabel('Class 1 images').setInputFiles([0, 1, 2, 3].map((i) => crop('cat', i)));
    await page.getByLabel('Class 2 images').setInputFiles([0, 1].map((i) => crop('coffee', i)));
    const createButton = page.getByRole('button', { name: 'Create version' });

    // Checked in the page before anything is sent: a missing token, then too few images.
    await createButton.click();
    await expect.poll(() => page.locator('#teach-error').textContent()).toBe('Enter the admin token.');
    await page.getByLabel('Admin token').fill('not-the-token');
    await createButton.click();
    await expect
      .poll(() => page.locator('#teach-error').textContent())
      .toBe('Class "coffee" has 2 image(s); give it 3 to 10.');
    expect(adminCalls).toEqual([]);

    // A wrong token: the edge's 403 is shown and no model appears.
    await page.getByLabel('Class 2 images').setInputFiles([0, 1, 2, 3].map((i) => crop('coffee', i)));
    await createButton.click();
    await expect
      .poll(() => page.locator('#teach-error').textContent())
      .toBe('forbidden: invalid admin token');
    expect(adminCalls).toHaveLength(1);
    const listed = (await (await fetch(new URL('/v1/models', edge!.url))).json()) as {
      models: { name: string }[];
    };
    expect(listed.models.map((m) => m.name)).toEqual([MODEL]);

    // The right token: a version of a new model, shown pinned in the classify form.
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await createButton.click();
    await expect
      .poll(() => page.locator('#teach-status').textContent(), { timeout: 60_000 })
      .toMatch(new RegExp(`^Created ${TAUGHT} v1 \\(cat, coffee; leave-one-out \\d+%\\)`));
    expect(adminCalls).toHaveLength(2);
    expect(adminCalls[1]).toEqual({
      url: new URL(`/admin/models/${TAUGHT}/prototypes`, edge!.url).href,
      auth: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(await page.getByLabel('Model').inputValue()).toBe(TAUGHT);
    expect(await page.getByLabel('Version').inputValue()).toBe('v1');
    // The token lives in the field only: nothing stored by the page.
    expect(
      await page.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length),
    ).toBe(0);

    // edgetune serve's mirror: the version made at the edge reaches the store (files verified
    // against its manifest), the store's routing names only what the store holds, and the
    // version still serves at the edge after the pass.
    const stats = await edge!.sync();
    expect(stats.deferred).toBe(0);
    const manifest = JSON.parse(
      new TextDecoder().decode((await store.get(keys.manifest(TAUGHT, 'v1')))!.body),
    ) as { model: { file: string; sha256: string } };
    const modelBytes = (await store.get(keys.versionFile(TAUGHT, 'v1', manifest.model.file)))!.body;
    expect(await sha256Hex(modelBytes)).toBe(manifest.model.sha256);
    const routingDoc = await readRouting(store, TAUGHT);
    for (const v of routedVersions(routingDoc!.doc))
      expect(await store.head(keys.manifest(TAUGHT, v))).not.toBeNull();
    expect(routingDoc!.doc.stable).toBe('v1');

    // See it answer: a held-out crop classified with v1 pinned, as a direct pinned call answers.
    const heldOut = path.join(dir, 'held-out-cat.png');
    fs.writeFileSync(heldOut, photoCrop('cat', 7));
    await page.getByLabel(/Image/).setInputFiles(heldOut);
    const shown = await rendered('v1');
    const direct = await fetch(new URL(`/v1/models/${TAUGHT}/classify?top_k=5`, edge!.url), {
      method: 'POST',
      headers: { 'content-type': 'image/png', 'x-model-version': 'v1' },
      body: Buffer.from(photoCrop('cat', 7)),
    });
    const body = (await direct.json()) as { version: string; predictions: Classified['predictions'] };
    expect(direct.status).toBe(200);
    expect(shown.route).toBe('pinned');
    expect(shown.predictions.map((p) => p.label)).toEqual(body.predictions.map((p) => p.label));
    expect([...shown.predictions.map((p) => p.label)].sort()).toEqual(['cat', 'coffee']);
    for (const [i, p] of shown.predictions.entries())
      expect(p.score).toBeCloseTo(body.predictions[i]!.score, 6);

    // At 390 px, with the teach panel filled in and an answer shown: no sideways scrolling.
    await expectNoSidewaysScroll(page);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.replace('page.png', 'page-teach-390.png'), fullPage: true });
    await page.setViewportSize({ width: 900, height: 1000 });
    expect(consoleErrors).toEqual([]);
  });
});
