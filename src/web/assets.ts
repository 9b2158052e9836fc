import appCss from "./ui/app.css" with { type: "text" };
import appJs from "./ui/app.js" with { type: "text" };
import indexHtml from "./ui/index.html" with { type: "text" };

/**
 * The front end, embedded in the executable as text at build time (`with { type: "text" }`),
 * so `bun build --compile` carries it and a gateway never fetches anything at run time: one
 * HTML page, one script, one style sheet, no library, no CDN.
 */
const ASSETS: Record<string, { body: string; type: string }> = {
  "/": { body: indexHtml as unknown as string, type: "text/html; charset=utf-8" },
  "/app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "/app.css": { body: appCss, type: "text/css; charset=utf-8" },
};

let etag: string | undefined;

/** The embedded file at `pathname` (any unknown non-API path gets the page: client-side routes), with a content ETag. */
export function serveAsset(pathname: string, ifNoneMatch?: string | null): Response {
  etag ??= `"${Bun.hash(
    Object.values(ASSETS)
      .map((a) => a.body)
      .join("\0"),
  ).toString(36)}"`;
  const a = ASSETS[pathname] ?? (pathname.includes(".") ? undefined : ASSETS["/"]);
  if (!a)
    return new Response("not found", { status: 404, headers: { "content-type": "text/plain" } });
  const headers = { "content-type": a.type, etag, "cache-control": "no-cache" };
  if (ifNoneMatch === etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { headers });
}
