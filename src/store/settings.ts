import type { Database } from "bun:sqlite";
import { NodiError } from "../core/errors.ts";

/** One gateway setting kept in the source of truth (table `settings`), changed by an admin. */
export interface SettingDef {
  key: string;
  /** Used while the table holds no row for the key. */
  default: number;
  min: number;
  max: number;
  unit: string;
  description: string;
}

/** The kinds of audit entries; each has its own retention and cap (audit.ts). */
export const AUDIT_KINDS = ["write", "config", "access", "admin"] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

const DAYS = { min: 1, max: 36_500, unit: "days" };
const ENTRIES = { min: 100, max: 10_000_000, unit: "entries" };

/**
 * Every setting, by key. Audit retention is per kind, so that entries of one kind (a flood of
 * failed logins: `access`) never push out entries of another (`write`, `config`).
 */
export const SETTINGS: readonly SettingDef[] = [
  {
    key: "audit.write.retention_days",
    default: 365,
    ...DAYS,
    description: "tag writes are kept this long",
  },
  {
    key: "audit.config.retention_days",
    default: 365,
    ...DAYS,
    description: "configuration changes (CLI, CSV import, web) are kept this long",
  },
  {
    key: "audit.access.retention_days",
    default: 30,
    ...DAYS,
    description: "logins, logouts and password changes are kept this long",
  },
  {
    key: "audit.admin.retention_days",
    default: 365,
    ...DAYS,
    description: "user, token and settings changes are kept this long",
  },
  {
    key: "audit.write.max_entries",
    default: 1_000_000,
    ...ENTRIES,
    description: "at most this many write entries (the oldest go first)",
  },
  {
    key: "audit.config.max_entries",
    default: 100_000,
    ...ENTRIES,
    description: "at most this many configuration entries",
  },
  {
    key: "audit.access.max_entries",
    default: 10_000,
    ...ENTRIES,
    description: "at most this many access entries (a flood of failed logins stays within it)",
  },
  {
    key: "audit.admin.max_entries",
    default: 100_000,
    ...ENTRIES,
    description: "at most this many admin entries",
  },
];

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

/** A setting with its current value and where that came from. */
export interface SettingValue extends SettingDef {
  value: number;
  /** True when no row is stored (the default applies). */
  isDefault: boolean;
  updated_at: number | null;
  updated_by: string | null;
}

/** Every setting with its current value, in {@link SETTINGS} order. */
export function listSettings(db: Database): SettingValue[] {
  const rows = new Map(
    (
      db.query("SELECT key, value, updated_at, updated_by FROM settings").all() as {
        key: string;
        value: string;
        updated_at: number;
        updated_by: string;
      }[]
    ).map((r) => [r.key, r]),
  );
  return SETTINGS.map((def) => {
    const r = rows.get(def.key);
    const n = r ? Number(r.value) : Number.NaN;
    const ok = Number.isInteger(n) && n >= def.min && n <= def.max;
    return {
      ...def,
      value: ok ? n : def.default,
      isDefault: !ok,
      updated_at: r?.updated_at ?? null,
      updated_by: r?.updated_by ?? null,
    };
  });
}

/** The current value of `key` (the default when not stored). @throws NodiError `not_found` for an unknown key. */
export function getSetting(db: Database, key: string): number {
  const def = definition(key);
  const r = db.query("SELECT value FROM settings WHERE key = ?").get(key) as {
    value: string;
  } | null;
  const n = r ? Number(r.value) : Number.NaN;
  return Number.isInteger(n) && n >= def.min && n <= def.max ? n : def.default;
}

/**
 * Parses and checks a new value for `key`: an integer within the setting's range.
 * @throws NodiError `not_found` (unknown key, listing the known ones) or `configuration`
 *   (`audit.write.retention_days: expected an integer from 1 to 36500 days, got "x"`).
 */
export function checkSetting(key: string, value: unknown): number {
  const def = definition(key);
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (
    !Number.isInteger(n) ||
    n < def.min ||
    n > def.max ||
    (typeof value === "string" && !/^\d+$/.test(value))
  ) {
    throw new NodiError(
      "configuration",
      `${key}: expected an integer from ${def.min} to ${def.max} ${def.unit}, got ${JSON.stringify(value)}`,
      "invalid_setting",
      { key, got: value },
    );
  }
  return n;
}

/** Stores a checked value. @returns the value before. */
export function setSetting(db: Database, key: string, value: number, by: string): number {
  const before = getSetting(db, key);
  db.query(
    `INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  ).run(key, String(checkSetting(key, value)), Date.now(), by);
  return before;
}

function definition(key: string): SettingDef {
  const def = BY_KEY.get(key);
  if (!def) {
    throw new NodiError(
      "not_found",
      `no setting "${key}"; known: ${SETTINGS.map((s) => s.key).join(", ")}`,
      "not_found",
      { key },
    );
  }
  return def;
}
