// Headless Chromium for the browser tests: Debian's `chromium` (the bootstrap installs it with
// --need-browser), driven by playwright-core, never a downloaded browser. Playwright gives it a
// fresh temporary profile; the flags keep it off the network it would otherwise probe (updates,
// sync, component downloads) and off the GPU.
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
const launchTimeoutMs = 30_000;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath, headless: true, timeout: launchTimeoutMs,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-default-apps', '--disable-extensions'],
  });
}
