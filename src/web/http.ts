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
    return json(
      { error: { kind: e.kind, reason: e.reason, message: e.message } },
      e.status,
      e.headers,
    );
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
    /** Extra response headers, e.g. `Retry-After` of a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Largest accepted request body, bytes (CSV imports included). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Deepest nesting of arrays and objects accepted in a JSON body (rows are flat; 3 is used). */
export const MAX_JSON_DEPTH = 32;

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
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpError(400, "bad_json", `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
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

/**
 * The deepest nesting of `[`/`{` in a JSON text (brackets inside strings do not count); O(n),
 * no recursion, so a hostile body cannot exhaust the stack of a later `JSON.stringify`.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \\ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 || ch === 123 /* [ { */) {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === 93 || ch === 125 /* ] } */) depth--;
  }
  return max;
}

/**
 * Reads the body as bytes, stopping as soon as it exceeds {@link MAX_BODY_BYTES} (a chunked
 * body without `Content-Length` is not buffered beyond the limit).
 * @throws HttpError 413 when larger than {@link MAX_BODY_BYTES}.
 */
export async function readBytes(req: Request): Promise<Uint8Array> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > MAX_BODY_BYTES) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Reads the body as UTF-8 text. @throws HttpError 413 when larger than {@link MAX_BODY_BYTES} bytes. */
export async function readText(req: Request): Promise<string> {
  return new TextDecoder().decode(await readBytes(req));
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
    if (part.slice(0, i).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      return undefined; // not percent-encoding: no session of ours
    }
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
