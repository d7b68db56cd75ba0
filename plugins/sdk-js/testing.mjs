// Test doubles for a JavaScript plugin's unit tests under Node.js, outside
// the exporter. Load it before the plugin:
//
//   node --import ./testing.mjs --test
//
// It maps the contract's imports (`wasm-exporter:plugin/...`) to this
// module, so the SDK's `fetch` answers from the stand-ins set here and `log`
// prints to stderr:
//
//   import { respond, requests } from './testing.mjs';
//   respond('http://127.0.0.1:9200/_cluster/health', 200, '{"status":"green"}');
//   const families = new MyPlugin({ url: 'http://127.0.0.1:9200' }).collect();
//   assert.equal(requests()[0].method, undefined);

import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  register('./testing-hooks.mjs', import.meta.url);
}

const answers = new Map();
const asked = [];

/** From now on, a fetch of exactly `target` gets this answer. */
export function respond(target, status = 200, body = '', headers = []) {
  const data = body instanceof Uint8Array ? body : new TextEncoder().encode(String(body));
  answers.set(target, { ok: { status, headers: [...headers], body: data, truncated: false } });
}

/** From now on, a fetch of `target` fails with the contract's error case
 * (`denied`, `invalid-target`, `connect`, `timeout`, `too-large`,
 * `protocol`). */
export function fail(target, tag = 'connect', val = '') {
  answers.set(target, { err: { tag, val } });
}

/** The requests made so far, as the plugin built them. */
export function requests() {
  return [...asked];
}

/** Forgets every stand-in and request. */
export function reset() {
  answers.clear();
  asked.length = 0;
}

// The host's imports, as the SDK calls them.

/** `wasm-exporter:plugin/fetch`'s fetch. */
export function fetch(request) {
  const answer = answers.get(request.target);
  if (request.timeoutMs === 0) {
    throw { payload: answer?.err ?? { tag: 'timeout' } };
  }
  asked.push(request);
  if (answer === undefined) {
    throw { payload: { tag: 'denied', val: `${request.target} has no stand-in (respond)` } };
  }
  if (answer.err) {
    throw { payload: answer.err };
  }
  return answer.ok;
}

/** `wasm-exporter:plugin/host`'s log. */
export function log(level, message) {
  process.stderr.write(`${level}: ${message}\n`);
}
