import type { TestContext } from 'node:test';

/** Suites that need Redis or Chromium skip with a reason on a laptop without them, and fail in CI
 *  (`REQUIRE_INTEGRATION=1`), so a missing install can never pass as a skipped suite. */
export function requireIntegration(t: TestContext, what: string, available: boolean, reason: string): boolean {
  if (available) return true;
  if (process.env.REQUIRE_INTEGRATION === '1') {
    throw new Error(`${what} is required (REQUIRE_INTEGRATION=1) but ${reason}`);
  }
  t.skip(`${what} not available: ${reason}`);
  return false;
}

/** What a bound on a wait adds to the settings it comes from: scheduling on two shared cores. */
export const SLACK_MS = 2000;
