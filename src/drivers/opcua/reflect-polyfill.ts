/**
 * Loads the Reflect metadata polyfill that tsyringe (under node-opcua-crypto → @peculiar/x509)
 * checks for when it initialises. node-opcua-crypto imports it itself, but Bun's bundler
 * (`bun build --compile`) runs a module's CommonJS requires after its ES imports, so the
 * polyfill came too late in the compiled executable. Being an ES module of its own, imported
 * first by `index.ts`, it is initialised before anything of node-opcua.
 */
import "reflect-metadata";
