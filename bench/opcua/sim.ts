import { join } from "node:path";
import { freePort } from "../../test/support/ports.ts";

const root = join(import.meta.dir, "../..");

/** Reads stdout until one JSON object has been printed; returns it. */
export async function readJsonLine(
  stream: ReadableStream<Uint8Array>,
): Promise<Record<string, unknown>> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("}")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child exited before printing JSON: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));
}

/** The bench simulator, in its own process. */
export interface BenchSim {
  endpointUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts `nodi-edge opcua sim --bench-items N --bench-period-ms P` from source in its own
 * process (`Press.Bench.V0000…`: Doubles counting up by one every P ms), PKI under `dir`.
 */
export async function startBenchSim(o: {
  items: number;
  period: number;
  port?: number;
  dir: string;
}): Promise<BenchSim> {
  const sim = Bun.spawn(
    [
      process.execPath,
      join(root, "src/cli/main.ts"),
      "--json",
      "opcua",
      "sim",
      "--port",
      String(o.port ?? (await freePort())),
      "--tick-ms",
      "0",
      "--bench-items",
      String(o.items),
      "--bench-period-ms",
      String(o.period),
      "--pki",
      join(o.dir, "sim-pki"),
    ],
    {
      cwd: root,
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, NE_DATA_DIR: o.dir },
    },
  );
  const stop = async () => {
    sim.kill("SIGTERM");
    await sim.exited;
  };
  try {
    const info = await readJsonLine(sim.stdout);
    return { endpointUrl: info.endpoint_url as string, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
