/**
 * The few tests that need a system tool npm cannot bring (Chromium for the browser e2e test,
 * python3-torch for the training toolkit) skip on a machine without it, with one printed reason.
 * CI installs the tools and sets TINTYPE_REQUIRE_SYSTEM_TOOLS=1, so there a missing tool fails
 * the run instead of quietly skipping.
 */
export function skipWithout(what: string, missing: string | null): boolean {
  if (!missing) return false;
  if (process.env.TINTYPE_REQUIRE_SYSTEM_TOOLS === '1')
    throw new Error(`${what} cannot run: ${missing} (TINTYPE_REQUIRE_SYSTEM_TOOLS=1)`);
  console.warn(`\n[${what}] SKIPPED: ${missing}\n`);
  return true;
}
