import { errorPolicy, isNodiError, NodiError } from "../core/errors.ts";

/** A JSON response with `status` (default 200) and no caching. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/**
 * The body of every API error: `{ error: { kind, reason, message, issues? } }`. `issues` lists
 * validation problems, each naming the entity row, field and rule.
 */
export function errorResponse(e: unknown): Response {
  if (e instanceof HttpError) {
    return json({ error: { kind: e.kind, reason: e.reason, message: e.message } }, e.status);
  }
  const err = isNodiError(e) ? e : new NodiError("internal", (e as Error)?.message ?? String(e));
  const body: Record<string, unknown> = {
    kind: err.kind,
    reason: err.reason,
    message: err.message,
  };
  if (err.details.issues !== undefined) body.issues = err.details.issues;
  if (err.details.errors !== undefined) body.errors = err.details.errors;
  return json({ error: body }, errorPolicy[err.kind].httpStatus);
}

/** An HTTP-level refusal (401, 403, 405, 413, 415, 429) with a short reason. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly kind = "http",
  ) {
    super(message);
  }
}

/** Largest accepted request body, bytes (CSV imports included). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Reads a JSON object body.
 * @throws HttpError 415 when not `application/json`, 413 when too large, 400 when unparsable or not an object.
 */
export async function readJson(req: Request): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new HttpError(415, "unsupported_media_type", "send Content-Type: application/json");
  }
  const text = await readText(req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "bad_json", `request body is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "bad_json", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** Reads the body as text. @throws HttpError 413 when larger than {@link MAX_BODY_BYTES}. */
export async function readText(req: Request): Promise<string> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > MAX_BODY_BYTES) throw tooLarge();
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw tooLarge();
  return text;
}

function tooLarge(): HttpError {
  return new HttpError(413, "too_large", `request body over ${MAX_BODY_BYTES} bytes`);
}

/** The value of cookie `name` in the request, or `undefined`. */
export function getCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Security headers on every response: no framing, no sniffing, a strict same-origin CSP. */
export const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};
