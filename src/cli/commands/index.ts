import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import * as audit from "./audit.ts";
import * as bus from "./bus.ts";
import * as conn from "./conn.ts";
import * as db from "./db.ts";
import * as device from "./device.ts";
import * as exportCmd from "./export.ts";
import * as importCmd from "./import.ts";
import * as north from "./north.ts";
import * as opcua from "./opcua.ts";
import * as profile from "./profile.ts";
import * as sim from "./sim.ts";
import * as status from "./status.ts";
import * as tag from "./tag.ts";
import * as user from "./user.ts";

/** A command group: one file in this folder, adding its commands to the program. */
export interface CommandGroup {
  register(program: Command, ctx: CliContext): void;
}

/**
 * Every command group of `nodi-edge`, in help order. To add a group, create
 * `commands/<group>.ts` exporting `register(program, ctx)` and add one line here.
 */
export const GROUPS: readonly CommandGroup[] = [
  db,
  importCmd,
  exportCmd,
  conn,
  device,
  profile,
  north,
  status,
  tag,
  bus,
  audit,
  user,
  sim,
  opcua,
];
