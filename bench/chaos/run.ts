/**
 * The long chaos run (issue 12 §8): `bun run bench/chaos/run.ts [--seconds 600] [--seed N]`.
 * Three connections against simulators under the supervisor and a Redis with the shipped
 * persistence; kill -9 of apps, the supervisor, Redis and simulators, simulators frozen and
 * thawed, at seeded random moments; a checker compares what the bus and the status claim with
 * the truth (see test/e2e/chaos.ts for every rule). Prints the summary table and each
 * violation; exits 1 when there was any. The 60 s version runs in the test suite.
 */
import { parseArgs } from "node:util";
import { runChaos } from "../../test/e2e/chaos.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "600" },
    seed: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const seconds = Number(values.seconds);
console.log(`chaos run: ${seconds} s, seed ${seed} (repeat with --seed ${seed})`);
const report = await runChaos({
  seconds,
  seed,
  log: values.quiet ? undefined : (line) => console.log(line),
});
console.log(`\n${report.table}`);
for (const v of report.violations) console.log(`  +${v.at} ms ${v.kind}: ${v.detail}`);
process.exit(report.violations.length > 0 ? 1 : 0);
