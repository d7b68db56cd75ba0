// Test plugin: the JavaScript twin of tests/plugins/foreign-api, written
// against the contract's WIT alone (componentize-js, no SDK): a POST with
// headers to a JSON API, whatever the API echoes logged and exported, and a
// redirect it asks to follow.

import { fetch } from 'wasm-exporter:plugin/fetch@0.3.0';
import { log } from 'wasm-exporter:plugin/host@0.3.0';

let config;

function request(target, fields = {}) {
  return {
    target, method: undefined, headers: [], body: undefined, tlsVerify: true,
    timeoutMs: 5000, followRedirects: false, readUntil: undefined, maxBytes: undefined,
    ...fields,
  };
}

class Out {
  constructor() {
    this.strings = [];
    this.families = new Map();
  }

  gauge(name, labels, value) {
    let family = this.families.get(name);
    if (family === undefined) {
      family = {
        name, help: `${name} of the foreign plugins.`, unit: '', kind: 'gauge',
        labelNames: labels.map(([n]) => n), labelValues: [], series: [], nativeHistograms: [],
      };
      this.families.set(name, family);
    }
    for (const [, v] of labels) {
      family.labelValues.push(this.strings.length);
      this.strings.push(String(v));
    }
    family.series.push({ value: { tag: 'gauge', val: Number(value) }, timestamp: undefined, created: undefined });
  }
}

export const collector = {
  metadata() {
    return { name: 'foreign-api-js', version: '0.1.0', description: 'a JSON API collector written against the WIT alone' };
  },

  init(text) {
    const parsed = JSON.parse(text);
    for (const key of ['api', 'redirect']) {
      if (typeof parsed[key] !== 'string') throw { payload: { tag: 'invalid-config', val: `${key}: a URL` } };
    }
    config = parsed;
  },

  collect() {
    const out = new Out();
    try {
      const r = fetch(request(config.api, {
        method: 'POST',
        headers: [['Accept', 'application/json'], ['Content-Type', 'application/json']],
        body: new TextEncoder().encode('{"query":"up","from":"javascript"}'),
      }));
      const text = new TextDecoder().decode(r.body);
      log('info', `api answered ${r.status}: ${text}`);
      const headers = new Map(r.headers);
      for (const [name, value] of r.headers) log('info', `api header ${name}: ${value}`);
      const answer = text ? JSON.parse(text) : {};
      out.gauge('foreign_api_status', [['lang', 'javascript'], ['call', 'api']], r.status);
      out.gauge('foreign_api_value', [['lang', 'javascript']], answer.value ?? NaN);
      out.gauge('foreign_api_seen', [
        ['lang', 'javascript'], ['echo', answer.echo ?? ''],
        ['header', headers.get('x-echo-authorization') ?? ''],
        ['authorization', headers.get('authorization') ?? '']], 1);
    } catch (e) {
      log('warn', `api: ${JSON.stringify(e.payload ?? String(e))}`);
    }
    let status;
    try {
      status = fetch(request(config.redirect, { followRedirects: true })).status;
    } catch (e) {
      log('warn', `redirect: ${JSON.stringify(e.payload ?? String(e))}`);
      status = -1;
    }
    out.gauge('foreign_api_status', [['lang', 'javascript'], ['call', 'redirect']], status);
    return { strings: out.strings, families: [...out.families.values()] };
  },
};
