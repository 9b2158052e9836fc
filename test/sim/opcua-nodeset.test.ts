import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { brotliDecompressSync } from "node:zlib";
import { standardImage, VENDORED_IMAGE } from "../../scripts/vendor-opcua-nodeset.ts";
import { standardNodeset } from "../../src/sim/opcua/standard-nodeset.ts";

// The press simulator embeds node-opcua's standard nodeset image, vendored as Brotli for the
// executable's size budget. After a node-opcua upgrade this fails until the vendored file is
// written again: bun run scripts/vendor-opcua-nodeset.ts

test("the vendored standard nodeset image is node_modules' image, byte for byte", () => {
  const vendored = brotliDecompressSync(readFileSync(VENDORED_IMAGE));
  const upstream = standardImage();
  expect(vendored.length).toBe(upstream.length);
  expect(vendored.equals(upstream)).toBe(true);
  const src = standardNodeset();
  expect(Buffer.from(src.source).equals(upstream)).toBe(true);
  expect(Buffer.from(src.source.subarray(0, 18)).toString()).toBe('{"kind":"header","');
});
