// Real headless Chromium for tests: Debian's binary, flags for a closed network, a fresh profile each time.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Never a downloaded browser: the one Debian's `chromium` package installs. */
export const CHROMIUM = '/usr/bin/chromium';

/** The machine's network is closed: keep Chromium from calling home (and failing) at every start. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Missing Chromium skips a browser suite on a developer machine; in CI (CI=true) the suite runs and fails instead. */
export const chromiumSkip: string | false =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install chromium) to run the browser tests`
    : false;

export type ContextOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/** Runs `fn` with a Chromium context on a fresh profile folder; closes it and removes the folder afterwards. */
export async function withChromium<T>(
  options: ContextOptions,
  fn: (context: BrowserContext) => Promise<T>,
): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      ...options,
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    return await fn(context);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
