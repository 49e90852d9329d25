/**
 * The page's first load, counted in a real headless Chromium through the DevTools protocol: every
 * HTTP response (headers and body as received) and every WebSocket frame the page receives until
 * it shows the teams view live: its files, its first API answers, the stream's backlog and posture.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** After the page shows the live teams view, how long to keep counting what still arrives. */
const SETTLE_MS = 1_000;

export interface FirstLoad {
  bytes: number;
  http_bytes: number;
  ws_bytes: number;
  requests: number;
  ws_frames: number;
  teams_rows: number;
  ms: number;
}

export async function measureFirstLoad(url: string, token: string): Promise<FirstLoad> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium): the page's first load cannot be measured`);
  const profile = mkdtempSync(join(tmpdir(), 'bmo-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const counted = { http: 0, ws: 0, requests: 0, frames: 0 };
    cdp.on('Network.loadingFinished', (event) => {
      counted.http += event.encodedDataLength;
      counted.requests++;
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
      counted.ws += Object.entries(event.response.headers).reduce((sum, [k, v]) => sum + k.length + String(v).length + 4, 20);
    });
    cdp.on('Network.webSocketFrameReceived', (event) => {
      const length = Buffer.byteLength(event.response.payloadData);
      counted.ws += length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);
      counted.frames++;
    });
    const started = performance.now();
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('.link-state.live', { timeout: 60_000 });
    await page.waitForSelector('main table.teams tbody tr', { timeout: 60_000 });
    await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('chip').textContent !== '…', undefined, { timeout: 60_000 });
    const ms = performance.now() - started;
    await page.waitForTimeout(SETTLE_MS);
    const rows = await page.$$eval('main table.teams tbody tr', (trs) => trs.length);
    return { bytes: counted.http + counted.ws, http_bytes: counted.http, ws_bytes: counted.ws, requests: counted.requests, ws_frames: counted.frames, teams_rows: rows, ms };
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}
