import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './bmo.js';
import { tempDir } from './tmp.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots and other things a test leaves to look at (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  newPage(options?: { width?: number; height?: number; dark?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * A real headless Chromium with a fresh profile. With none installed this throws, saying so: a
 * page test that cannot run fails, it never passes without a browser.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: the page tests need it (apt-get install -y chromium; .ci/run does this)`);
  }
  const profile = tempDir('bmo-chromium-');
  const context = await chromium.launchPersistentContext(profile.dir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000);
  return {
    context,
    async newPage({ width = 1280, height = 800, dark = false } = {}) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
      // A page error is a test failure, not something to find in a screenshot later.
      const errors: string[] = [];
      pageErrors.set(page, errors);
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/WebSocket connection|Failed to load resource/.test(message.text())) errors.push(message.text());
      });
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      profile.cleanup();
    },
  };
}

const pageErrors = new WeakMap<Page, string[]>();

/** The script errors a page had (uncaught, or logged as errors other than a refused connection). */
export function errorsOf(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
