// Builds a JavaScript plugin into a component with componentize-js (its
// Node API; the `jco componentize` command line is not needed):
//
//   node componentize.mjs app.js path/to/wit out.wasm
//
// wasi:http is left out (the exporter does not link it; a plugin reaches
// its target through the contract's fetch). Standard error, clocks and
// random stay: the exporter links them with no authority.

import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

const [source, wit, out] = process.argv.slice(2);
if (!source || !wit || !out) {
  console.error('usage: node componentize.mjs app.js WIT_DIR OUT.wasm');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: source,
  witPath: wit,
  worldName: 'plugin',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
