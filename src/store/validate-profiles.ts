import * as v from "valibot";
import type { Entity } from "./fields.ts";
import {
  type Profile,
  type ProfileBlock,
  ProfileBlockSchema,
  type ProfileConfig,
  ProfileSchema,
  type ProfileTag,
  ProfileTagSchema,
} from "./schema.ts";
import {
  type ConfigIssue,
  controlCharIssues,
  idTwins,
  normalize,
  rowKeys,
  shown,
  validateRows,
} from "./validate.ts";

/** Profile rows to validate, as they come in (unparsed). */
export interface RawProfiles {
  profiles: readonly unknown[];
  blocks: readonly unknown[];
  tags: readonly unknown[];
}

/** The outcome of {@link validateProfiles}: never throws on bad input. */
export type ProfilesResult =
  | { ok: true; value: ProfileConfig[] }
  | { ok: false; issues: ConfigIssue[] };

/** The connection a profile is checked on: a Modbus TCP one, in the profile's address base. */
const CHECK_CONN = "p0profile0check";
/**
 * The link fields of that stand-in connection: only validated, never connected to (a profile
 * has no link of its own; each instance uses its connection's).
 */
const CHECK_LINK = { protocol: "modbus-tcp", host: "localhost", port: 502 } as const;

/**
 * Validates device profiles (issue 14) on their own: each row against its schema
 * (`ProfileSchema`, `ProfileBlockSchema`, `ProfileTagSchema`), unique profile names, blocks
 * and tags of a profile that is there, and then every rule a block and a tag of a Modbus
 * connection obey (`validate.ts validateRows`: unique block ids and tag names, a tag inside
 * its block with its whole span, tables and types that fit, read-only tables, `bit` and
 * `length`…), checked as if the profile were a Modbus TCP connection counting addresses from
 * the profile's `address_base`. Issues name the profile row (`entity` `profile`,
 * `profile_block`, `profile_tag`, with its `index`), field and rule; keys are
 * `{profile}/{block_id}`, `{profile}/{tag_name}`. Rules of an instance on a connection
 * (unit id 0, names too long once prefixed) are the connection's (`validateConfig`).
 */
