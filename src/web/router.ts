/** Path parameters of a matched route, e.g. `{ id: "mtc-01" }` for `/api/connections/:id`. */
export type Params = Record<string, string>;

/** A route handler. */
export type Handler<C> = (req: Request, params: Params, ctx: C) => Response | Promise<Response>;

interface Route<C> {
  method: string;
  pattern: string;
  parts: string[];
  handler: Handler<C>;
}

/**
 * A tiny method + path router: segments `:name` capture one path segment (URL-decoded).
 * `match` tells a 404 (no path) from a 405 (path known, method not).
 */
export class Router<C> {
  private readonly routes: Route<C>[] = [];

  /** Adds a route; `pattern` like `/api/connections/:id/blocks/:block`. */
  on(method: string, pattern: string, handler: Handler<C>): this {
    this.routes.push({ method, pattern, parts: pattern.split("/").slice(1), handler });
    return this;
  }

  /** Every registered route as `{ method, pattern }`, in registration order (role rules, tests). */
  list(): { method: string; pattern: string }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  /** The handler and params for a request, `"method"` when only the method is wrong, or `undefined`. */
  match(
    method: string,
    pathname: string,
  ):
    | { handler: Handler<C>; params: Params; pattern: string; method: string }
    | "method"
    | undefined {
    const segs = pathname.split("/").slice(1);
    let pathKnown = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Params = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i]!;
        const s = segs[i]!;
        if (p.startsWith(":")) {
          try {
            params[p.slice(1)] = decodeURIComponent(s);
          } catch {
            ok = false;
          }
          if (s === "") ok = false;
        } else if (p !== s) ok = false;
        if (!ok) break;
      }
      if (!ok) continue;
      pathKnown = true;
      if (r.method === method || (method === "HEAD" && r.method === "GET")) {
        return { handler: r.handler, params, pattern: r.pattern, method: r.method };
      }
    }
    return pathKnown ? "method" : undefined;
  }
}
