// wasm_exporter SDK for JavaScript plugins, built with componentize-js.
//
// A plugin is a class whose constructor takes the `config:` of its NAME.yml
// (an object) and whose `collect()` returns families; `exportCollector`
// turns it into the `collector` export the contract asks for:
//
//   import { exportCollector, gauge } from './wasm_exporter_sdk.js';
//
//   class Hello {
//     constructor(config) { this.site = config.site ?? 'local'; }
//     collect() {
//       const up = gauge('hello_up', 'Whether hello is up.', { labels: ['site'] });
//       up.addGauge([this.site], 1);
//       return [up];
//     }
//   }
//
//   export const collector = exportCollector(Hello, { name: 'hello', version: '0.1.0' });
//
// The contract's u64 and s64 are BigInts in JavaScript; this module converts
// plain numbers where the contract needs them.
//
// Outside the exporter (a plugin's unit tests under Node.js), run with
// `node --import ./testing.mjs`: the host's imports are then stand-ins, and
// `respond` from testing.mjs sets what `fetch` answers.

import { log as hostLog } from 'wasm-exporter:plugin/host@0.3.0';
import { fetch as hostFetch } from 'wasm-exporter:plugin/fetch@0.3.0';

/** A point in time: whole seconds and nanoseconds since the epoch. */
export function timestamp(seconds, nanoseconds = 0) {
  return { seconds: BigInt(seconds), nanoseconds };
}

/** An exemplar: `labels` as [name, value] pairs or an object. */
export function exemplar(labels, value, at = undefined) {
  const pairs = Array.isArray(labels) ? labels : Object.entries(labels);
  return {
    labels: pairs.map(([name, v]) => ({ name, value: String(v) })),
    value: Number(value),
    timestamp: at,
  };
}

/** One series of a family; set its timestamp or created time. */
class Series {
  constructor(labels, value) {
    this.labels = labels.map(String);
    this.value = value;
    this.timestamp = undefined;
    this.created = undefined;
  }

  withTimestamp(at) {
    this.timestamp = at;
    return this;
  }

  withCreated(at) {
    this.created = at;
    return this;
  }
}

function histogramValue(buckets, sum, count, exemplars = {}) {
  return {
    buckets: buckets.map(([le, n], i) => ({
      upperBound: Number(le),
      cumulativeCount: BigInt(n),
      exemplar: exemplars[i],
    })),
    sum: Number(sum),
    count: BigInt(count),
  };
}

/** A native histogram's value (contract 0.2.0). `negative`, `positive`:
 * [index, count] pairs sorted by index; `classic`: optional
 * [upperBound, cumulativeCount] pairs ending at Infinity. */
export function nativeHistogram({
  schema, zeroThreshold = 0, zeroCount = 0, negative = [], positive = [],
  count, sum, exemplars = [], classic = [],
}) {
  const side = (pairs) => pairs.map(([index, n]) => ({ index, count: BigInt(n) }));
  return {
    schema,
    zeroThreshold: Number(zeroThreshold),
    zeroCount: BigInt(zeroCount),
    negative: side(negative),
    positive: side(positive),
    count: BigInt(count),
    sum: Number(sum),
    exemplars,
    classic: histogramValue(classic, sum, count).buckets,
  };
}

/** A metric family: name, help, unit, label names and series. */
export class Family {
  constructor(kind, name, help, { unit = '', labels = [] } = {}) {
    this.kind = kind;
    this.name = name;
    this.help = help;
    this.unit = unit;
    this.labelNames = [...labels];
    this.series = [];
    this.nativeHistograms = [];
  }

  add(labels, value) {
    const series = new Series(labels, value);
    this.series.push(series);
    return series;
  }

  addCounter(labels, total, exemplar = undefined) {
    return this.add(labels, { tag: 'counter', val: { total: Number(total), exemplar } });
  }

  addGauge(labels, value) {
    return this.add(labels, { tag: 'gauge', val: Number(value) });
  }

  addUnknown(labels, value) {
    return this.add(labels, { tag: 'unknown', val: Number(value) });
  }

  /** `buckets`: [upperBound, cumulativeCount] pairs ending at Infinity;
   * `exemplars`: bucket index to exemplar. */
  addHistogram(labels, buckets, sum, count, exemplars = {}) {
    return this.add(labels, { tag: 'histogram', val: histogramValue(buckets, sum, count, exemplars) });
  }

  addGaugeHistogram(labels, buckets, sum, count, exemplars = {}) {
    return this.add(labels, {
      tag: 'gauge-histogram',
      val: histogramValue(buckets, sum, count, exemplars),
    });
  }

  /** A native histogram series; `value` from `nativeHistogram`. */
  addNativeHistogram(labels, value) {
    this.nativeHistograms.push(value);
    return this.add(labels, { tag: 'native-histogram', val: this.nativeHistograms.length - 1 });
  }

  addNativeGaugeHistogram(labels, value) {
    this.nativeHistograms.push(value);
    return this.add(labels, { tag: 'native-gauge-histogram', val: this.nativeHistograms.length - 1 });
  }

  /** `quantiles`: [quantile, value] pairs. */
  addSummary(labels, quantiles, sum, count) {
    return this.add(labels, {
      tag: 'summary',
      val: {
        quantiles: quantiles.map(([quantile, value]) => ({ quantile, value })),
        sum: Number(sum),
        count: BigInt(count),
      },
    });
  }

  addInfo(labels) {
    return this.add(labels, { tag: 'info' });
  }

