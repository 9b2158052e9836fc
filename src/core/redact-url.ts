/**
 * A URL as it may be shown (logs, status lines, error messages): the password of its user
 * information replaced by `***`, e.g. `redis://edge:s3cret@10.0.0.5:6379` →
 * `redis://edge:***@10.0.0.5:6379`, `unix://:s3cret@/run/redis.sock` →
 * `unix://:***@/run/redis.sock`. Works on text that is not a valid URL too (a bad
 * `NE_REDIS_URL` is quoted in the settings error): everything between `://` and the LAST `@`
 * is the user information (as WHATWG URL parsing takes it), so a password holding `@` or `/`
 * is hidden whole. A user name alone (`redis://alice@host`) is shown. Pure.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf("://");
  if (start < 0) return url;
  const at = url.lastIndexOf("@");
  if (at < start + 3) return url;
  const info = url.slice(start + 3, at);
  const colon = info.indexOf(":");
  if (colon < 0) return url;
  return `${url.slice(0, start + 3)}${info.slice(0, colon)}:***${url.slice(at)}`;
}
