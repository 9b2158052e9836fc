/**
 * Loads the Reflect metadata polyfill that tsyringe (under node-opcua-crypto → @peculiar/x509)
 * checks for when it initialises. node-opcua-crypto imports it itself, but Bun's bundler
 * (`bun build --compile`) runs a module's CommonJS requires after its ES imports, so the
 * polyfill came too late in the compiled executable. Being an ES module of its own, imported
 * first, it is initialised before anything of node-opcua. The OPC UA driver no longer imports
 * it: in the executable, `build/lazy-imports.ts` loads `@peculiar/x509` on first use and
 * requires the polyfill just before it; the simulator's server (`src/sim/opcua/server.ts`)
 * still does.
 */
import "reflect-metadata";
