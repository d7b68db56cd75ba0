// Types of wasm_exporter_sdk.js, for editors and `tsc --checkJs`.
// The contract itself is wit/plugin.wit (wasm-exporter:plugin@0.2.0).

/** A point in time: whole seconds (BigInt) and nanoseconds since the epoch. */
export interface Timestamp { seconds: bigint; nanoseconds: number }
export interface Label { name: string; value: string }
export interface Exemplar { labels: Label[]; value: number; timestamp?: Timestamp }

export function timestamp(seconds: number | bigint, nanoseconds?: number): Timestamp;
/** An exemplar: labels as [name, value] pairs or an object. */
export function exemplar(labels: [string, string][] | Record<string, string>, value: number, at?: Timestamp): Exemplar;

export type Kind = 'counter' | 'gauge' | 'unknown' | 'histogram' | 'gauge-histogram' | 'summary' | 'info' | 'stateset';
export type Labels = (string | number)[];

export interface Series {
  withTimestamp(at: Timestamp): Series;
  withCreated(at: Timestamp): Series;
}

export interface FamilyOptions { unit?: string; labels?: string[] }

/** What `nativeHistogram` takes (contract 0.2.0): schema -4..8, buckets as
 * [index, count] pairs sorted by index, optional classic buckets as
 * [upperBound, cumulativeCount] pairs ending at Infinity. */
export interface NativeHistogramOptions {
  schema: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negative?: [number, number][];
  positive?: [number, number][];
  count: number;
  sum: number;
  exemplars?: Exemplar[];
  classic?: [number, number][];
}
/** A native histogram's value, for `addNativeHistogram`. */
export interface NativeHistogramValue { readonly schema: number }
export function nativeHistogram(options: NativeHistogramOptions): NativeHistogramValue;

export class Family {
  constructor(kind: Kind, name: string, help: string, options?: FamilyOptions);
  addCounter(labels: Labels, total: number, exemplar?: Exemplar): Series;
  addGauge(labels: Labels, value: number): Series;
  addUnknown(labels: Labels, value: number): Series;
  /** buckets: [upperBound, cumulativeCount] pairs ending at Infinity. */
  addHistogram(labels: Labels, buckets: [number, number][], sum: number, count: number, exemplars?: Record<number, Exemplar>): Series;
  addGaugeHistogram(labels: Labels, buckets: [number, number][], sum: number, count: number, exemplars?: Record<number, Exemplar>): Series;
  /** A native histogram series (a family of kind histogram). */
  addNativeHistogram(labels: Labels, value: NativeHistogramValue): Series;
  addNativeGaugeHistogram(labels: Labels, value: NativeHistogramValue): Series;
  /** quantiles: [quantile, value] pairs. */
  addSummary(labels: Labels, quantiles: [number, number][], sum: number, count: number): Series;
  addInfo(labels: Labels): Series;
  /** states: [name, enabled] pairs. */
  addStateset(labels: Labels, states: [string, boolean][]): Series;
}

type FamilyMaker = (name: string, help: string, options?: FamilyOptions) => Family;
export const counter: FamilyMaker;
export const gauge: FamilyMaker;
export const unknown: FamilyMaker;
export const histogram: FamilyMaker;
export const gaugeHistogram: FamilyMaker;
export const summary: FamilyMaker;
export const info: FamilyMaker;
export const stateset: FamilyMaker;

export function log(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', message: string): void;

export type FetchError =
  | { tag: 'denied'; val: string }
  | { tag: 'invalid-target'; val: string }
  | { tag: 'connect'; val: string }
  | { tag: 'timeout' }
  | { tag: 'too-large'; val: bigint }
  | { tag: 'protocol'; val: string };

export class FetchFailed extends Error { error: FetchError }

export interface FetchOptions {
  method?: string;
  headers?: Record<string, string> | Map<string, string> | Array<[string, string]>;
  body?: string | Uint8Array;
  /** The same as `body`, for a socket. */
  command?: string;
  tlsVerify?: boolean;
  timeoutMs?: number;
  followRedirects?: boolean;
  readUntil?: string | Uint8Array;
  maxBytes?: number;
}
/** What a target answered; any HTTP status is a response. */
export class Response {
  status: number;
  /** Names in lower case. */
  headers: Map<string, string>;
  body: Uint8Array;
  truncated: boolean;
  readonly ok: boolean;
  text(): string;
  json(): unknown;
}
/** One request through the exporter, allowed by grants.fetch; throws FetchFailed. */
export function fetch(target: string, options?: FetchOptions): Response;

export class InvalidConfig extends Error {}

export interface Plugin { collect(): Family[] }
export interface PluginClass { new (config: Record<string, unknown>): Plugin }
export interface Metadata { name: string; version: string; description?: string }

/** The `collector` export for a plugin class. */
export function exportCollector(plugin: PluginClass, metadata: Metadata): unknown;
