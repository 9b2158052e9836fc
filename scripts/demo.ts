/**
 * `npm run demo`: the whole of Nodi Edge on this machine, privately. Starts Redis (unless
 * NE_REDIS_URL points at one), a temp DB imported from examples/demo/, the simulated devices
 * and ne-supervisor, then shows the live tag values until Ctrl-C (or `--seconds N`), and
 * stops everything it started. `meter1` (modbus-rtu) talks RTU over a socat pty pair;
 * `--no-pty` (or no socat) serves it as RTU over TCP instead. With mosquitto installed it also
 * runs a private MQTT broker and two northbounds (plain MQTT and Sparkplug B, ne-north apps of
 * the supervisor) and shows what arrives at the broker; `--no-north` leaves them out.
 *
 *   npm run demo -- [--seconds N] [--only line1,meter1] [--no-opcua] [--no-pty] [--no-north] [--keep]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadSettings } from "../src/core/settings.ts";
import type { TagValue } from "../src/core/tag-value.ts";
import { createRedisTagBus } from "../src/tagbus/index.ts";
import type { Subscription } from "../src/tagbus/tagbus.ts";
import { hasMosquitto, NorthWatch } from "./demo/north.ts";
import { type Stack, startStack } from "./demo/stack.ts";
import { renderTable, renderTryNext } from "./demo/view.ts";

const USAGE = `usage: npm run demo -- [--seconds N] [--only id,id] [--no-opcua] [--no-pty] [--no-north] [--keep]
  --seconds N    run N seconds, print one snapshot, stop (default: live until Ctrl-C)
  --only id,id   only these connections of examples/demo and examples/rs485
  --no-opcua     without the OPC UA press
  --no-pty       the RTU meter over TCP instead of a socat serial pty pair
  --no-north     without the MQTT broker and the northbounds
  --keep         keep the temp dir (database, supervisor.log)
`;

export async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      options: {
        seconds: { type: "string" },
        only: { type: "string" },
        "no-opcua": { type: "boolean", default: false },
        "no-pty": { type: "boolean", default: false },
        "no-north": { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 64;
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seconds = args.values.seconds === undefined ? undefined : Number(args.values.seconds);
  if (seconds !== undefined && !(seconds > 0)) {
    process.stderr.write(`--seconds must be a positive number\n${USAGE}`);
    return 64;
  }
  const interactive = seconds === undefined && process.stdout.isTTY === true;
  const say = (m: string) => process.stdout.write(`[demo] ${m}\n`);
  const settings = loadSettings();
  const external = process.env.NE_REDIS_URL ? settings.redisUrl : undefined;

  let stack: Stack | undefined;
  let sub: Subscription | undefined;
  let watch: NorthWatch | undefined;
  let bus: Awaited<ReturnType<typeof createRedisTagBus>> | undefined;
  let stopRequested = false;
  let wake: () => void = () => {};
  const onSignal = () => {
    stopRequested = true;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    say(
      "starting a private Nodi Edge: Redis (the TagBus), a database imported from " +
        "examples/demo/*.csv, simulated devices, ne-supervisor …",
    );
    const north = !args.values["no-north"] && hasMosquitto();
    if (!args.values["no-north"] && !north)
      say("note: mosquitto is not installed, so the demo runs without a broker and northbound");
    stack = await startStack({
      north,
      configDir: join(import.meta.dir, "../examples/demo"),
      // the RS-485 line with three meters of one profile (examples/README.md)
      extraConfigDirs: [join(import.meta.dir, "../examples/rs485")],
      ...(args.values.only ? { only: args.values.only.split(",") } : {}),
      ...(external ? { redisUrl: external } : {}),
      noOpcua: args.values["no-opcua"],
      noPty: args.values["no-pty"],
      say,
    });
    bus = await createRedisTagBus({ url: stack.redisUrl, prefix: stack.prefix, producer: "demo" });
    const latest = new Map<string, TagValue>();
    let updates = 0;
    const patterns = stack.configs.flatMap((c) => [
      // a device's tags are one segment deeper: /{conn_id}/{device}/{tag}
      (c.devices ?? []).length > 0 ? `/${c.connection.conn_id}/**` : `/${c.connection.conn_id}/*`,
      `/system/${c.connection.conn_id}/*`,
    ]);
    sub = await bus.subscribe(patterns, (ev) => {
      if (ev.kind === "value") {
        latest.set(ev.value.path, ev.value);
        if (!ev.value.path.startsWith("/system/")) updates++;
      } else if (ev.kind === "resync") for (const v of ev.values) latest.set(v.path, v);
    });
    if (stack.brokerUrl) watch = await NorthWatch.open(stack.brokerUrl);
    const connIds = stack.configs.map((c) => c.connection.conn_id);
    const northView = () => (watch ? `\n\n${watch.render(connIds)}` : "");
    const tryNext = renderTryNext(stack.env, stack.configs);
    if (!interactive) process.stdout.write(`${tryNext}\n`);
    say(
      seconds
        ? `running for ${seconds} s, then stopping everything (Ctrl-C stops it sooner)`
        : "running; Ctrl-C stops the demo and everything it started",
    );
    const started = Date.now();
    while (!stopRequested && (seconds === undefined || Date.now() - started < seconds * 1000)) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
      if (interactive) {
        process.stdout.write(
          `\x1b[2J\x1b[H${renderTable(stack.configs, latest, updates, Date.now())}${northView()}\n\n${tryNext}\n\nCtrl-C stops the demo and everything it started.\n`,
        );
      }
    }
    if (!interactive)
      process.stdout.write(
        `${renderTable(stack.configs, latest, updates, Date.now())}${northView()}\n`,
      );
    return 0;
  } catch (e) {
    process.stderr.write(`[demo] failed: ${e instanceof Error ? e.message : String(e)}\n`);
    if (stack) process.stderr.write(`[demo] logs: ${stack.logFile}\n`);
    return 1;
  } finally {
    say("stopping everything …");
    await sub?.close().catch(() => {});
    await watch?.close().catch(() => {});
    await bus?.close(500).catch(() => {});
    await stack?.stop(args.values.keep);
    say(
      args.values.keep && stack
        ? `stopped; files kept in ${stack.dir}`
        : "stopped; nothing left running",
    );
  }
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
