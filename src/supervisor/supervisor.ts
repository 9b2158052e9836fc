import { type Logger, silentLogger } from "../core/log.ts";
import { SYSTEM_TAGS } from "../core/paths.ts";
import type { Northbound } from "../store/northbound-schema.ts";
import type { Connection } from "../store/schema.ts";
import type { JournalEntry } from "../store/store.ts";
import type { BusEvent, Subscription, TagBus } from "../tagbus/tagbus.ts";
import { JOURNAL_LOOKBACK, pendingReload } from "./pending-reload.ts";
import type {
  AppTemplate,
  InstanceLimits,
  InstanceStatus,
  ServiceManager,
} from "./service-manager.ts";
import { ServiceTagPublisher } from "./service-tags.ts";

/** The part of the store the supervisor reads (the SoT). */
export interface ConnectionSource {
  listConnections(): Connection[];
  getConnection(connId: string): Connection | undefined;
  /**
   * The change journal (newest last), for re-announcing changes whose `config_reload` never
   * reached the TagBus; without it the reconcile cannot heal those.
   */
  journal?(opts: { connId?: string; limit?: number }): JournalEntry[];
  /** Every northbound; without it the supervisor runs no `ne-north` apps. */
  listNorthbounds?(): Northbound[];
  /** One northbound, or `undefined`. */
  getNorthbound?(northId: string): Northbound | undefined;
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  store: ConnectionSource;
  bus: TagBus;
  manager: ServiceManager;
  /** Period of the safety-net reconcile, ms (`NE_RECONCILE_INTERVAL_MS`). */
  reconcileIntervalMs: number;
  /** Period at which instance statuses are checked and published as `/system/{id}/service`, ms. Default 2000. */
  statusIntervalMs?: number;
  /** Durable subscriber name. Default `supervisor`. */
  durableName?: string;
  log?: Logger;
}

/**
 * Least time between two stream reads of the supervisor's subscription, ms
 * ({@link SubscribeOptions.readGapMs}): its `/system/...` events arrive up to this much later.
 */
export const SUPERVISOR_READ_GAP_MS = 250;

/** The durable subscription's patterns: the supervisor's four system tags and every app's reload. */
export const SUPERVISOR_PATTERNS = [
  SYSTEM_TAGS.connAdded,
  SYSTEM_TAGS.connRemoved,
  SYSTEM_TAGS.northAdded,
  SYSTEM_TAGS.northRemoved,
  "/system/*/config_reload",
];

/** The limits of a connection or a northbound, as the service manager takes them. */
export function limitsOf(c: Pick<Connection, "memory_max" | "cpu_quota">): InstanceLimits {
  return { memoryMax: c.memory_max ?? null, cpuQuota: c.cpu_quota ?? null };
}

/** The system tags that name an app to reconcile, and the template of that app. */
const ANNOUNCED: Record<string, AppTemplate> = {
  [SYSTEM_TAGS.connAdded]: "ne-intf",
  [SYSTEM_TAGS.connRemoved]: "ne-intf",
  [SYSTEM_TAGS.northAdded]: "ne-north",
  [SYSTEM_TAGS.northRemoved]: "ne-north",
};

/**
 * `ne-supervisor`'s logic (DESIGN.md §2): makes the service manager run exactly one app per
 * enabled connection (`ne-intf@ID`) and per enabled northbound (`ne-north@ID`) of the SoT. It keeps no state of its own: every decision re-reads the
 * SoT and asks the manager, so a restarted supervisor neither duplicates nor orphans apps.
 *
 * - {@link start}: reconciles, then follows `conn_added` / `conn_removed`, `north_added` /
 *   `north_removed` (and
 *   `config_reload`, to refresh limits) as the DURABLE subscriber `supervisor`, so changes
 *   made while it was down are delivered when it comes back; reconciles again every
 *   `reconcileIntervalMs` and after any gap in delivery.
 * - Every operation runs one at a time, in order (a queue), so an add and a remove of the
 *   same connection never interleave.
 */
export class Supervisor {
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private sub: Subscription | undefined;
  private subscribing: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private readonly tags: ServiceTagPublisher;
  private stopped = false;
  /** Reconciles done (tests, logs). */
  reconciles = 0;

