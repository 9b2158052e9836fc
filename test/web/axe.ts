import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

// axe-core (npm axe-core), evaluated in the page through the DevTools protocol: the page's
// Content-Security-Policy (no inline script) stays on, as for a real user.

const AXE = readFileSync(
  join(import.meta.dir, "..", "..", "node_modules", "axe-core", "axe.min.js"),
  "utf8",
);

/** One serious or critical accessibility violation: rule, impact, help and the first elements. */
export interface AxeProblem {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page as it is now.
 * @returns the violations of impact `serious` or `critical` (empty = none).
 */
export async function seriousA11yViolations(page: Page): Promise<AxeProblem[]> {
  const has = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === "object");
  if (!has) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(
            ctx: unknown,
            opts: unknown,
          ): Promise<{
            violations: {
              id: string;
              impact: string;
              help: string;
              nodes: { target: string[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
      }));
  });
}
