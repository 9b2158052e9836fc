import type { Ctx } from "../app.ts";
import type { Router } from "../router.ts";
import { adminRoutes } from "./admin.ts";
import { configRoutes } from "./config.ts";
import { csvRoutes } from "./csv.ts";
import { diagRoutes } from "./diag.ts";
import { liveRoutes } from "./live.ts";
import { northRoutes } from "./north.ts";
import { overviewRoutes } from "./overview.ts";
import { profileRoutes } from "./profiles.ts";
import { sessionRoutes } from "./session.ts";

/** Every route group of the JSON API (docs/api.md), in registration order. */
export const ALL_ROUTES: ((r: Router<Ctx>) => void)[] = [
  sessionRoutes,
  adminRoutes,
  configRoutes,
  profileRoutes,
  northRoutes,
  liveRoutes,
  diagRoutes,
  overviewRoutes,
  csvRoutes,
];
