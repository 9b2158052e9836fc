import { userInfo } from "node:os";

/**
 * How a caller authenticated, which decides how far its name can be trusted
 * (docs/security.md "Who a write comes from"):
 * - `cli`: the `nodi-edge` CLI; `who` is the Unix user the process runs as (its uid, resolved
 *   through the passwd database), never a name typed on the command line.
 * - `web`: a logged-in web UI user (cookie session); `who` is the username.
 * - `api`: a bearer token; `who` is the token's name.
 * - `north`: a northbound app (`ne-north`) relaying a command from its MQTT broker; `who` is the
 *   north id, `from` the broker, the app's MQTT client id and the command's topic.
 * - `app`: a Nodi Edge process acting on its own (e.g. the supervisor).
 * - `unknown`: a request without an identity (an older writer, or one added to the bus by hand).
 */
export type Via = "cli" | "web" | "api" | "north" | "app" | "unknown";

/** Every {@link Via}, in the order the docs list them. */
export const VIAS: readonly Via[] = ["cli", "web", "api", "north", "app", "unknown"];

/** Who asked for a write or a change, as established by how they authenticated. */
export interface Identity {
  via: Via;
  /** The authenticated name: Unix user, web user, token name, north id. */
  who: string;
  /**
   * From where: the web client's address (`10.0.0.5`), `uid 1000 pid 4242 on gw-01` for the
   * CLI, `mqtt://broker:1883 client ne-n1 topic …` for a northbound command. Free text.
   */
  from?: string;
  /**
   * A label the caller chose (`tag write --origin`, an MQTT `client` user property): shown,
   * never taken as the identity.
   */
  label?: string;
}

/** The short actor name of an identity, `via:who`: `web:alice`, `api:deploy`, `cli:root`, `north:n1`. */
export function actorOf(id: Identity): string {
  return `${id.via}:${id.who}`;
}

const MAX_TEXT = 200;
const cut = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

/**
 * Reads an identity from untrusted JSON (a bus field): a known `via`, a non-empty `who`, texts
 * cut to 200 characters. @returns `undefined` when it is not one.
 */
export function parseIdentity(json: string | undefined): Identity | undefined {
  if (json === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.via !== "string" || !VIAS.includes(r.via as Via)) return undefined;
  if (typeof r.who !== "string" || r.who === "") return undefined;
  const id: Identity = { via: r.via as Via, who: cut(r.who) };
  if (typeof r.from === "string" && r.from !== "") id.from = cut(r.from);
  if (typeof r.label === "string" && r.label !== "") id.label = cut(r.label);
  return id;
}

/**
 * The identity of this process as a CLI caller: the Unix user of its real uid (`os.userInfo()`,
 * which asks the passwd database for `getuid()`, not `$USER`), and `uid N pid P` as `from`.
 * `label` is the caller's free text (`--origin`), kept apart from the identity.
 */
export function processIdentity(via: Via = "cli", label?: string): Identity {
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  let who: string;
  try {
    who = userInfo().username || `uid${uid}`;
  } catch {
    who = `uid${uid}`; // a uid without a passwd entry (containers)
  }
  const id: Identity = { via, who, from: `uid ${uid} pid ${process.pid}` };
  if (label !== undefined && label !== "") id.label = cut(label);
  return id;
}