  /** `states`: [name, enabled] pairs. */
  addStateset(labels, states) {
    return this.add(labels, {
      tag: 'stateset',
      val: states.map(([name, enabled]) => ({ name, enabled: Boolean(enabled) })),
    });
  }

  toContract(intern) {
    const labelValues = [];
    for (const s of this.series) {
      for (const v of s.labels) labelValues.push(intern(v));
    }
    return {
      name: this.name,
      help: this.help,
      unit: this.unit,
      kind: this.kind,
      labelNames: [...this.labelNames],
      labelValues,
      series: this.series.map((s) => ({ value: s.value, timestamp: s.timestamp, created: s.created })),
      nativeHistograms: this.nativeHistograms,
    };
  }
}

const family = (kind) => (name, help, options = {}) => new Family(kind, name, help, options);

export const counter = family('counter');
export const gauge = family('gauge');
export const unknown = family('unknown');
export const histogram = family('histogram');
export const gaugeHistogram = family('gauge-histogram');
export const summary = family('summary');
export const info = family('info');
export const stateset = family('stateset');

/** Writes to the exporter's log, tagged with the plugin's name; `level`
 * is 'trace', 'debug', 'info', 'warn' or 'error'. */
export function log(level, message) {
  hostLog(level, String(message));
}

/** A refused, failed or slow request: `error` is the contract's
 * fetch-error case ({ tag, val }). */
export class FetchFailed extends Error {
  constructor(error) {
    super(`${error.tag}: ${error.val ?? ''}`);
    this.error = error;
  }
}

const encoder = new TextEncoder();

// Bytes as the contract takes them: text is UTF-8, and what the host hands
// back (a typed array, an ArrayBuffer or a list of numbers) a Uint8Array.
function bytes(v) {
  if (v === undefined || v instanceof Uint8Array) return v;
  if (typeof v === 'string') return encoder.encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return Uint8Array.from(v);
}

/** What a target answered: `status` (0 for a socket), `headers` (a Map,
 * names in lower case, values of repeated headers joined with ", "),
 * `body` (a Uint8Array) and `truncated` (maxBytes cut it short). */
export class Response {
  constructor({ status, headers = [], body = new Uint8Array(), truncated = false }) {
    this.status = status;
    this.headers = new Map();
    for (const [name, value] of headers) {
      const key = name.toLowerCase();
      this.headers.set(key, this.headers.has(key) ? `${this.headers.get(key)}, ${value}` : value);
    }
    this.body = bytes(body);
    this.truncated = truncated;
  }

  /** Whether the status is 2xx. */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as text. */
  text() {
    return new TextDecoder().decode(this.body);
  }

  /** The body parsed as JSON. */
  json() {
    return JSON.parse(this.text());
  }
}

/** One request through the exporter, allowed by grants.fetch, shaped like
 * the web's fetch (but synchronous): `fetch(url, { method, headers, body })`
 * returns a Response whatever its status; a refused, failed or slow request
 * throws FetchFailed. `headers`: an object, a Map or [name, value] pairs;
 * `body`: a string or a Uint8Array (for a socket, what is written before
 * reading). Credentials are the grant's: the exporter adds them and the
 * plugin never sees them. */
export function fetch(target, {
  method = undefined, headers = {}, body = undefined, command = undefined,
  tlsVerify = true, timeoutMs = undefined, followRedirects = false,
  readUntil = undefined, maxBytes = undefined,
} = {}) {
  const pairs = headers instanceof Map || Array.isArray(headers)
    ? [...headers] : Object.entries(headers);
  const request = {
    target,
    method,
    headers: pairs.map(([n, v]) => [String(n), String(v)]),
    body: bytes(body ?? command),
    tlsVerify,
    timeoutMs,
    followRedirects,
    readUntil: bytes(readUntil),
    maxBytes: maxBytes === undefined ? undefined : BigInt(maxBytes),
  };
  let r;
  try {
    r = hostFetch(request);
  } catch (e) {
    throw new FetchFailed(e.payload ?? e);
  }
  return new Response(r);
}

/** Throw from the constructor for a config the plugin cannot use. */
export class InvalidConfig extends Error {}

// An error value of the contract, thrown out of an export.
const refuse = (payload) => ({ payload });

/** The `collector` export for plugin class `Plugin`. */
export function exportCollector(Plugin, { name, version, description = '' }) {
  let plugin;
  return {
    metadata() {
      return { name, version, description };
    },

    init(config) {
      let parsed;
      try {
        parsed = config.trim() === '' ? {} : JSON.parse(config);
      } catch (e) {
        throw refuse({ tag: 'invalid-config', val: `config: ${e.message}` });
      }
      try {
        plugin = new Plugin(parsed);
      } catch (e) {
        const tag = e instanceof InvalidConfig || e instanceof TypeError ? 'invalid-config' : 'failed';
        throw refuse({ tag, val: `config: ${e.message ?? e}` });
      }
    },

    collect() {
      if (plugin === undefined) {
        throw refuse({ message: 'collect called before a successful init' });
      }
      let families;
      try {
        families = plugin.collect();
      } catch (e) {
        throw refuse({ message: `${e.name ?? 'Error'}: ${e.message ?? e}` });
      }
      const strings = [];
      const index = new Map();
      const intern = (value) => {
        let i = index.get(value);
        if (i === undefined) {
          i = strings.length;
          index.set(value, i);
          strings.push(value);
        }
        return i;
      };
      return { strings, families: families.map((f) => f.toContract(intern)) };
    },
  };
}
