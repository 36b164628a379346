import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../ts/config/index.ts';
import { ERRORS } from '../../ts/errors.ts';
import type { TestServer } from './helpers/app.ts';
import { syntheticFace } from './helpers/generated.ts';
import { startRealServer } from './helpers/real-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(repoRoot(), 'test-artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'ui.png');

/**
 * The page in Debian's Chromium, driven like a user: choose a photo, pick
 * the task, press Predict, read the outputs, with the real sidecar.
 */
describe.skipIf(!existsSync(CHROMIUM))('the web page in Chromium', () => {
  let server: TestServer;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let face: Buffer;
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startRealServer();
    // A drawn face: the screenshot goes into docs/, and the repository holds
    // no photos of real people.
    face = await syntheticFace({ width: 320 });
    profile = await mkdtemp(path.join(tmpdir(), 'faceattr-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
      viewport: { width: 1200, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(server.url) && !/^(data|blob):/.test(url))
        foreign.push(url);
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Picks a file in the page's file input, as a user choosing a photo. */
  const choose = (name: string, mimeType: string, buffer: Buffer) =>
    page.setInputFiles('#file-input', { name, mimeType, buffer });

  it('predicts for an uploaded face: both labels, confidences, heat map, face count', async () => {
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await choose('face.png', 'image/png', face);
    await page.click('label.radio:has-text("Gender")');
    await page.click('#predict');
    await page.waitForSelector('#attention:not([hidden])', { timeout: 60_000 });
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#attention');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    expect(['Male', 'Female']).toContain(
      await page.textContent('#gender-label'),
    );
    expect(['Yes', 'No']).toContain(await page.textContent('#smile-label'));
    expect(await page.textContent('#gender-confidence')).toMatch(
      /^\d+\.\d\d %$/,
    );
    expect(await page.textContent('#face-count')).toBe('Faces found: 1');
    expect(await page.isHidden('#error-message')).toBe(true);
    expect(await page.isHidden('#progress')).toBe(true);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The README's picture is refreshed only on request, so a test run
    // leaves the working tree as it was.
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await copyFile(
        SCREENSHOT,
        path.join(repoRoot(), 'docs', 'screenshot.png'),
      );
    }
  });

  it('drops a result that arrives after another photo was chosen', async () => {
    const big = await sharp(face).resize(2400).jpeg().toBuffer();
    await choose('big.jpg', 'image/jpeg', big);
    await page.click('#predict');
    await page.waitForSelector('#progress:not([hidden])');
    await choose('next.png', 'image/png', face);
    await page.waitForSelector('#progress', {
      state: 'hidden',
      timeout: 60_000,
    });
    expect(await page.textContent('#file-name')).toBe('next.png');
    expect(await page.textContent('#gender-label')).toBe('');
    expect(await page.isHidden('#attention')).toBe(true);
  });

  it('shows a visible message for a file that is not an image', async () => {
    const text = Buffer.from('this is a text file with a .png name');
    await choose('holiday.png', 'image/png', text);
    // Choosing another file clears the previous photo's result at once.
    expect(await page.textContent('#gender-label')).toBe('');
    expect(await page.isHidden('#attention')).toBe(true);
    await page.click('#predict');
    await page.waitForSelector('#error-message:not([hidden])', {
      timeout: 30_000,
    });
    expect(await page.textContent('#error-message')).toContain(
      ERRORS.NOT_AN_IMAGE.message,
    );
    expect(await page.textContent('#gender-label')).toBe('');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'ui-error.png'),
      fullPage: true,
    });
  });

  it('loaded nothing from any other origin and threw no script errors', () => {
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
