import { TAG_NAME_MAX, TAG_NAME_RE } from "../../core/paths.ts";
import type { LoadError } from "../csv-file.ts";
import type { KepwareColumn } from "./read.ts";

/**
 * The stored tag name of a Kepware tag: its name (a subgroup's tag is `Group.Tag`), with
 * characters our names do not allow (spaces, `#`, …) replaced by `_` (a warning), and
 * `{device}/` in front with a device.
 */
export function tagName(
  written: string,
  device: string | undefined,
  at: (key: KepwareColumn, message: string) => LoadError,
  errors: LoadError[],
  unmappable: LoadError[],
  warnings: LoadError[],
): string | undefined {
  if (written === "") {
    errors.push(at("name", "a tag name is required, got an empty cell"));
    return undefined;
  }
  const segments = written.split(".");
  if (segments.some((s) => s === "")) {
    errors.push(at("name", `a name's group path has no empty part (Group.Tag), got "${written}"`));
    return undefined;
  }
  let name = segments.map((s) => s.replace(/[^A-Za-z0-9_-]+/g, "_")).join(".");
  if (name.startsWith("-")) name = `_${name.slice(1)}`;
  if (name !== written) {
    warnings.push(
      at(
        "name",
        `renamed "${written}" to "${name}": tag names hold letters, digits, _, - and . (the group separator)`,
      ),
    );
  }
  if (!TAG_NAME_RE.test(name) || (device ? device.length + 1 : 0) + name.length > TAG_NAME_MAX) {
    unmappable.push(
      at(
        "name",
        `the name "${name}" is longer than a tag name may be (128 characters${device ? `, ${TAG_NAME_MAX} with the device` : ""})`,
      ),
    );
    return undefined;
  }
  return device ? `${device}/${name}` : name;
}