  constructor(private readonly o: SupervisorOptions) {
    this.log = o.log ?? silentLogger;
    this.tags = new ServiceTagPublisher(o.bus, o.manager, this.log, o.statusIntervalMs ?? 2000);
  }

  /** Subscribes (retrying in the background while the bus is unreachable), reconciles, starts the timers. */
  async start(): Promise<void> {
    // subscribe first (in the background: it retries while the bus is unreachable), so that
    // no change made during the first reconcile can fall between the two
    this.subscribing = this.subscribe();
    await this.reconcile();
    if (this.stopped) return;
    this.timer = setInterval(
      () => void this.reconcile().catch(() => {}),
      this.o.reconcileIntervalMs,
    );
    this.statusTimer = setInterval(
      () => void this.enqueue(() => this.tags.refresh()).catch(() => {}),
      this.o.statusIntervalMs ?? 2000,
    );
  }

  /** Stops following changes and the timers; the apps are the manager's business (see `close`). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.subscribing;
    await this.sub?.close().catch(() => {});
    await this.queue.catch(() => {});
  }

  /**
   * Full reconcile: enabled connections of the SoT ↔ the manager's instances. Adds (with
   * limits) every enabled connection whose app is not running or restarting; removes every
   * instance whose connection is gone or disabled; sends `config_reload` to every running app
   * whose configuration changed after its start and after the last announcement (a change
   * committed while Redis was down, see {@link pendingReload}). Logs and skips a failing
   * connection.
   */
  reconcile(): Promise<void> {
    return this.enqueue(async () => {
      for (const template of this.templates()) {
        const wanted = this.wanted(template);
        for (const id of await this.o.manager.list(template)) {
          if (!wanted.has(id))
            await this.guard(id, () => this.removeApp(id, template, "not in the SoT or disabled"));
        }
        for (const [id, limits] of wanted) {
          const st = await this.o.manager.status(id, template).catch(() => undefined);
          if (st?.state === "active") {
            // needs the bus, not the manager: a bus outage is not the manager's failure
            await this.announceMissed(id, st).catch((e) =>
              this.log.warn(
                { conn: id, err: e instanceof Error ? e.message : String(e) },
                "configuration changes never announced: not looked for; the next reconcile tries again",
              ),
            );
          }
          if (st && (st.state === "active" || st.state === "activating")) continue;
          await this.guard(id, () =>
            this.addApp(
              id,
              template,
              limits,
              st ? `was ${st.state} (${st.subState})` : "not running",
            ),
          );
        }
      }
      this.reconciles++;
      await this.tags.refresh();
    });
  }

  /**
   * Brings one app in line with the SoT (after a system tag names it): the connection's
   * (`ne-intf`, default) or the northbound's (`ne-north`).
   */
  reconcileOne(connId: string, why: string, template: AppTemplate = "ne-intf"): Promise<void> {
    return this.enqueue(async () => {
      const limits = this.wantedOne(template, connId);
      await this.guard(connId, async () => {
        if (limits) await this.addApp(connId, template, limits, why);
        else if (
          (await this.o.manager.status(connId, template)) ||
          (await this.o.manager.list(template)).includes(connId)
        ) {
          await this.removeApp(connId, template, why);
        }
      });
      await this.tags.refresh();
    });
  }

  /** The templates this supervisor runs: `ne-north` only with a store that has northbounds. */
  private templates(): AppTemplate[] {
    return this.o.store.listNorthbounds ? ["ne-intf", "ne-north"] : ["ne-intf"];
  }

  /** The apps of `template` the SoT wants running (enabled rows), with their limits. */
  private wanted(template: AppTemplate): Map<string, InstanceLimits> {
    const rows: { id: string; enabled: boolean; limits: InstanceLimits }[] =
      template === "ne-north"
        ? (this.o.store.listNorthbounds?.() ?? []).map((n) => ({
            id: n.north_id,
            enabled: n.enabled,
            limits: limitsOf(n),
          }))
        : this.o.store
            .listConnections()
            .map((c) => ({ id: c.conn_id, enabled: c.enabled, limits: limitsOf(c) }));
    return new Map(rows.filter((r) => r.enabled).map((r) => [r.id, r.limits] as const));
  }

