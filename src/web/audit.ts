import type { AuditKind, AuditRecord, AuditTrail } from "../store/audit.ts";
import type { Ctx } from "./app.ts";

/**
 * The audit kind of a web action: `access` (login, logout, password change), `admin` (users,
 * tokens, settings), `write` (tag writes), `config` (everything else: connections, blocks,
 * tags, northbounds, CSV import). Each kind has its own retention and cap (store/audit.ts).
 */
export function kindOfAction(action: string): AuditKind {
  if (action === "login" || action === "logout" || action.startsWith("password.")) return "access";
  if (action.startsWith("token.") || action.startsWith("user.") || action.startsWith("setting."))
    return "admin";
  if (action === "tag.write") return "write";
  return "config";
}

/** What a web route records: the caller's identity comes from the request context. */
export interface WebAuditRecord {
  action: string;
  target?: string;
  ok: boolean;
  /** Why it was refused (when not ok). */
  reason?: string;
  detail?: Record<string, unknown>;
  value?: unknown;
}

/** Records an action of the request's caller in the audit trail (kind by {@link kindOfAction}). */
export function recordWeb(ctx: Pick<Ctx, "audit" | "identity">, e: WebAuditRecord): number {
  return recordWebIn(ctx.audit, ctx.identity, e);
}

/** {@link recordWeb} for an identity that is not the request's caller (a failed login's username). */
export function recordWebIn(
  audit: AuditTrail,
  identity: AuditRecord["identity"],
  e: WebAuditRecord,
): number {
  return audit.record({
    kind: kindOfAction(e.action),
    identity,
    action: e.action,
    target: e.target ?? "",
    result: e.ok ? "done" : "refused",
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.value !== undefined ? { value: e.value } : {}),
    detail: e.detail ?? {},
  });
}
