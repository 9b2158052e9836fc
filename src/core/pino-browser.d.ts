// pino's minimal build has no declaration file of its own; src/core/log.ts types it as pino.
declare module "pino/browser.js" {
  const pino: unknown;
  export default pino;
}