  /** The limits of one app the SoT wants running, or `undefined` when it is absent or disabled. */
  private wantedOne(template: AppTemplate, id: string): InstanceLimits | undefined {
    const row =
      template === "ne-north" ? this.o.store.getNorthbound?.(id) : this.o.store.getConnection(id);
    return row?.enabled ? limitsOf(row) : undefined;
  }

  /** Publishes `config_reload` for `connId` when the journal has a change its app never heard of. */
  private async announceMissed(connId: string, st: InstanceStatus): Promise<void> {
    if (!this.o.store.journal) return;
    const entries = this.o.store.journal({ connId, limit: JOURNAL_LOOKBACK });
    if (entries.length === 0) return;
    const path = SYSTEM_TAGS.configReload(connId);
    const last = await this.o.bus.get(path); // throws while Redis is down: try next time
    const missed = pendingReload(entries, last?.ts ?? 0, st.since ?? 0);
    if (!missed) return;
    this.log.info(
      { conn: connId, journal_id: missed.id, change: missed.change, committed: missed.ts },
      "configuration change never announced; sending config_reload",
    );
    const now = Date.now();
    await this.o.bus.publish([{ path, value: now, quality: "good", ts: now }]);
  }

  private async addApp(
    id: string,
    template: AppTemplate,
    limits: InstanceLimits,
    why: string,
  ): Promise<void> {
    this.log.info({ conn: id, app: template, why }, "starting app");
    await this.o.manager.add(id, limits, template);
  }

  private async removeApp(id: string, template: AppTemplate, why: string): Promise<void> {
    this.log.info({ conn: id, app: template, why }, "stopping app");
    await this.o.manager.remove(id, template);
  }

  private async guard(connId: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.log.error(
        { conn: connId, err: e instanceof Error ? e.message : String(e) },
        "service manager failed",
      );
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private async subscribe(): Promise<void> {
    for (let delay = 200; !this.stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        this.sub = await this.o.bus.subscribe(SUPERVISOR_PATTERNS, (ev) => this.onEvent(ev), {
          durable: this.o.durableName ?? "supervisor",
          // its patterns are rare /system tags in every app's stream: one XREAD per 250 ms
          // instead of one per publish of any app (issue 15)
          readGapMs: SUPERVISOR_READ_GAP_MS,
        });
        this.log.info({ patterns: SUPERVISOR_PATTERNS }, "following connection changes");
        return;
      } catch (e) {
        this.log.warn(
          { err: e instanceof Error ? e.message : String(e), retry_ms: delay },
          "cannot subscribe yet",
        );
        await Bun.sleep(delay);
      }
    }
  }

  private async onEvent(ev: BusEvent): Promise<void> {
    if (ev.kind === "gap") {
      // something was missed; the subscription resyncs next (a ResyncEvent always follows a
      // GapEvent, docs/tagbus.md), and the reconcile runs then
      this.log.warn(
        { producer: ev.producer, reason: ev.reason, dropped: ev.dropped },
        "delivery gap on the tag bus; full reconcile follows",
      );
      return;
    }
    if (ev.kind === "resync") {
      // the first start of the durable subscription (no saved position yet), or after a gap:
      // the SoT has the truth. Not a warning by itself (a fresh gateway always starts so).
      this.log.info({ values: ev.values.length }, "tag bus snapshot; full reconcile");
      await this.reconcile();
      return;
    }
    const v = ev.value;
    const template = ANNOUNCED[v.path];
    if (template) {
      if (typeof v.value === "string")
        await this.reconcileOne(v.value, v.path.slice(v.path.lastIndexOf("/") + 1), template);
      return;
    }
    const m = /^\/system\/([^/]+)\/config_reload$/.exec(v.path);
    if (m) {
      // a change may carry new limits; add() is idempotent and refreshes them
      const id = m[1]!;
      for (const t of this.templates()) {
        const limits = this.wantedOne(t, id);
        if (limits)
          await this.enqueue(() => this.guard(id, () => this.o.manager.add(id, limits, t)));
      }
    }
  }
}
