import { mkdirSync, readFileSync, renameSync, statfsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { NodiError, toNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import type { Identity } from "../core/identity.ts";
import type { Logger } from "../core/log.ts";
import { parseTagPath, SYSTEM_TAGS } from "../core/paths.ts";
import { Backoff } from "../intf/backoff.ts";
import { AppFsm, type AppState } from "../intf/fsm.ts";
import type { Notifier } from "../intf/sd-notify.ts";
import type { AuditRecord } from "../store/audit.ts";
import { NORTH_RESTART_FIELDS, type Northbound, splitList } from "../store/northbound-schema.ts";
import type { ConnectionConfig } from "../store/schema.ts";
import { validateNorthbounds } from "../store/validate-north.ts";
import {
  type AckSubscription,
  type BusEvent,
  OUTCOME_UNKNOWN,
  type Subscription,
  type TagBus,
} from "../tagbus/tagbus.ts";
import { NorthBuffer } from "./buffer.ts";
import type {
  Action,
  BusGap,
  ConnState,
  FormatFactory,
  Gate,
  InMessage,
  NorthFormat,
  OutMessage,
  Step,
} from "./format.ts";
import { loggedValue } from "./format.ts";
import { FORMATS } from "./formats.ts";
import {
  healthSamples,
  lastErrorSample,
  NORTH_HEALTH_INTERVAL_MS,
  type NorthHealth,
} from "./health.ts";
import { Pipeline, type PipelineOptions } from "./pipeline.ts";
import { MqttSession } from "./session.ts";
import { tlsFileProblems } from "./tls-files.ts";
import { selectionPatterns, View } from "./view.ts";

/** Tunables of a {@link NorthApp}; defaults suit production. Times in ms. */
export interface NorthAppOptions extends PipelineOptions {
  healthIntervalMs?: number;
  /**
   * First and longest reconnect delay, ms. Defaults 250 and 1500: with equal jitter a broker
   * that comes back is reached within 0.75–1.5 s (issue 13: live within 2 s of its return).
   */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** CONNECT timeout, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** How long a stop waits for in-flight messages before DISCONNECT, ms. Default 2000. */
  stopSettleMs?: number;
  /** TagBus write timeout for writes from the north, ms. Default 5000. */
  writeTimeoutMs?: number;
}

/** What a {@link NorthApp} is given (the entry point wires the real ones). */
export interface NorthAppDeps {
  northId: string;
  /** Reads the northbound from the SoT; `undefined` = no such northbound. May throw. */
  loadConfig: () => Northbound | undefined;
  /** Every connection with its tags, from the SoT. */
  loadConnections: () => ConnectionConfig[];
  bus: TagBus;
  log: Logger;
  /** `NE_DATA_DIR`; the app uses `{dataDir}/north/{north_id}/`. */
  dataDir: string;
  notifier?: Notifier;
  /** Format factories by kind (tests); default {@link FORMATS}. */
  formats?: Partial<Record<Northbound["kind"], FormatFactory>>;
  /** Host name for the default gateway name. Default `os.hostname()`. */
  hostname?: string;
  /**
   * Records the writes this app refused or got no answer for in the audit trail (the owning
   * interface app records the writes it answered); the entry point passes an `AuditQueue`.
   */
  audit?: (r: AuditRecord) => void;
  options?: NorthAppOptions;
}

class Exit extends Error {
  constructor(
    readonly code: number,
    readonly why: string,
  ) {
    super(why);
  }
}

/** The first durable TagBus subscriber name of a northbound. */
export function durableName(northId: string): string {
  return `north-${northId}`;
}

/**
 * The durable subscriber name in use, kept in `{dir}/bus-subscriber`: a hot reload that
 * changes the tag selection starts a new subscriber (from the current values), so that a
 * newly selected connection's retained history is not published as if it were live; a
 * restart resumes the one in use.
 */
function currentDurable(dir: string, northId: string, log: Logger): string {
  const file = join(dir, "bus-subscriber");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return durableName(northId); // first start
  }
  const n = text.trim();
  if (/^[A-Za-z0-9_.:-]{1,64}$/.test(n)) return n;
  log.warn(
    { file, content: text.slice(0, 40) },
    `north: ${file} is garbled; resuming the TagBus subscriber ${durableName(northId)} (after a change of tag_selection this may publish updates again)`,
  );
  return durableName(northId);
}

function saveDurable(dir: string, name: string): void {
  const f = join(dir, "bus-subscriber");
  writeFileSync(`${f}.tmp`, `${name}\n`);
  renameSync(`${f}.tmp`, f);
}

/**
 * The northbound app of one northbound (`ne-north --north-id=ID`, docs/north.md): life cycle
 * INIT → CONFIGURE → CONNECT → EXECUTE, RECOVER with back-off when the broker is lost, STOP
 * on request; the MQTT session; the data {@link Pipeline}; reloads; health tags.
 *
 * Use: `const code = await app.run()`; `app.requestStop("SIGTERM")`.
 */
export class NorthApp {
  readonly fsm = new AppFsm();
  private readonly log: Logger;
  private readonly bus: TagBus;
  private readonly o: Required<Omit<NorthAppOptions, keyof PipelineOptions>>;
  private readonly view = new View();
  private config!: Northbound;
  private format!: NorthFormat;
  private buffer!: NorthBuffer;
  private dir = "";
  private pipeline!: Pipeline;
  private dataSub: AckSubscription | undefined;
  private controlSub: Subscription | undefined;
  private session: MqttSession | undefined;
  private gate: Gate = "held";
  private urlIndex = 0;
  private broker: string | undefined;
  private backoff: Backoff;
  private healthTimer: ReturnType<typeof setInterval> | undefined;
  private watchdogTimer: ReturnType<typeof setInterval> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private pendingGaps: BusGap[] = [];
  private published = 0;
  private publishedAtLastHealth = 0;
  private lastHealthAt = Date.now();
  private busGaps = 0;
  // control loop events
  private stopWanted: { code: number; why: string } | undefined;
  private reloadWanted = false;
  private connsChanged = false;
  private sessionLost: string | undefined;
  private reconnectWanted: string | undefined;
  private wake: (() => void) | undefined;
  /** Counters since start. */
  readonly counters = {
    writes: 0,
    writesRefused: 0,
    refused: 0,
    reconnects: 0,
    connectFailures: 0,
  };

  constructor(private readonly deps: NorthAppDeps) {
    this.log =
      deps.log.bindings().north === undefined ? deps.log.child({ north: deps.northId }) : deps.log;
    this.bus = deps.bus;
    this.o = {
      healthIntervalMs: NORTH_HEALTH_INTERVAL_MS,
      backoffInitialMs: 250,
      backoffMaxMs: 1500,
      connectTimeoutMs: 10_000,
      stopSettleMs: 2000,
      writeTimeoutMs: 5000,
      ...stripPipeline(deps.options ?? {}),
    };
    this.backoff = new Backoff(this.o.backoffInitialMs, this.o.backoffMaxMs);
    this.fsm.onChange((c) => {
      this.log.info({ from: c.from, to: c.to, reason: c.reason }, `state ${c.to}`);
      deps.notifier?.notify(`STATUS=${c.to}: ${c.reason}`);
      this.publishHealth();
    });
  }

  get state(): AppState {
    return this.fsm.state;
  }

  /** Asks the app to stop: goodbye, DISCONNECT, `run()` resolves with `code`. */
  requestStop(why = "SIGTERM", code: number = EXIT.OK): void {
    this.stopWanted ??= { code, why };
    this.connecting?.abort();
    this.signal();
  }

  /** Asks for a configuration reload, as `/system/{north_id}/config_reload` does. */
  requestReload(): void {
    this.reloadWanted = true;
    this.signal();
  }

  /** The health as published under `/system/{north_id}/`. */
  health(): NorthHealth {
    const now = Date.now();
    const oldest = this.buffer?.oldestTs();
    const dt = Math.max(1, now - this.lastHealthAt);
    return {
      state: this.fsm.state,
      stateReason: this.fsm.reason,
      brokerConnected: this.session?.connected ?? false,
      broker: this.broker,
      buffered: this.buffer?.count ?? 0,
      oldestBufferedAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
      dropped: this.buffer?.dropped ?? 0,
      msgsPerS: Math.round(((this.published - this.publishedAtLastHealth) * 1000) / dt),
      busGaps: this.busGaps,
    };
  }

  /**
   * Runs until stopped. Never throws: every end is an exit code of core/exit-codes.ts —
   * 0 stopped, 75 restart (broker/identity changed), 78 unknown northbound or refused
   * configuration, 80 removed or disabled, 69 the bus or the buffer failed at start.
   */
  async run(): Promise<number> {
    let code: number = EXIT.OK;
    let why = "stopped";
    // systemd's watchdog (WatchdogSec=): fed from the event loop at half its period, so a
    // hung loop is restarted, a slow broker or a long outage is not
    const wd = this.deps.notifier?.watchdogMs;
    if (wd !== undefined) {
      this.deps.notifier?.notify("WATCHDOG=1");
      this.watchdogTimer = setInterval(
        () => this.deps.notifier?.notify("WATCHDOG=1"),
        Math.max(100, wd / 2),
      );
    }
    try {
      await this.configure();
      await this.loop();
      code = this.stopWanted?.code ?? EXIT.OK;
      why = this.stopWanted?.why ?? "stopped";
    } catch (e) {
      if (e instanceof Exit) {
        code = e.code;
        why = e.why;
        this.log.error({ code }, why);
      } else {
        const err = toNodiError(e);
        this.recordError(err);
        code = err.kind === "communication" ? EXIT.UNAVAILABLE : EXIT.CRASH;
        why = err.message;
        this.log.error({ err: err.message, code }, `north: ${err.message}`);
      }
    }
    await this.shutdown(why);
    return code;
  }

  private async configure(): Promise<void> {
    this.fsm.go("CONFIGURE", "starting");
    const cfg = this.deps.loadConfig();
    if (!cfg) throw new Exit(EXIT.CONFIG, `northbound ${this.deps.northId} does not exist`);
    if (!cfg.enabled) throw new Exit(EXIT.REMOVED, `northbound ${this.deps.northId} is disabled`);
    // a row written around the store's validation (by hand, by an older version) must not crash
    const checked = validateNorthbounds([cfg]);
    if (!checked.ok)
      throw new Exit(
        EXIT.CONFIG,
        `northbound ${this.deps.northId}: the stored configuration is refused: ${checked.issues
          .map((i) => i.message)
          .join(
            "; ",
          )} (correct it with nodi-edge north add ${this.deps.northId} --update … or an import)`,
      );
    const tls = tlsFileProblems(cfg);
    if (tls.length > 0)
      throw new Exit(EXIT.CONFIG, `northbound ${this.deps.northId}: ${tls.join("; ")}`);
    this.config = cfg;
    const factory = this.deps.formats?.[cfg.kind] ?? (await FORMATS[cfg.kind]());
    const dir = join(this.deps.dataDir, "north", this.deps.northId);
    try {
      mkdirSync(dir, { recursive: true });
      this.buffer = new NorthBuffer(join(dir, "buffer.db"), limitsOf(cfg));
    } catch (e) {
      throw dataDirExit(dir, e);
    }
    this.warnBufferOverDisk(dir, cfg);
    this.view.configure(selectionPatterns(cfg.tag_selection), this.deps.loadConnections());
    const gateway = cfg.gateway ?? sanitize(this.deps.hostname ?? hostname());
    try {
      this.format = factory({
        northId: this.deps.northId,
        north: cfg,
        gateway,
        clientId: cfg.client_id ?? `nodi-edge-${gateway}-${this.deps.northId}`,
        dataDir: dir,
        log: this.log.child({ part: cfg.kind }),
        now: Date.now,
        view: this.view,
      });
    } catch (e) {
      throw new Exit(EXIT.CONFIG, `northbound ${this.deps.northId}: ${toNodiError(e).message}`);
    }
    this.pipeline = new Pipeline({
      view: this.view,
      buffer: this.buffer,
      log: this.log,
      format: () => this.format,
      live: () => (this.gate === "open" && this.session?.connected ? this.session : undefined),
      minIntervalMs: () => this.config.min_interval_ms,
      onGap: (g) => this.onGap(g),
      onConnChanged: (now, prev) => this.onConnChanged(now, prev),
      onDropped: (n) => this.onDropped(n),
      onPublished: (n) => {
        this.published += n;
      },
      onBufferFailed: (err, n) => this.onBufferFailed(dir, err, n),
      ...(this.deps.options ? { options: this.deps.options } : {}),
    });
    this.controlSub = await this.bus.subscribe(
      [
        SYSTEM_TAGS.configReload(this.deps.northId),
        SYSTEM_TAGS.connAdded,
        SYSTEM_TAGS.connRemoved,
        "/system/*/config_reload",
      ],
      (e) => this.onControl(e),
    );
    this.dir = dir;
    await this.subscribeData(currentDurable(dir, this.deps.northId, this.log));
    this.healthTimer = setInterval(() => this.publishHealth(), this.o.healthIntervalMs);
    this.setRefresh();
    this.deps.notifier?.notify("READY=1");
  }

  /**
   * Warns when `buffer_max_mib` is more than the free space of the data dir: the disk would
   * fill before the cap, and a full disk stops ne-north (exit 69) instead of dropping the
   * oldest updates, countably.
   */
  private warnBufferOverDisk(dir: string, cfg: Northbound): void {
    try {
      const fs = statfsSync(dir);
      const freeMib =
        Math.floor((fs.bavail * fs.bsize) / 1048576) + Math.ceil(this.buffer.bytes / 1048576);
      if (cfg.buffer_max_mib > freeMib)
        this.log.warn(
          { bufferMaxMib: cfg.buffer_max_mib, freeMib, dir },
          `north: buffer_max_mib ${cfg.buffer_max_mib} is more than the ${freeMib} MiB free in ${dir}: the disk would fill before the cap (then ne-north stops with exit 69 instead of dropping the oldest); lower buffer_max_mib`,
        );
    } catch {
      // statfs unsupported: nothing to compare
    }
  }

  private async subscribeData(name: string): Promise<void> {
    const patterns = [
      ...selectionPatterns(this.config.tag_selection),
      "/system/*/state",
      "/system/*/devices",
    ];
    const sub = await this.bus.subscribe(patterns, this.pipeline.handle, {
      durable: name,
      manualAck: true,
    });
    saveDurable(this.dir, name);
    this.pipeline.attach(sub);
    this.dataSub = sub;
  }

  private setRefresh(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    const every = this.config.refresh_interval_ms;
    if (every > 0) {
      this.refreshTimer = setInterval(() => {
        const s = this.liveSession();
        if (!s) return;
        this.publishAll(
          s,
          this.format.encode([...this.view.current().values()], { historical: false }),
        );
      }, every);
    }
  }

  private liveSession(): MqttSession | undefined {
    return this.gate === "open" && this.session?.connected ? this.session : undefined;
  }

  private onControl(e: BusEvent): void {
    if (e.kind !== "value") return;
    const p = parseTagPath(e.value.path);
    if (p?.kind !== "system") return;
    if (p.appId === this.deps.northId && p.name === "config_reload") {
      this.reloadWanted = true;
    } else if (p.appId === "supervisor" || p.name === "config_reload") {
      // a connection was added, removed or changed: the tag definitions may differ
      if (p.appId === "supervisor" || this.view.conns().has(p.appId)) this.connsChanged = true;
      else {
        const cfgs = this.deps.loadConnections();
        if (cfgs.some((c) => c.connection.conn_id === p.appId)) this.connsChanged = true;
      }
    }
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async waitEvent(ms: number): Promise<void> {
    if (
      this.stopWanted ||
      this.reloadWanted ||
      this.connsChanged ||
      this.sessionLost ||
      this.reconnectWanted
    )
      return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    this.fsm.go("CONNECT", "connecting to the broker");
    while (!this.stopWanted) {
      if (!this.session) {
        const ok = await this.connect();
        if (this.stopWanted) break;
        if (!ok) {
          if (this.fsm.state !== "RECOVER")
            this.fsm.go("RECOVER", `broker unreachable: ${this.lastErr}`);
          await this.waitEvent(this.backoff.next());
          if (this.stopWanted) break;
          await this.handleControl();
          if (!this.stopWanted && this.fsm.state === "RECOVER") this.fsm.go("CONNECT", "retrying");
          continue;
        }
        this.backoff.reset();
        if (this.fsm.state !== "EXECUTE") this.fsm.go("EXECUTE", `connected to ${this.broker}`);
      }
      await this.waitEvent(1000);
      if (this.stopWanted) break;
      await this.handleControl();
      if (this.reconnectWanted && this.session) {
        const why = this.reconnectWanted;
        this.reconnectWanted = undefined;
        this.log.warn({ reason: why }, "north: reconnecting");
        await this.endSession(true);
        this.urlIndex++;
        this.fsm.go("RECOVER", why);
        this.fsm.go("CONNECT", "reconnecting");
      }
      if (this.sessionLost) {
        const why = this.sessionLost;
        this.sessionLost = undefined;
        this.recordError(
          new NodiError("communication", `broker connection lost: ${why}`, "disconnected"),
        );
        this.log.warn(
          { broker: this.broker, reason: why },
          `north: broker connection lost: ${why}`,
        );
        this.session = undefined;
        this.format.offline();
        this.gate = "held";
        this.publishHealth();
        if (this.fsm.state === "EXECUTE") this.fsm.go("RECOVER", `broker connection lost: ${why}`);
        await this.waitEvent(this.backoff.next());
        if (!this.stopWanted && this.fsm.state === "RECOVER")
          this.fsm.go("CONNECT", "reconnecting");
      }
    }
  }

  private lastErr = "";
  /** Aborts the CONNECT in progress (a stop does not wait for a broker that never answers). */
  private connecting: AbortController | undefined;

  /** One CONNECT attempt to the current URL; on failure the next URL is tried next time. */
  private async connect(): Promise<boolean> {
    const urls = splitList(this.config.broker_urls);
    const url = urls[this.urlIndex % urls.length]!;
    this.broker = url;
    let plan: ReturnType<NorthFormat["beginConnect"]>;
    try {
      plan = this.format.beginConnect(); // Sparkplug: saves the next bdSeq (fsync) first
    } catch (e) {
      const why = `cannot prepare the CONNECT: ${toNodiError(e).message}; exiting (restarted with back-off)`;
      this.log.error({ err: String(e) }, `north: ${why}`);
      this.recordError(new NodiError("communication", why, "connect_prepare_failed"), true);
      this.requestStop(why, EXIT.UNAVAILABLE);
      return false;
    }
    const gateway = this.config.gateway ?? sanitize(this.deps.hostname ?? hostname());
    let session: MqttSession;
    this.connecting = new AbortController();
    try {
      session = await MqttSession.open({
        url,
        clientId: this.config.client_id ?? `nodi-edge-${gateway}-${this.deps.northId}`,
        username: this.config.username ?? null,
        password: this.config.password ?? null,
        keepaliveS: this.config.keepalive_s,
        tlsCaFile: this.config.tls_ca_file ?? null,
        tlsCertFile: this.config.tls_cert_file ?? null,
        tlsKeyFile: this.config.tls_key_file ?? null,
        will: plan.will,
        ...(plan.protocolVersion ? { protocolVersion: plan.protocolVersion } : {}),
        connectTimeoutMs: this.o.connectTimeoutMs,
        signal: this.connecting.signal,
        log: this.log,
        onMessage: (m) => this.onMessage(m),
        onClose: (reason) => {
          this.sessionLost = reason;
          this.signal();
        },
      });
    } catch (e) {
      this.connecting = undefined;
      if (this.stopWanted) return false;
      const err = toNodiError(e);
      this.counters.connectFailures++;
      this.lastErr = err.message;
      if (this.counters.connectFailures === 1 || this.backoff.attempts % 10 === 0)
        this.log.warn({ broker: url, err: err.message }, `north: cannot connect: ${err.message}`);
      this.recordError(err);
      if (urls.length > 1) this.urlIndex++;
      return false;
    }
    this.connecting = undefined;
    try {
      await session.subscribe(this.format.subscriptions());
    } catch (e) {
      const err = toNodiError(e);
      this.lastErr = err.message;
      this.recordError(err);
      this.log.warn({ broker: url, err: err.message }, `north: subscribe failed: ${err.message}`);
      session.destroy();
      return false;
    }
    this.session = session;
    this.counters.reconnects++;
    this.log.info({ broker: url }, "north: connected");
    this.pipeline.resetReplay();
    this.applyStep(this.format.online(), "connected");
    this.publishHealth();
    return true;
  }

  /** Publishes a step's messages and sets the gate. */
  private applyStep(step: Step, why: string): void {
    const s = this.session;
    if (!s) return;
    this.publishAll(s, step.publish);
    this.setGate(step.gate, why);
  }

  private setGate(gate: Gate, why: string): void {
    const was = this.gate;
    this.gate = gate;
    if (gate === "open") {
      if (was !== "open") {
        const gaps = this.pendingGaps.splice(0);
        for (const g of gaps) this.onGap(g);
      }
      this.pipeline.kick();
    } else if (was === "open") {
      this.log.info({ reason: why }, "north: data held");
    }
  }

  private publishAll(s: MqttSession, msgs: OutMessage[]): void {
    for (const m of msgs)
      s.publish(m).then(
        () => {
          this.published++;
        },
        () => {},
      );
  }

  private onGap(g: BusGap): void {
    if (g.reason !== "buffer_full") this.busGaps += g.dropped ?? 1;
    const s = this.liveSession();
    if (!s) {
      this.pendingGaps.push(g);
      return;
    }
    this.applyStep(this.format.busGap(g), `gap: ${g.reason}`);
  }

  private onConnChanged(now: ConnState, prev: ConnState | undefined): void {
    const s = this.liveSession();
    if (!s) return; // online()/open cover the current states
    this.publishAll(s, this.format.connChanged(now, prev));
  }

  /**
   * The buffer cannot be written (disk full, I/O error). The updates it refused are not
   * acknowledged on the TagBus, so ne-north exits 69 (restarted with back-off) and reads them
   * again from its saved TagBus position: nothing the bus still holds is lost, and the cause
   * is said once, with the path.
   */
  private onBufferFailed(dir: string, err: Error, n: number): void {
    if (this.stopWanted) return;
    const code = (err as { code?: unknown }).code;
    const full = code === "SQLITE_FULL" || code === "ENOSPC" || /disk is full/.test(err.message);
    const why = `cannot write the store-and-forward buffer in ${dir}: ${err.message}${
      full ? " (the disk is full)" : ""
    }; ${n} updates not stored, exiting to read them again from the TagBus`;
    this.log.error({ err: err.message, code, updates: n }, `north: ${why}`);
    this.recordError(
      new NodiError("communication", why, full ? "disk_full" : "buffer_failed"),
      true,
    );
    this.requestStop(why, EXIT.UNAVAILABLE);
  }

  private droppedLogAt = 0;
  private droppedSinceLog = 0;

  private onDropped(n: number): void {
    this.droppedSinceLog += n;
    const now = Date.now();
    if (now - this.droppedLogAt > 60_000) {
      this.log.warn(
        { dropped: this.droppedSinceLog, total: this.buffer.dropped, buffered: this.buffer.count },
        `north: buffer full: dropped the ${this.droppedSinceLog} oldest buffered updates`,
      );
      this.droppedLogAt = now;
      this.droppedSinceLog = 0;
    }
    this.recordError(
      new NodiError(
        "configuration",
        `buffer full: dropped ${n} oldest updates (total ${this.buffer.dropped})`,
        "buffer_full",
      ),
    );
    this.onGap({ reason: "buffer_full", dropped: n, ts: now });
  }

  private onMessage(m: InMessage): void {
    let actions: Action[];
    try {
      actions = this.format.incoming(m);
    } catch (e) {
      this.log.warn({ topic: m.topic, err: String(e) }, "north: incoming message refused");
      return;
    }
    for (const a of actions) void this.act(a);
  }

  private async act(a: Action): Promise<void> {
    const s = this.session;
    switch (a.kind) {
      case "publish":
        if (s) this.publishAll(s, a.messages);
        return;
      case "refuse":
        this.counters.refused++;
        this.log.warn(
          { origin: a.origin, reason: a.reason, ...a.detail },
          `north: refused: ${a.reason}`,
        );
        // a refused write command (it names a tag path): audited; other refusals (STATE,
        // rebirth, garbage on other topics) are only logged
        if (typeof a.detail?.path === "string") {
          this.auditWrite(a.origin, a.detail.path, a.detail.value, {
            ok: false,
            reason: a.reason.split(":")[0] ?? a.reason,
          });
        }
        return;
      case "hold":
        this.setGate("held", a.reason);
        return;
      case "open":
        if (s) this.publishAll(s, a.publish);
        this.setGate("open", a.reason);
        return;
      case "reconnect":
        this.reconnectWanted = a.reason;
        this.signal();
        return;
      case "write": {
        const tag = this.view.tags().get(a.path);
        if (!this.config.writes_enabled || !tag?.writable) {
          this.counters.writesRefused++;
          const reason = !this.config.writes_enabled
            ? "writes_disabled"
            : tag
              ? "read_only"
              : "not_found";
          this.log.warn(
            { origin: a.reply.origin, path: a.path, reason },
            `north: write refused: ${reason}`,
          );
          this.auditWrite(a.reply.origin, a.path, a.value, { ok: false, reason });
          if (s)
            this.publishAll(s, this.format.writeResult(a.reply, a.path, { ok: false, reason }));
          return;
        }
        this.counters.writes++;
        const result = await this.bus.write(a.path, a.value, {
          origin: a.reply.origin,
          identity: this.identity(a.reply.origin),
          timeoutMs: this.o.writeTimeoutMs,
        });
        // the owning app records what it answered; an unanswered write is recorded here
        if (!result.ok && result.writerSide)
          this.auditWrite(a.reply.origin, a.path, a.value, result);
        this.log.info(
          { origin: a.reply.origin, path: a.path, value: loggedValue(a.value), result },
          `north: write from the north ${a.path} = ${JSON.stringify(loggedValue(a.value))}: ${result.ok ? "ok" : result.reason}`,
        );
        const now = this.session;
        if (now?.connected) this.publishAll(now, this.format.writeResult(a.reply, a.path, result));
        return;
      }
    }
  }

  /**
   * The identity of a command relayed from the broker: this northbound (`north:ID`), from the
   * broker it is connected to as its own MQTT client id, and the command's topic (`origin`,
   * which may carry a client name the sender declared itself: not verified, the broker
   * authenticated the sender, Nodi Edge did not).
   */
  private identity(origin: string): Identity {
    const gateway = this.config.gateway ?? sanitize(this.deps.hostname ?? hostname());
    const clientId = this.config.client_id ?? `nodi-edge-${gateway}-${this.deps.northId}`;
    return {
      via: "north",
      who: this.deps.northId,
      from: `${this.config.broker_urls} as ${clientId}, ${origin}`,
    };
  }

  /** Records a write command this app refused, or whose result it made itself (no answer). */
  private auditWrite(
    origin: string,
    path: string,
    value: unknown,
    result: { ok: false; reason: string; message?: string },
  ): void {
    this.deps.audit?.({
      kind: "write",
      identity: this.identity(origin),
      action: "tag.write",
      target: path,
      ...(value !== undefined ? { value: loggedValue(value) } : {}),
      result: result.reason === OUTCOME_UNKNOWN ? "outcome_unknown" : "refused",
      reason: result.reason,
      detail: result.message ? { message: result.message } : {},
    });
  }

  /** Reloads after `config_reload` or a change of connections. */
  private async handleControl(): Promise<void> {
    if (!this.reloadWanted && !this.connsChanged) return;
    const own = this.reloadWanted;
    this.reloadWanted = false;
    this.connsChanged = false;
    let next: Northbound | undefined = this.config;
    if (own) {
      try {
        next = this.deps.loadConfig();
      } catch (e) {
        this.log.error(
          { err: String(e) },
          "north: reading the configuration failed; keeping the current one",
        );
        return;
      }
      if (!next) {
        this.requestStop(`northbound ${this.deps.northId} was removed`, EXIT.REMOVED);
        return;
      }
      if (!next.enabled) {
        this.requestStop(`northbound ${this.deps.northId} was disabled`, EXIT.REMOVED);
        return;
      }
      const changed = (Object.keys(next) as (keyof Northbound)[]).filter(
        (k) => NORTH_RESTART_FIELDS.has(k) && next![k] !== this.config[k],
      );
      if (changed.length) {
        this.requestStop(`restart: ${changed.join(", ")} changed`, EXIT.RESTART);
        return;
      }
    }
    const from = this.fsm.state;
    const inExecute = from === "EXECUTE";
    if (inExecute) this.fsm.go("CONFIGURE", own ? "config_reload" : "connections changed");
    const oldPatterns = this.config.tag_selection;
    this.config = next;
    this.buffer.setLimits(limitsOf(next));
    const configs = this.deps.loadConnections();
    const before = new Map(this.view.conns());
    this.view.configure(selectionPatterns(next.tag_selection), configs);
    // a connection that left the view: say so upstream (retained state topic / DDEATH), so a
    // consumer is not left with its last "up" state
    const live = this.liveSession();
    for (const [id, prev] of before) {
      if (this.view.conns().has(id) || !live) continue;
      const exists = configs.some((c) => c.connection.conn_id === id);
      const gone: ConnState = {
        connId: id,
        appState: "STOP",
        up: false,
        reason: exists ? "not selected" : "removed",
        ts: Date.now(),
      };
      this.publishAll(live, this.format.connChanged(gone, prev));
    }
    if (next.tag_selection !== oldPatterns) {
      this.pipeline.flush();
      await this.pipeline.settle(this.o.stopSettleMs);
      const old = this.dataSub;
      this.dataSub = undefined;
      await old?.close();
      await this.subscribeData(
        `${durableName(this.deps.northId).slice(0, 55)}.${Date.now().toString(36)}`,
      );
    }
    this.setRefresh();
    const step = this.format.reload(next);
    if (this.session) this.applyStep(step, "reload");
    this.log.info(
      { selection: next.tag_selection, tags: this.view.tags().size },
      "north: configuration reloaded",
    );
    if (inExecute) {
      this.fsm.go("CONNECT", "reloaded");
      this.fsm.go("EXECUTE", "reloaded");
    }
  }

  private async endSession(goodbye: boolean): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    this.gate = "held";
    if (goodbye) await s.end(this.format.goodbye());
    else s.destroy();
    this.format.offline();
  }

  private async shutdown(why: string): Promise<void> {
    this.deps.notifier?.notify("STOPPING=1");
    if (this.fsm.state !== "STOP") this.fsm.go("STOP", why);
    this.pipeline?.flush();
    if (this.session) {
      await this.pipeline?.settle(this.o.stopSettleMs);
      await this.endSession(true).catch(() => {});
    }
    this.pipeline?.stop();
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.dataSub?.close().catch(() => {});
    await this.controlSub?.close().catch(() => {});
    this.publishHealth();
    this.buffer?.close();
  }

  private lastErrorAt = 0;

  private recordError(err: NodiError, always = false): void {
    const now = Date.now();
    if (!always && now - this.lastErrorAt < 1000) return;
    this.lastErrorAt = now;
    this.bus
      .publish([
        lastErrorSample(this.deps.northId, {
          at: now,
          kind: err.kind,
          reason: err.reason ?? err.kind,
          message: err.message,
        }),
      ])
      .catch(() => {});
  }

  private publishHealth(): void {
    const h = this.health();
    this.lastHealthAt = Date.now();
    this.publishedAtLastHealth = this.published;
    this.bus
      .publish(healthSamples(this.deps.northId, h, Date.now()))
      .catch((e) => this.log.warn({ err: String(e) }, "north: health publish failed"));
  }
}

/**
 * The exit for a data dir that cannot hold the buffer: a full disk (ENOSPC, SQLITE_FULL) may
 * clear, so 69 (restarted with back-off); anything else (EACCES, EROFS, ENOTDIR, a corrupt
 * buffer.db) needs a person, so 78 (not restarted), with the path and the cause.
 */
function dataDirExit(dir: string, e: unknown): Exit {
  const err = e as { code?: unknown; message?: string };
  const code = typeof err.code === "string" ? err.code : "";
  const msg = err.message ?? String(e);
  const full = code === "ENOSPC" || code === "SQLITE_FULL" || /disk is full|ENOSPC/.test(msg);
  return new Exit(
    full ? EXIT.UNAVAILABLE : EXIT.CONFIG,
    `cannot keep the store-and-forward buffer in ${dir}: ${msg}` +
      (full
        ? " (the disk is full; free space, ne-north retries)"
        : " (NE_DATA_DIR must be a directory the service user can write)"),
  );
}

function limitsOf(cfg: Northbound): { maxBytes: number; maxAgeMs: number } {
  return { maxBytes: cfg.buffer_max_mib * 1024 * 1024, maxAgeMs: cfg.buffer_max_age_s * 1000 };
}

/** A host name usable as a topic level: `/ + #` and spaces become `-`. */
function sanitize(name: string): string {
  return name.replace(/[/+#\s]/g, "-").slice(0, 64) || "gateway";
}

function stripPipeline(o: NorthAppOptions): Omit<NorthAppOptions, keyof PipelineOptions> {
  const { maxInflight, flushAt, replayBatch, replayWindow, replayMaxPerS, ...rest } = o;
  void maxInflight;
  void flushAt;
  void replayBatch;
  void replayWindow;
  void replayMaxPerS;
  return rest;
}
