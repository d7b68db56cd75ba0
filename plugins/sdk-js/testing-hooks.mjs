// Module resolution hooks for testing.mjs: the contract's imports resolve to
// testing.mjs, which stands in for the exporter.

const standIn = new URL('./testing.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('wasm-exporter:plugin/')) {
    return { url: standIn, shortCircuit: true };
  }
  return next(specifier, context);
}
