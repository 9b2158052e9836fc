/**
 * Runs the benchmarks (`bench/<name>/run.ts`).
 *
 *   npm run bench                         # list the benches
 *   npm run bench -- all                  # every bench once, in quick mode
 *   npm run bench -- timer --seconds 10   # one bench, flags passed through
 *   npm run bench -- tagbus footprint     # several, each in quick mode
 *
 * With one bench name, the remaining arguments go to it unchanged. With several names (or
 * `all`), each runs with its quick flags ({@link QUICK}). Exit code: 0 when every bench
 * exited 0, else 1; 64 for an unknown name.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const DIR = import.meta.dir;

/** Arguments that make a bench short (seconds, not minutes). Default `--quick`. */
const QUICK: Record<string, string[]> = {
  chaos: ["--seconds", "60", "--quiet"],
  modbus: ["1"],
  opcua: ["--seconds", "5"],
  timer: ["--seconds", "5"],
};

/** Bench names: folders of bench/ that have a run.ts. */
export function benches(): string[] {
  return readdirSync(DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(DIR, d.name, "run.ts")))
    .map((d) => d.name)
    .sort();
}

async function runOne(name: string, args: string[]): Promise<number> {
  console.log(`\n=== bench ${name} ${args.join(" ")}`.trimEnd());
  const p = Bun.spawn([process.execPath, "run", join(DIR, name, "run.ts"), ...args], {
    stdio: ["inherit", "inherit", "inherit"],
  });
  return await p.exited;
}

export async function main(argv: string[]): Promise<number> {
  const all = benches();
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h") {
    console.log("usage: npm run bench -- <name> [flags…] | <name> <name>… | all\nbenches:");
    for (const b of all) console.log(`  ${b}`);
    return 0;
  }
  const names = argv.filter((a) => !a.startsWith("-"));
  const several = argv[0] === "all" || (names.length > 1 && names.every((n) => all.includes(n)));
  if (!several) {
    const [name, ...rest] = argv;
    if (!all.includes(name!)) {
      console.error(`unknown bench ${JSON.stringify(name)}; benches: ${all.join(", ")}`);
      return 64;
    }
    return (await runOne(name!, rest)) === 0 ? 0 : 1;
  }
  const chosen = argv[0] === "all" ? all : names;
  const failed: string[] = [];
  for (const n of chosen) if ((await runOne(n, QUICK[n] ?? ["--quick"])) !== 0) failed.push(n);
  if (failed.length) console.error(`\nfailed: ${failed.join(", ")}`);
  return failed.length ? 1 : 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
