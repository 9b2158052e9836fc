import type { Quality } from "./quality.ts";

/**
 * The value carried by a tag. Numbers are IEEE-754 doubles; 64-bit integers that do not fit
 * in ±2^53 are carried as decimal strings so that no precision is lost in JSON. `null` only
 * with a bad quality (there is no value).
 */
export type TagScalar = number | boolean | string | null;

/**
 * The value of an array tag (a Modbus `float32[10]`, `bool[16]`): its elements in address
 * order, each a number (64-bit integers beyond ±2^53 as decimal strings, as {@link TagScalar})
 * or a boolean. Never written: arrays are read-only.
 */
export type TagArray = readonly (number | boolean | string)[];

/** What a tag sample carries: one value, or an array tag's elements. */
export type TagData = TagScalar | TagArray;

/**
 * One sample of one tag as a producer (an interface app) hands it to the TagBus.
 * The bus stamps `producer` and `seq` on publish (see {@link TagValue}).
 */
export interface TagSample {
  /** Tag path, `/{conn_id}/{tag_name}` or `/system/{app_id}/{name}` (see `paths.ts`). */
  path: string;
  value: TagData;
  quality: Quality;
  /** Why the quality is not good (e.g. `timeout`, `ILLEGAL_DATA_ADDRESS`); absent when good. */
  reason?: string;
  /** Source timestamp: when the device produced / the driver read the value, ms since the epoch. */
  ts: number;
}

/**
 * A tag value as the TagBus delivers it (DESIGN.md §3): a {@link TagSample} plus the producer
 * that published it and that producer's sequence number. `seq` increases by one per sample
 * published by one producer, across restarts of the producer, so a subscriber can see gaps.
 */
export interface TagValue extends TagSample {
  /** The app_id that published the value (`conn_id` for interface apps, or e.g. `cli`). */
  producer: string;
  /** Per-producer sequence number, starting at 1. */
  seq: number;
}
