import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// The committed screenshots are refreshed only on request (`npm run screenshots`), so an ordinary
// test run leaves the working tree clean; otherwise the same shots land in a temp folder.
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(__dirname, '../../docs/screenshots')
  : join(tmpdir(), 'celeriac-screenshots');

/**
 * Debian's chromium, headless, with a fresh profile per call (toolchain.md §7). Every page
 * records dialogs and script errors so a test can assert none happened.
 */
export async function openBrowser(options: { headers?: Record<string, string>; acceptDialogs?: boolean } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'celeriac-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 860 },
    extraHTTPHeaders: options.headers,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const dialogs: string[] = [];
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void (options.acceptDialogs ? d.accept() : d.dismiss());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // Failed network requests the test causes on purpose show up as console errors too; CSP and script errors do not look like that.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
  };
  context.on('page', watch);
  const page = await context.newPage();
  return {
    context,
    page,
    dialogs,
    errors,
    async screenshot(name: string, options: { fullPage?: boolean; target?: Page } = {}) {
      const target = options.target ?? page;
      mkdirSync(SCREENSHOTS, { recursive: true });
      // From the top, nothing focused: the sticky header otherwise lands mid-page in a full-page shot.
      await target.evaluate(() => {
        const g = globalThis as any;
        g.document.activeElement?.blur?.();
        g.scrollTo(0, 0);
      });
      await target.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * axe-core's WCAG 2 A/AA rules on the page as it is now (labels, contrast, names of controls,
 * landmarks). Injected through the DevTools protocol, so the admin's CSP stays on. Returns one
 * line per violation: rule, impact and the first offending elements, so a failure says what to fix.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = (await page.evaluate(() =>
    (globalThis as any).axe.run((globalThis as any).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    }),
  )) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.nodes
        .slice(0, 3)
        .map((n) => n.target.join(' '))
        .join(', ')}`,
  );
}
