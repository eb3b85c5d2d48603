// What dist/preload.js (the bundled runtime, see scripts/bundle.mjs) exposes.
export { readConfig } from '../readConfig';
export { start } from '../start';
