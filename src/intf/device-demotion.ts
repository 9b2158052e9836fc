import type { NodiError } from "../core/errors.ts";
import type { ConnectionConfig } from "../store/schema.ts";

/**
 * Auto-demotion of the devices on one link (issue 14; like Kepware's "auto-demotion"): a
 * device that stops answering must not starve the others sharing the line. After
 * `demote_after_timeouts` consecutive timeouts a device is *demoted* for `demote_for_ms`: its
 * blocks' requests are skipped (their tags stay bad with reason `demoted`), so the link's time
 * goes to the devices that answer. When the period is over, the next request of one of its
 * blocks is a *probe*: an answer promotes the device back (its blocks poll again on their
 * grids); a timeout demotes it for another period at once. Any answer, even an exception,
 * resets the count of timeouts: only silence demotes.
 *
 * Applies to connections with named devices (a multi-device link, `devices` of the
 * configuration), to each of them and to the connection's default device. A connection
 * without named devices is one device on its link: nothing to protect, so it is never demoted
 * and keeps the behaviour it had (every poll tried, tags bad with reason `timeout`).
 */

/** Tag quality reason of a demoted device's tags. */
export const DEMOTED_REASON = "demoted";

/** Health of one device on a multi-device link, in `/system/{app_id}/health` (`devices`). */
export interface DeviceHealth {
  /** The Modbus unit id it is polled with. */
  unitId: number | null;
  /** `ok`, or `demoted` (requests skipped until `demotedUntil`, then one probe). */
  state: "ok" | "demoted";
  /** Timeouts in a row (0 after any answer). */
  consecutiveTimeouts: number;
  /** Epoch ms of the device's last successful read, or null. */
  lastGood: number | null;
  /** Failed reads of its blocks since the process started (any kind). */
  errors: number;
  /** Reason of its last failure, or null. */
  lastErrorReason: string | null;
  /** Times it was demoted since the process started. */
  demotions: number;
  /** Block polls skipped while demoted. */
  skipped: number;
  /** Epoch ms when the demotion period ends (the probe is due), or null when `ok`. */
  demotedUntil: number | null;
}

/** What {@link DeviceDemotion.before} says about a poll of one block. */
export type PollDecision = "read" | "probe" | "skip";

interface DeviceRun {
  health: DeviceHealth;
  /** Monotonic ms (the clock's) when the demotion ends. */
  until: number;
  /** True while a probe request of the device is on the link (others of it skip). */
  probing: boolean;
}

/** Key of a block's device: its `device`, or "" for the connection's default device. */
export const deviceKey = (block: { device?: string | null }): string => block.device ?? "";

/**
 * The demotion state of every device of one connection. Times: `now` is the block timers'
 * monotonic clock (ms); `wallNow` epoch ms for the health.
 */
export class DeviceDemotion {
  private devices = new Map<string, DeviceRun>();
  private after = 0;
  private forMs = 10_000;

  /**
   * Takes the devices of `cfg`, keeping the state of devices that stay (same key). A
   * connection without named devices has demotion off.
   */
  adopt(cfg: ConnectionConfig): void {
    const named = cfg.devices ?? [];
    this.after = named.length > 0 ? (cfg.connection.demote_after_timeouts ?? 3) : 0;
    this.forMs = cfg.connection.demote_for_ms ?? 10_000;
    const units = new Map<string, number | null>([["", cfg.connection.unit_id ?? null]]);
    for (const d of named) units.set(d.device, d.unit_id);
    const used = new Set(cfg.blocks.filter((b) => b.enabled).map(deviceKey));
    const old = this.devices;
    this.devices = new Map();
    if (named.length === 0) return;
    for (const key of used) {
      const prev = old.get(key);
      const unitId = units.get(key) ?? null;
      this.devices.set(
        key,
        prev
          ? { ...prev, health: { ...prev.health, unitId } }
          : {
              until: 0,
              probing: false,
              health: {
                unitId,
                state: "ok",
                consecutiveTimeouts: 0,
                lastGood: null,
                errors: 0,
                lastErrorReason: null,
                demotions: 0,
                skipped: 0,
                demotedUntil: null,
              },
            },
      );
    }
  }

  /** True when the connection has named devices (health per device is reported). */
  get active(): boolean {
    return this.devices.size > 0;
  }

  /** Health by device name (`""` = the connection's default device); empty without named devices. */
  health(): Record<string, DeviceHealth> {
    const out: Record<string, DeviceHealth> = {};
    for (const [k, d] of this.devices) out[k] = { ...d.health };
    return out;
  }

  /** Whether a poll of a block of device `key` goes on the link now (`now`: monotonic ms). */
  before(key: string, now: number): PollDecision {
    const d = this.devices.get(key);
    if (!d || d.health.state === "ok") return "read";
    if (d.probing || now < d.until) {
      d.health.skipped++;
      return "skip";
    }
    d.probing = true;
    return "probe";
  }

  /**
   * Records an answer of device `key`.
   * @returns true when this promoted a demoted device back.
   */
  answered(key: string, wallNow: number): boolean {
    const d = this.devices.get(key);
    if (!d) return false;
    d.probing = false;
    d.health.consecutiveTimeouts = 0;
    d.health.lastGood = wallNow;
    if (d.health.state === "ok") return false;
    d.health.state = "ok";
    d.health.demotedUntil = null;
    return true;
  }

  /**
   * Records a failed read of device `key`.
   * @returns true when this demoted the device (its tags are to be published bad `demoted`).
   */
  failed(key: string, err: NodiError, now: number, wallNow: number): boolean {
    const d = this.devices.get(key);
    if (!d) return false;
    const wasProbe = d.probing;
    d.probing = false;
    d.health.errors++;
    d.health.lastErrorReason = err.reason;
    if (err.kind !== "timeout") {
      // The device answered (an exception, a reply that did not decode): not silent.
      d.health.consecutiveTimeouts = 0;
      if (wasProbe) {
        d.health.state = "ok";
        d.health.demotedUntil = null;
      }
      return false;
    }
    d.health.consecutiveTimeouts++;
    if (this.after === 0) return false;
    if (!wasProbe && (d.health.state === "demoted" || d.health.consecutiveTimeouts < this.after))
      return false;
    d.health.state = "demoted";
    d.health.demotions++;
    d.until = now + this.forMs;
    d.health.demotedUntil = wallNow + this.forMs;
    return true;
  }
}
