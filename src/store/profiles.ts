import { FIELDS } from "./fields.ts";
import type {
  Block,
  Connection,
  ConnectionConfig,
  Device,
  ProfileConfig,
  ProfileTag,
  Tag,
} from "./schema.ts";

/**
 * Device profiles (issue 14): the expansion of a device that is an instance of a profile into
 * the blocks and tags of its connection. Pure functions; the store applies them whenever it
 * builds a {@link ConnectionConfig} for the app, the northbound, the CLI and the web
 * (`Store.getConnectionConfig`), and the validation checks the expanded rows (`validate.ts`).
 *
 * An instance `meter3` (unit id 3) of profile `sdm630` gets, for each profile block `ir` and
 * tag `voltage_l1`: block `meter3.ir` (device `meter3`) and tag `meter3/voltage_l1` (path
 * `/{conn_id}/meter3/voltage_l1`) in block `meter3.ir`. Addresses are converted from the
 * profile's `address_base` to the connection's (the same wire registers).
 */

/** The block id an instance gets for a profile block: `{device}.{block_id}`. */
export function instanceBlockId(device: string, blockId: string): string {
  return `${device}.${blockId}`;
}

/** The tag name an instance gets for a profile tag: `{device}/{tag_name}`. */
export function instanceTagName(device: string, tagName: string): string {
  return `${device}/${tagName}`;
}

/** The blocks and tags one instance contributes to its connection. */
export interface Expansion {
  blocks: Block[];
  tags: Tag[];
}

/** A row with every field of `fields` present (absent → null), in schema order. */
function complete<T>(fields: readonly { name: string }[], row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = row[f.name] ?? null;
  return out as T;
}

/**
 * The blocks and tags of `device`, an instance of `profile` on connection `conn`: see the
 * module comment. A profile tag without a block (an automatic tag, planned by scan rate)
 * keeps its empty block. Never throws; the result is validated with the connection's rows.
 */
export function expandDevice(
  conn: Pick<Connection, "conn_id" | "address_base">,
  device: Pick<Device, "device">,
  profile: ProfileConfig,
): Expansion {
  const shift = (conn.address_base ?? 0) - (profile.profile.address_base ?? 0);
  const d = device.device;
  const blocks = profile.blocks.map((b) => {
    const { profile: _p, ...rest } = b;
    return complete<Block>(FIELDS.block, {
      ...rest,
      conn_id: conn.conn_id,
      block_id: instanceBlockId(d, b.block_id),
      device: d,
      address: b.address + shift,
    });
  });
  const tags = profile.tags.map((t: ProfileTag) => {
    const { profile: _p, ...rest } = t;
    const blockId = (t as { block_id?: string | null }).block_id;
    return complete<Tag>(FIELDS.tag, {
      ...rest,
      conn_id: conn.conn_id,
      tag_name: instanceTagName(d, t.tag_name),
      block_id: blockId ? instanceBlockId(d, blockId) : blockId,
      address: t.address + shift,
    });
  });
  return { blocks, tags };
}

/**
 * The configuration with every instance of a profile expanded: the stored blocks and tags
 * first, then each instance's (in device order). A device naming a profile that `profiles`
 * lacks contributes nothing (the validation refuses such a device). Returns `cfg` itself
 * when no device has a profile.
 */
export function expandConfig(
  cfg: ConnectionConfig,
  profiles: ReadonlyMap<string, ProfileConfig>,
): ConnectionConfig {
  const instances = (cfg.devices ?? []).filter((d) => d.profile);
  if (instances.length === 0) return cfg;
  const blocks = [...cfg.blocks];
  const tags = [...cfg.tags];
  for (const d of instances) {
    const p = profiles.get(d.profile ?? "");
    if (!p) continue;
    const x = expandDevice(cfg.connection, d, p);
    blocks.push(...x.blocks);
    tags.push(...x.tags);
  }
  return { ...cfg, blocks, tags };
}

/**
 * The stored rows of `cfg`: without the blocks and tags its instances of a profile
 * contribute (`profiles`: as they were when `cfg` was read). A configuration read from the
 * store, edited and written back (the CLI, the web) carries its instances' rows; they are
 * not stored rows and are dropped here when unchanged (a changed one stays, and the
 * validation refuses it: an instance's rows come from its profile).
 */
export function storedRows<
  C extends {
    devices?: readonly unknown[];
    blocks: readonly unknown[];
    tags: readonly unknown[];
    connection: unknown;
  },
>(cfg: C, expansions: readonly ConnectionConfig[]): C {
  const blockKeys = new Set<string>();
  const tagKeys = new Set<string>();
  for (const e of expansions) {
    const own = new Set((e.devices ?? []).filter((d) => d.profile).map((d) => d.device));
    if (own.size === 0) continue;
    for (const b of e.blocks) if (b.device && own.has(b.device)) blockKeys.add(rowKey("block", b));
    for (const t of e.tags) {
      const seg = t.tag_name.split("/")[0] ?? "";
      if (own.has(seg)) tagKeys.add(rowKey("tag", t));
    }
  }
  if (blockKeys.size === 0 && tagKeys.size === 0) return cfg;
  return {
    ...cfg,
    blocks: cfg.blocks.filter((b) => !blockKeys.has(rowKey("block", b))),
    tags: cfg.tags.filter((t) => !tagKeys.has(rowKey("tag", t))),
  };
}

function rowKey(entity: "block" | "tag", row: unknown): string {
  const r = (row && typeof row === "object" ? row : {}) as Record<string, unknown>;
  return JSON.stringify(FIELDS[entity].map((f) => r[f.name] ?? null));
}
