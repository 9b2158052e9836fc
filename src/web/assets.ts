import uplotJs from "uplot/dist/uPlot.esm.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import appCss from "./ui/app.css" with { type: "text" };
import app from "./ui/app.js" with { type: "text" };
import componentsFeedback from "./ui/components/feedback.js" with { type: "text" };
import componentsHealth from "./ui/components/health.js" with { type: "text" };
import componentsTableEditor from "./ui/components/table-editor.js" with { type: "text" };
import componentsTrendChart from "./ui/components/trend-chart.js" with { type: "text" };
import componentsWriteDialog from "./ui/components/write-dialog.js" with { type: "text" };
import coreApi from "./ui/core/api.js" with { type: "text" };
import coreDom from "./ui/core/dom.js" with { type: "text" };
import coreFields from "./ui/core/fields.js" with { type: "text" };
import coreFormat from "./ui/core/format.js" with { type: "text" };
import coreI18n from "./ui/core/i18n.js" with { type: "text" };
import coreRouter from "./ui/core/router.js" with { type: "text" };
import i18nEn from "./ui/i18n/en.js" with { type: "text" };
import i18nKo from "./ui/i18n/ko.js" with { type: "text" };
import indexHtml from "./ui/index.html" with { type: "text" };
import pagesAccount from "./ui/pages/account.js" with { type: "text" };
import pagesAudit from "./ui/pages/audit.js" with { type: "text" };
import pagesConnDiag from "./ui/pages/conn-diag.js" with { type: "text" };
import pagesConnLive from "./ui/pages/conn-live.js" with { type: "text" };
import pagesConnTables from "./ui/pages/conn-tables.js" with { type: "text" };
import pagesConnection from "./ui/pages/connection.js" with { type: "text" };
import pagesConnectionForm from "./ui/pages/connection-form.js" with { type: "text" };
import pagesConnections from "./ui/pages/connections.js" with { type: "text" };
import pagesCsv from "./ui/pages/csv.js" with { type: "text" };
import pagesLogin from "./ui/pages/login.js" with { type: "text" };
import pagesNorthbound from "./ui/pages/northbound.js" with { type: "text" };
import pagesNorthbounds from "./ui/pages/northbounds.js" with { type: "text" };
import pagesOverview from "./ui/pages/overview.js" with { type: "text" };
import pagesProfiles from "./ui/pages/profiles.js" with { type: "text" };

/**
 * The front end, embedded in the executable as text at build time (`with { type: "text" }`),
 * so `bun build --compile` carries it and a gateway never fetches anything at run time: one
 * HTML page, its ES modules (`ui/app.js` imports `core/`, `components/`, `pages/`) and one
 * style sheet; no CDN, no build step. Every file under `ui/` must be listed here (URL path =
 * its path below `ui/`); `test/web/assets.test.ts` fails on a file that is missing.
 */
const FILES: Record<string, string> = {
  "/": indexHtml as unknown as string,
  "/app.css": appCss,
  "/app.js": app,
  "/components/feedback.js": componentsFeedback,
  "/components/health.js": componentsHealth,
  "/components/table-editor.js": componentsTableEditor,
  "/components/trend-chart.js": componentsTrendChart,
  "/components/write-dialog.js": componentsWriteDialog,
  "/core/api.js": coreApi,
  "/core/dom.js": coreDom,
  "/core/fields.js": coreFields,
  "/core/format.js": coreFormat,
  "/core/router.js": coreRouter,
  "/core/i18n.js": coreI18n,
  "/i18n/en.js": i18nEn,
  "/i18n/ko.js": i18nKo,
  "/pages/account.js": pagesAccount,
  "/pages/audit.js": pagesAudit,
  "/pages/conn-diag.js": pagesConnDiag,
  "/pages/conn-live.js": pagesConnLive,
  "/pages/conn-tables.js": pagesConnTables,
  "/pages/connection-form.js": pagesConnectionForm,
  "/pages/connection.js": pagesConnection,
  "/pages/connections.js": pagesConnections,
  "/pages/csv.js": pagesCsv,
  "/pages/login.js": pagesLogin,
  "/pages/northbound.js": pagesNorthbound,
  "/pages/northbounds.js": pagesNorthbounds,
  "/pages/overview.js": pagesOverview,
  "/pages/profiles.js": pagesProfiles,
  // vendored from node_modules when bundled (npm uplot, MIT): served as /vendor/…, no CDN
  "/vendor/uPlot.esm.js": uplotJs,
  "/vendor/uPlot.min.css": uplotCss,
};

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

const ASSETS: Record<string, { body: string; type: string }> = Object.fromEntries(
  Object.entries(FILES).map(([path, body]) => [
    path,
    { body, type: TYPES[path.split(".").pop() ?? ""] ?? "text/html; charset=utf-8" },
  ]),
);

/** URL paths of every embedded file (`/` = index.html), for tests. */
export const ASSET_PATHS: readonly string[] = Object.keys(ASSETS);

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
