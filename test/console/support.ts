// The console in a real browser: the embedded mesh with real providers (test/delivery's rig: SMTP on loopback,
// Slack and Twilio stand-ins), the gateway in front of it serving the built console, and Debian's Chromium
// (/usr/bin/chromium, never a downloaded browser) driven by playwright-core. Every page's console errors, uncaught
// exceptions and dialogs are recorded: the tests assert there are none.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { generateToken } from '../../services/platform/auth.js';
import { createLogger } from '../../services/platform/log.js';
import { ensureConsoleBuilt } from '../../services/gateway/console-build.js';
import { type Gateway, startGateway } from '../../services/gateway/gateway.js';
import { startRig, type Rig } from '../delivery/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOTS = path.join(ROOT, 'test-results/console');
const CHROMIUM = '/usr/bin/chromium';

export type Person = 'ops' | 'ann' | 'alice';

export interface ConsoleRig {
  rig: Rig;
  gateway: Gateway;
  /** A signed-in page for the person (user id = the person's name); its problems are collected in `problems`. */
  signIn(person: Person): Promise<Page>;
  /** Console errors, uncaught exceptions and dialogs seen on any page so far. */
  problems: string[];
  screenshot(page: Page, name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startConsoleRig(): Promise<ConsoleRig> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium); .ci/run does`);
  await ensureConsoleBuilt(ROOT);
  const tokens: Record<Person, string> = { ops: generateToken(), ann: generateToken(), alice: generateToken() };
  const rig = await startRig({
    PULSE_API_TOKENS: `ops:${tokens.ops}:admin,ann:${tokens.ann}:reviewer,alice:${tokens.alice}:user`,
    PULSE_DEV_TOKEN: tokens.ops,
    REVIEW_WATCH_POLL_MS: '100',
    STATUS_WATCH_POLL_MS: '100',
  });
  const gateway = await startGateway({ port: 0, host: '127.0.0.1', upstreams: rig.mesh.urls, consoleDir: path.join(ROOT, 'console/dist'), log: createLogger('gateway', 'error') });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  await mkdir(SCREENSHOTS, { recursive: true });
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];

  async function signIn(person: Person): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${person}: console error: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`${person}: uncaught: ${err.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`${person}: dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(gateway.url);
    await page.getByLabel('Pulse token or JWT').fill(tokens[person]);
    await page.getByLabel('Your user id').fill(person);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${person}`).waitFor();
    return page;
  }

  return {
    rig,
    gateway,
    signIn,
    problems,
    async screenshot(page, name) {
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await gateway.close();
      await rig.stop();
    },
  };
}
