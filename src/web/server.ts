import type { Server } from "bun";
import { ALL_ROUTES } from "./api/index.ts";
import { createWebApp, type WebApp, type WebDeps } from "./app.ts";
import { MAX_BODY_BYTES } from "./http.ts";

/** A running web server. */
export interface WebServer {
  app: WebApp;
  /** `http://host:port` or `https://…`, as reachable from this host. */
  url: string;
  port: number;
  /** Stops listening (closing live streams) and the app's subscriptions. */
  stop(): Promise<void>;
}

/** Options of {@link startWebServer}. */
export interface StartOptions {
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** PEM certificate and key paths: serve HTTPS. */
  tls?: { cert: string; key: string };
}

/**
 * Serves the web UI and its JSON API with `Bun.serve` on `host:port` (HTTPS with `tls`).
 * Server-sent event streams are exempt from the idle timeout; every other request must
 * finish within 30 s of inactivity. Bodies over `MAX_BODY_BYTES` (+ 64 KiB of multipart
 * framing) are refused by Bun before they are buffered.
 */
export function startWebServer(deps: WebDeps, opts: StartOptions): WebServer {
  const app = createWebApp({ ...deps, secure: deps.secure ?? opts.tls !== undefined }, ALL_ROUTES);
  const server: Server<undefined> = Bun.serve({
    hostname: opts.host ?? "127.0.0.1",
    port: opts.port,
    idleTimeout: 30,
    // Bun refuses larger bodies (413) before they are buffered, chunked ones included; the
    // handlers check MAX_BODY_BYTES exactly (the margin covers multipart framing).
    maxRequestBodySize: MAX_BODY_BYTES + 64 * 1024,
    ...(opts.tls ? { tls: { cert: Bun.file(opts.tls.cert), key: Bun.file(opts.tls.key) } } : {}),
    fetch: (req, srv) => app.fetch(req, srv),
  });
  const host = opts.host && opts.host !== "0.0.0.0" && opts.host !== "::" ? opts.host : "127.0.0.1";
  const port = server.port ?? opts.port;
  return {
    app,
    port,
    url: `${opts.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async stop() {
      await app.close();
      await server.stop(true);
    },
  };
}
