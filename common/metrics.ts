import * as http from 'node:http';

// Prometheus metrics in the text exposition format, without a dependency: counters, gauges and
// histograms with labels, served over HTTP at /metrics.

type Labels = Record<string, string | number>;

const labelKey = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract samples(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join('\n');
  }
}

class Scalar extends Metric {
  private readonly values = new Map<string, number>();

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }

  // Replaces every labelled value (a gauge recomputed from scratch, e.g. per VNI).
  reset(): void {
    this.values.clear();
  }

  samples(): string[] {
    if (this.values.size === 0 && this.type === 'counter') return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export type Counter = Pick<Scalar, 'inc'>;
export type Gauge = Pick<Scalar, 'set' | 'reset'>;

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(
    name: string,
    help: string,
    private readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }

  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }

  samples(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(
        `${this.name}_bucket{${sep}le="+Inf"} ${s.count}`,
        `${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`,
        `${this.name}_count${k ? `{${k}}` : ''} ${s.count}`,
      );
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  // Refreshes gauges that are read from elsewhere just before a scrape.
  private readonly collectors: Array<() => void> = [];

  counter(name: string, help: string): Counter {
    return this.add(new Scalar(name, help, 'counter'));
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Scalar(name, help, 'gauge'));
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  render(): string {
    for (const c of this.collectors) c();
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }

  private add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }

  // Serves /metrics, and /healthz and /readyz when a readiness probe is given (200 when ready, 503
  // otherwise, with the checks as JSON); resolves with the bound address.
  serve(
    host: string,
    port: number,
    readiness?: () => { ready: boolean; checks: Record<string, string> },
  ): Promise<{ address: string; close(): void }> {
    const server = http.createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
      } else if (readiness && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (readiness && req.url === '/readyz') {
        const r = readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
      } else {
        res.writeHead(404).end(`not found: try /metrics${readiness ? ', /healthz or /readyz' : ''}\n`);
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address() as { port: number };
        resolve({ address: `${host}:${a.port}`, close: () => server.close() });
      });
    });
  }
}

// Seconds, from a millisecond to a minute: RPCs and convergence both fit.
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
