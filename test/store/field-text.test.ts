import { expect, test } from "bun:test";
import { fieldText } from "../../src/store/field-text.ts";
import { FIELDS } from "../../src/store/fields.ts";

test("every field of a connection, device, block and tag has a human label (the web forms)", () => {
  const missing: string[] = [];
  for (const e of ["connection", "device", "block", "tag"] as const)
    for (const f of FIELDS[e]) if (!fieldText(e, f.name)?.label) missing.push(`${e}.${f.name}`);
  expect(missing).toEqual([]);
  expect(fieldText("connection", "timeout_ms")).toMatchObject({
    label: "Request timeout",
    unit: "ms",
  });
});

test("number fields carry the schema's range", () => {
  const port = FIELDS.connection.find((f) => f.name === "port");
  expect(port).toMatchObject({ min: 1, max: 65535 });
  const count = FIELDS.block.find((f) => f.name === "count");
  expect(count).toMatchObject({ min: 0, max: 65536 });
});
