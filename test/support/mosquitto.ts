import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startPeer, tcpAccepts } from "./peer.ts";
import { freePort } from "./ports.ts";
import { tempDir } from "./tmp.ts";

/** Debian's broker (ensure-deps installs it). */
export const MOSQUITTO = "/usr/sbin/mosquitto";

/**
 * A private mosquitto broker on a free loopback port, with its own config in its own temp dir,
 * for one test file. `stop()`/`start()` stop and restart it on the same port (a broker outage);
 * `shutdown()` removes everything. No persistence: a restarted broker has no retained
 * messages and no sessions (like a broker that lost its state), unless `persistence` is set.
 */
export class Mosquitto {
  port = 0;
  private proc: Subprocess | undefined;
  private readonly dir = tempDir("ne-mosquitto-");

  constructor(
    private readonly opts: {
      /** Keep retained messages across `stop()`/`start()` (mosquitto `persistence true`). */
      persistence?: boolean;
      /** Extra lines for mosquitto.conf (e.g. TLS listener settings). */
      extraConf?: string[];
    } = {},
  ) {}

  /** `mqtt://127.0.0.1:{port}`. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The broker's directory (config, persistence file). */
  get dirPath(): string {
    return this.dir.path;
  }

  /** Starts the broker (on a new free port the first time) and waits until it accepts TCP. */
  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const conf = join(this.dir.path, "mosquitto.conf");
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        "allow_anonymous true",
        // started as root, mosquitto would drop to user "mosquitto", which cannot write here
        ...(userInfo().uid === 0 ? ["user root"] : []),
        `persistence ${this.opts.persistence ? "true" : "false"}`,
        `persistence_location ${this.dir.path}/`,
        "log_dest stderr",
        "log_type error",
        "max_queued_messages 0",
        ...(this.opts.extraConf ?? []),
        "",
      ].join("\n"),
    );
    this.proc = await startPeer([MOSQUITTO, "-c", conf], () => tcpAccepts(this.port), {
      name: "mosquitto",
    });
    return this;
  }

  /** Stops the broker (SIGKILL when `hard`, else SIGTERM) and waits for it to exit. */
  async stop(hard = false): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    p.kill(hard ? "SIGKILL" : "SIGTERM");
    await p.exited;
  }

  /** Sends `sig` to the broker, e.g. `SIGSTOP` (it hangs with its connections open) and `SIGCONT`. */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** True while the broker process runs. */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Stops the broker and removes its directory. */
  async shutdown(): Promise<void> {
    await this.stop(true);
    this.dir.cleanup();
  }
}
