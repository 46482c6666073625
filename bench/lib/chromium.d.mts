// Types of chromium.mjs, for the TypeScript tests that import it (through test/support/chromium.ts).
import type { Browser, BrowserContext, Page } from 'playwright-core';

export function chromiumPath(): string;
export function launchChromium(extraArgs?: readonly string[]): Promise<Browser>;
export function passkeyPhone(browser: Browser): Promise<{ context: BrowserContext; page: Page }>;
