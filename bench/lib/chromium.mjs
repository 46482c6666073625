// Debian's Chromium for the page's real-browser tests and benchmarks (found as scripts/setup.mjs finds it), launched
// headless and kept off the (closed) network, and a phone-sized page with the DevTools virtual authenticator. Plain
// ESM so that bench/ can use it; the TypeScript tests import it through test/support/chromium.ts (types in
// chromium.d.mts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** Chromium from CHROMIUM_PATH or PATH. */
export function chromiumPath() {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : (process.env.PATH ?? '').split(path.delimiter).flatMap((dir) => [path.join(dir, 'chromium'), path.join(dir, 'chromium-browser')]);
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error("Chromium not found: `npm test` installs Debian's chromium, or set CHROMIUM_PATH");
  return found;
}

/**
 * A headless Chromium; root in a container needs --no-sandbox, the rest keeps it off the (closed) network. `extraArgs`
 * add switches (`--host-resolver-rules` to reach this machine by another name).
 */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/**
 * A phone-sized page (375 px, touch) with the DevTools virtual authenticator: CTAP2, built in, resident keys, user
 * verification on and answered at once. A passkey made on it stays in its context.
 */
export async function passkeyPhone(browser) {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page };
}
