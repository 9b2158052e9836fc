/**
 * Lets node-opcua-server start inside the compiled executable. At import it reads its own
 * manifest, `fs.readFileSync(path.join(import.meta.dirname, "..", "package.json"))`, for the
 * server's BuildInfo.SoftwareVersion (node-opcua-server `opcua_server.ts`, deliberately
 * without a fallback). In a `bun build --compile` executable its module lives in the embedded
 * file system under `/$bunfs/root/`, where no package.json exists, so `nodi-edge opcua sim`
 * died with `ENOENT … '/$bunfs/package.json'`. In the compiled form only, this module answers
 * that one path with node-opcua-server's real name and version (inlined at build time from
 * its package.json); every other read goes to `fs` unchanged. Being an ES module of its own,
 * imported before node-opcua-server by `server.ts`, it runs first (as `reflect-polyfill.ts`).
 */
import fs from "node:fs";
import { name, version } from "node-opcua-server/package.json" with { type: "json" };

/** The path node-opcua-server reads in the compiled executable: `/$bunfs/root/../package.json`. */
export const BUNFS_MANIFEST = "/$bunfs/package.json";

/** True inside a `bun build --compile` executable (its modules live under `/$bunfs/`). */
const compiled = import.meta.url.includes("/$bunfs/");

if (compiled) {
  const text = JSON.stringify({ name, version });
  const readFileSync = fs.readFileSync;
  fs.readFileSync = ((file: fs.PathOrFileDescriptor, options?: unknown) => {
    if (file === BUNFS_MANIFEST) {
      const encoding =
        typeof options === "string" ? options : (options as { encoding?: string })?.encoding;
      return encoding ? text : Buffer.from(text);
    }
    return (readFileSync as (f: fs.PathOrFileDescriptor, o?: unknown) => string | Buffer)(
      file,
      options,
    );
  }) as typeof fs.readFileSync;
}
