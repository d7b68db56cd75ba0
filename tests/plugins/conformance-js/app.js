// The conformance plugin in JavaScript: the same families as the Rust one
// (tests/plugins/conformance), so that the three languages' SDKs can be
// compared byte for byte through the exporter.

import {
  InvalidConfig, counter, exemplar, exportCollector, gauge, gaugeHistogram,
  histogram, info, nativeHistogram, stateset, summary, timestamp, unknown,
} from '../../../plugins/sdk-js/wasm_exporter_sdk.js';

const CREATED = timestamp(1700000000, 250000000);

function families(prefix, collects) {
  const p = (name) => `${prefix}_${name}`;
  const out = [];

  const calls = counter(p('collects_total'), 'Calls of collect since init.');
  calls.addCounter([], collects);
  out.push(calls);

  const requests = counter(
    p('requests_total'),
    'Requests with "quotes", a backslash \\ and a\nnewline in the help.',
    { labels: ['method', 'path'] },
  );
  requests
    .addCounter(['GET', '/a"quoted"/b\\c\nd'], 1027,
      exemplar([['trace_id', '4bf92f3577b34da6']], 0.67, timestamp(1700000100, 500000000)))
    .withCreated(CREATED);
  requests.addCounter(['POST', '/ünïcödé/日本語'], 3).withCreated(CREATED);
  requests.addCounter(['PUT', ''], 0);
  out.push(requests);

  const temperature = gauge(p('temperature_celsius'), 'Temperature by sensor.',
    { unit: 'celsius', labels: ['sensor'] });
  temperature.addGauge(['ambient'], 21.5);
  temperature.addGauge(['cold'], -40.0);
  temperature.addGauge(['tiny'], 1e-05);
  temperature.addGauge(['huge'], 1.5e21);
  temperature.addGauge(['broken'], NaN);
  temperature.addGauge(['hot'], Infinity);
  temperature.addGauge(['frozen'], -Infinity);
  temperature.addGauge(['stamped'], 19.25).withTimestamp(timestamp(1700000200, 123000000));
  out.push(temperature);

  const mystery = unknown(p('mystery'), 'A value of unknown type.');
  mystery.addUnknown([], 42.0);
  out.push(mystery);

  const latency = histogram(p('request_duration_seconds'), 'Request latency.',
    { unit: 'seconds', labels: ['handler'] });
  latency.addHistogram(
    ['/api'],
    [[0.005, 1], [0.01, 3], [0.1, 7], [1.0, 9], [Infinity, 10]], 4.2, 10,
    {
      2: exemplar([['trace_id', 'a1b2'], ['span_id', 'c3']], 0.07, CREATED),
      4: exemplar([['trace_id', 'ff']], 2.5),
    },
  ).withCreated(CREATED);
  latency.addHistogram(['/empty'], [[Infinity, 0]], 0.0, 0);
  out.push(latency);

  const queue = gaugeHistogram(p('queue_wait_seconds'), 'Age of queued jobs.', { unit: 'seconds' });
  queue.addGaugeHistogram([], [[1.0, 2], [10.0, 5], [Infinity, 6]], 31.5, 6);
  out.push(queue);

  const rpc = summary(p('rpc_duration_seconds'), 'RPC latency.', { unit: 'seconds', labels: ['service'] });
  rpc.addSummary(['idle'], [[0.5, NaN], [0.99, NaN]], 0.0, 0).withCreated(CREATED);
  rpc.addSummary(['busy'], [[0.5, 0.0001], [0.9, 0.002], [0.99, 0.03]], 12.5, 1042);
  out.push(rpc);

  const build = info(p('build_info'), 'Build information.', { labels: ['version', 'revision'] });
  build.addInfo(['1.2.3', 'abc"def']);
  out.push(build);

  const mode = stateset(p('mode'), 'Operating mode.', { labels: ['unit'] });
  mode.addStateset(['a'], [['active', true], ['standby', false], ['failed', false]]);
  out.push(mode);

  const native = histogram(p('native_duration_seconds'), 'Latency in native buckets.',
    { unit: 'seconds', labels: ['handler'] });
  native.addNativeHistogram(['/both'], nativeHistogram({
    schema: 0, zeroThreshold: 0.001, zeroCount: 2,
    negative: [[-1, 1]], positive: [[0, 3], [1, 1], [5, 2]],
    count: 9, sum: 40.5,
    exemplars: [exemplar([['trace_id', 'n1']], 24.0, CREATED)],
    classic: [[1.0, 6], [Infinity, 9]],
  })).withCreated(CREATED);
  native.addNativeHistogram(['/native_only'], nativeHistogram({
    schema: 3, zeroThreshold: 2 ** -128, positive: [[8, 1], [9, 1], [11, 1]], count: 3, sum: 5.5,
  }));
  native.addNativeHistogram(['/unused'], nativeHistogram({ schema: 3, count: 0, sum: 0.0 }));
  out.push(native);

  const utf8 = gauge(`${prefix}.utf8.temperature`,
    'A name with dots, and label names a legacy scraper cannot read.',
    { labels: ['room.name', 'sensor "id"', 'plain'] });
  utf8.addGauge(['kitchen', 't-1', 'x'], 21.0);
  utf8.addGauge(['küche', 't-2', 'y'], 19.5);
  out.push(utf8);
  return out;
}

class Conformance {
  constructor(config) {
    const unknownKeys = Object.keys(config).filter((k) => k !== 'prefix');
    if (unknownKeys.length > 0) throw new InvalidConfig(`unknown field '${unknownKeys[0]}'`);
    this.prefix = config.prefix ?? 'conformance';
    if (this.prefix === '') throw new InvalidConfig('prefix must not be empty');
    this.collects = 0;
  }

  collect() {
    this.collects += 1;
    return families(this.prefix, this.collects);
  }
}

export const collector = exportCollector(Conformance, {
  name: 'conformance',
  version: '0.1.0',
  description: 'Every metric kind, in JavaScript',
});
