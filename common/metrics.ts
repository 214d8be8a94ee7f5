import * as client from 'prom-client';
import { VERSION } from './version';

// Prometheus metrics through prom-client, the maintained client: names, types, label escaping and the
// exposition format are its job. Each daemon has one registry with the process_* and nodejs_* metrics
// and vxgossip_build_info beside its own.

// prom-client's gauges of the same counts under a `_total` name: promtool flags them (only counters
// may end in _total), and nodejs_active_handles etc. carry the same values.
const DUPLICATE_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export type Counter = client.Counter;
export type Gauge = client.Gauge;
export type Histogram = client.Histogram;

export class Metrics {
  readonly registry = new client.Registry();
  // Refresh values that live elsewhere (counts kept by other parts, state) just before a scrape.
  private readonly collectors: Array<() => void> = [];

  constructor(component: 'server' | 'agent') {
    client.collectDefaultMetrics({ register: this.registry });
    for (const name of DUPLICATE_DEFAULTS) this.registry.removeSingleMetric(name);
    this.gauge('vxgossip_build_info', 'Always 1: the version and component of this build, as labels', [
      'version',
      'component',
      'nodejs',
    ]).set({ version: VERSION, component, nodejs: process.version }, 1);
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
    return new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  async render(): Promise<string> {
    for (const c of this.collectors) c();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

// Sets a counter whose running totals another part keeps (counts since start, never decreasing), one
// per label value, as read at a scrape.
export function setTotals(counter: Counter, label: string, values: Iterable<[string, number]>): void {
  counter.reset();
  for (const [value, n] of values) counter.inc({ [label]: value }, n);
}

// Sets a labelled gauge from scratch (a series per VNI, per state): values that are gone disappear.
export function setAll(gauge: Gauge, label: string, values: Iterable<[string | number, number]>): void {
  gauge.reset();
  for (const [value, n] of values) gauge.set({ [label]: value }, n);
}

// Seconds, from a millisecond to a minute: RPCs and convergence both fit.
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
