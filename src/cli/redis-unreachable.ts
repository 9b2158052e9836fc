import { NodiError } from "../core/errors.ts";
import { redactUrl } from "../core/redact-url.ts";

/**
 * The error of a CLI command that needs the TagBus (`status`, `tag …`) when Redis does not
 * answer at `redisUrl`: names the URL (its password redacted), the setting it came from and where to look, so that a
 * first-time user on a clone (no Redis on the default port) or an operator on a gateway (the
 * packaged `redis-server.service` stopped) knows what to do.
 * @returns a NodiError `communication` / `disconnected` (the CLI maps it to exit 69).
 */
export function redisUnreachable(redisUrl: string): NodiError {
  return new NodiError(
    "communication",
    `redis not reachable at ${redactUrl(redisUrl)} (NE_REDIS_URL): the TagBus must run there; on a gateway see systemctl status redis-server@nodi-edge (and run as root or as a member of group nodi-edge), with npm run demo use the NE_REDIS_URL it prints`,
    "disconnected",
  );
}
