import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Store } from "../../src/store/store.ts";
import type { TagBus } from "../../src/tagbus/tagbus.ts";
import { modbusConn } from "./helpers.ts";

// Shared by test/web/live-large-browser.test.ts and bench/web/live-table.ts: a connection
// with many tags, a publisher of all of them at a period, and Debian's chromium launched as
// the browser tests launch it (playwright-core, profile and HOME in a temp dir).

/** Debian's chromium (scripts/ensure-deps.mjs installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Tag name `i` of the large connection: `t0000` … */
export const bigTag = (i: number): string => `t${String(i).padStart(4, "0")}`;

/** Stores connection `id` with `n` uint16 tags `t0000`… on one block (addresses repeat; no app polls it). */
export function storeBigConnection(store: Store, id: string, n: number): void {
  store.apply({
    origin: "test",
    put: [
      {
        connection: modbusConn(id),
        blocks: [
          {
            conn_id: id,
            block_id: "hr",
            table: "holding_registers",
            address: 0,
            count: 100,
            period_ms: 100,
          },
        ],
        tags: Array.from({ length: n }, (_, i) => ({
          conn_id: id,
          tag_name: bigTag(i),
          block_id: "hr",
          address: i % 100,
          data_type: "uint16",
          unit: "rpm",
          ...(i % 10 === 0 ? { access: "read-write" } : {}),
        })),
      },
    ],
  });
}

/**
 * Publishes `ratePerS` values per second over `n` tags of `id`, round robin, in batches every
 * `tickMs` (2,000 tags at 5,000/s and 100 ms: 500 values a tick, each tag every 400 ms).
 * @returns stop (resolves when the last batch is out) and the count published.
 */
export function publishLoop(
  bus: TagBus,
  id: string,
  n: number,
  ratePerS: number,
  tickMs = 100,
): { stop(): Promise<void>; published(): number } {
  let next = 0;
  let count = 0;
  let running = true;
  const perTick = Math.max(1, Math.round((ratePerS * tickMs) / 1000));
  const loop = (async () => {
    let due = performance.now();
    while (running) {
      const ts = Date.now();
      const batch = Array.from({ length: perTick }, () => {
        const i = next++ % n;
        return {
          path: `/${id}/${bigTag(i)}`,
          value: (count++ % 60000) + (i % 7),
          quality: "good" as const,
          ts,
        };
      });
      await bus.publish(batch);
      due += tickMs;
      await Bun.sleep(Math.max(0, due - performance.now()));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
    published: () => count,
  };
}

/** Launches chromium headless with its profile and HOME below `dir` (browser language `opts.locale`, default the machine's); the first page. */
export async function launchChromium(
  dir: string,
  viewport = { width: 1400, height: 900 },
  opts: { locale?: string } = {},
): Promise<{ ctx: BrowserContext; page: Page }> {
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const ctx = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
    executablePath: CHROMIUM,
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
      XDG_DATA_HOME: join(home, ".local", "share"),
    },
    headless: true,
    ...(opts.locale ? { locale: opts.locale } : {}),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
    viewport,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return { ctx, page };
}

/** Logs in through the login form as `user`. */
export async function loginPage(page: Page, base: string, user: string, password: string) {
  await page.goto(base);
  await page.fill('#login-form input[name="username"]', user);
  await page.fill('#login-form input[name="password"]', password);
  await page.click('#login-form button[type="submit"]');
  await page.locator("#overview").waitFor();
}
