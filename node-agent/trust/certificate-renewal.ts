import type { Logger } from '../../common/log';
import { Backoff } from '../backoff';
import { saveIdentity, type StoredIdentity } from './identity-files';
import { NodeIdentity } from './node-identity';
import { renew } from './enrolment';

// Longest single wait: timers above 2^31 ms fire at once, and a check every day costs nothing.
const MAX_WAIT_MS = 24 * 3600_000;

// Renews the node's certificate before it expires (with a new key), persists it, then hands the new
// identity over; retries with backoff while the server is unreachable. Each attempt asks the replicas
// in turn until one renews: asking again is harmless (the certificate a lost answer carried is unused).
export class CertificateRenewal {
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private stopped = false;

  constructor(
    private readonly options: {
      // The server's replicas, the one most likely to answer first.
      servers: () => string[];
      dataDir: string;
      name: string;
      vtep: string;
      current: () => NodeIdentity;
      renewed: (identity: NodeIdentity) => void;
      log: Logger;
    },
  ) {}

  start(): void {
    this.schedule(this.options.current().renewAtMs() - Date.now());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const wait = Math.max(0, Math.min(delayMs, MAX_WAIT_MS));
    this.timer = setTimeout(() => {
      if (Date.now() < this.options.current().renewAtMs()) return this.start();
      void this.renewNow();
    }, wait);
  }

  async renewNow(): Promise<void> {
    const { dataDir, name, vtep, log } = this.options;
    const current = this.options.current();
    try {
      const stored = await this.renewAtAny(current);
      const identity = new NodeIdentity(stored, name, vtep);
      saveIdentity(dataDir, stored);
      this.backoff.reset();
      log.info('certificate renewed', { notAfter: new Date(identity.self.notAfterMs).toISOString() });
      this.options.renewed(identity);
      this.start();
    } catch (err) {
      const retryInMs = this.backoff.next();
      log.warn('certificate renewal failed; retrying', {
        error: (err as Error).message,
        expires: new Date(current.self.notAfterMs).toISOString(),
        retryInMs,
      });
      this.schedule(retryInMs);
    }
  }

  private async renewAtAny(current: NodeIdentity): Promise<StoredIdentity> {
    const failed: string[] = [];
    for (const server of this.options.servers()) {
      try {
        return await renew(server, current.stored, this.options.name);
      } catch (err) {
        failed.push(`${server}: ${(err as Error).message}`);
      }
    }
    throw new Error(failed.join('; '));
  }
}