export function validateProfiles(raw: RawProfiles): ProfilesResult {
  const issues: ConfigIssue[] = [];
  const str = (x: unknown) => (typeof x === "string" ? x : "?");
  const parse = <T>(
    entity: Entity,
    schema: v.GenericSchema,
    rows: readonly unknown[],
    keyOf: (r: Record<string, unknown>) => string,
  ): (T | undefined)[] =>
    rows.map((row, index) => {
      const r = row && typeof row === "object" ? (row as Record<string, unknown>) : {};
      const key = keyOf(r);
      const ctl = controlCharIssues(entity, row);
      for (const c of ctl) issues.push({ entity, index, key, field: c.field, message: c.message });
      const p = v.safeParse(schema, row);
      if (p.success) return ctl.length === 0 ? normalize<T>(entity, p.output as object) : undefined;
      const reported = new Set<string>(ctl.map((c) => c.field));
      for (const i of p.issues) {
        const field = (i.path?.[0]?.key as string | undefined) ?? "(row)";
        if (reported.has(field)) continue;
        reported.add(field);
        const msg = i.message.startsWith(field) ? i.message : `${field} ${i.message}`;
        issues.push({
          entity,
          index,
          key,
          field,
          message: `${msg}, got ${shown(i.input)}`,
          got: i.input,
        });
      }
      return undefined;
    });
  const profiles = parse<Profile>("profile", ProfileSchema, raw.profiles, (r) => str(r.profile));
  const blocks = parse<ProfileBlock>(
    "profile_block",
    ProfileBlockSchema,
    raw.blocks,
    (r) => `${str(r.profile)}/${str(r.block_id)}`,
  );
  const tags = parse<ProfileTag>(
    "profile_tag",
    ProfileTagSchema,
    raw.tags,
    (r) => `${str(r.profile)}/${str(r.tag_name)}`,
  );
  const claimed = new Set(
    raw.profiles.map((r) =>
      str(r && typeof r === "object" ? (r as Record<string, unknown>).profile : undefined),
    ),
  );

  // Over every row whose name is valid, one failing elsewhere included: all told at once.
  const twin = idTwins(rowKeys("profile", ProfileSchema, raw.profiles, ["profile"]), profiles);
  const dup = (index: number, name: string) =>
    issues.push({
      entity: "profile",
      index,
      key: name,
      field: "profile",
      message: `duplicate profile "${name}": each profile once`,
      got: name,
    });
  const byName = new Map<string, { config: ProfileConfig; blockIdx: number[]; tagIdx: number[] }>();
  profiles.forEach((p, index) => {
    if (!p) {
      if (twin[index]!.duplicate) {
        dup(index, String((raw.profiles[index] as Record<string, unknown>).profile));
      }
      return;
    }
    if (twin[index]!.duplicate) dup(index, p.profile);
    if (!twin[index]!.holds) return;
    byName.set(p.profile, {
      config: { profile: p, blocks: [], tags: [] },
      blockIdx: [],
      tagIdx: [],
    });
  });
  const attach = (
    entity: "profile_block" | "profile_tag",
    rows: readonly (ProfileBlock | ProfileTag | undefined)[],
  ) =>
    rows.forEach((row, index) => {
      if (!row) return;
      const p = byName.get(row.profile);
      if (!p) {
        if (!claimed.has(row.profile)) {
          const id =
            entity === "profile_block"
              ? (row as ProfileBlock).block_id
              : (row as ProfileTag).tag_name;
          issues.push({
            entity,
            index,
            key: `${row.profile}/${id}`,
            field: "profile",
            message: `no profile "${row.profile}" in this configuration (profiles.csv)`,
            got: row.profile,
          });
        }
        return;
      }
      if (entity === "profile_block") {
        p.config.blocks.push(row as ProfileBlock);
        p.blockIdx.push(index);
      } else {
        p.config.tags.push(row as ProfileTag);
        p.tagIdx.push(index);
      }
    });
  attach("profile_block", blocks);
  attach("profile_tag", tags);

  // A duplicate block or tag of a profile where one of the rows fails elsewhere (the per-profile
  // rules below see valid rows only): over every row whose id fields are valid, as for
  // connections (validate.ts rowKeys). Two valid rows are the per-profile rules' to report.
  const twins = (
    entity: "profile_block" | "profile_tag",
    schema: { entries: Record<string, v.GenericSchema> },
    rawRows: readonly unknown[],
    parsed: readonly unknown[],
    id: "block_id" | "tag_name",
  ) => {
    const keys = rowKeys(entity, schema, rawRows, ["profile", id], (r) =>
      byName.has(String(r.profile)),
    );
    const twin = idTwins(keys, parsed);
    keys.forEach((k, index) => {
      if (k === undefined) return;
      const valid = parsed[index] !== undefined;
      // two valid rows are the per-profile rules' to report: here a valid row only when it
      // holds the id (the earlier twins failed their schema)
      if (twin[index]!.duplicate && (twin[index]!.holds || !valid)) {
        const r = rawRows[index] as Record<string, unknown>;
        const name = String(r.profile);
        const value = String(r[id]);
        issues.push({
          entity,
          index,
          key: `${name}/${value}`,
          field: id,
          message:
            id === "block_id"
              ? `duplicate block_id "${value}" in profile "${name}"`
              : `duplicate tag path ${name}/${value}: each tag name once per connection`,
          got: value,
        });
      }
    });
  };
  twins("profile_block", ProfileBlockSchema, raw.blocks, blocks, "block_id");
  twins("profile_tag", ProfileTagSchema, raw.tags, tags, "tag_name");

  // The block and tag rules, on each profile as a Modbus connection of its own.
  for (const { config, blockIdx, tagIdx } of byName.values()) {
    const name = config.profile.profile;
    const withConn = (row: object) => {
      const { profile: _p, ...rest } = row as Record<string, unknown>;
      return { ...rest, conn_id: CHECK_CONN };
    };
    const r = validateRows({
      connections: [
        {
          conn_id: CHECK_CONN,
          ...CHECK_LINK,
          address_base: config.profile.address_base,
        },
      ],
      blocks: config.blocks.map(withConn),
      tags: config.tags.map(withConn),
    });
    if (r.ok) continue;
    const fix = (text: string) =>
      text
        .replaceAll(`connection "${CHECK_CONN}"`, `profile "${name}"`)
        .replaceAll(`/${CHECK_CONN}/`, `${name}/`)
        .replaceAll(CHECK_CONN, name);
    for (const i of r.issues) {
      if (i.entity !== "block" && i.entity !== "tag") continue;
      const index = (i.entity === "block" ? blockIdx : tagIdx)[i.index] ?? i.index;
      issues.push({
        entity: i.entity === "block" ? "profile_block" : "profile_tag",
        index,
        key: fix(i.key),
        field: i.field === "conn_id" ? "profile" : i.field,
        message: fix(i.message),
        got: i.got,
      });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: [...byName.values()].map((p) => p.config) };
}
