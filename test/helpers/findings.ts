import { AssertionError } from 'node:assert';

// Soft assertions: an attack test checks everything the attack could have broken and reports every
// failed check at once, so one run shows the whole damage, not only the first symptom.
export class Findings {
  private readonly failed: string[] = [];

  constructor(private readonly attack: string) {}

  async check(what: string, probe: () => void | Promise<void>): Promise<void> {
    try {
      await probe();
    } catch (err) {
      // The message says what differs; node's appended actual/expected dump would only repeat it.
      const message = (err as Error).message.split('\n+ actual - expected')[0].trim();
      this.failed.push(`${what}: ${message}`);
    }
  }

  get count(): number {
    return this.failed.length;
  }

  done(): void {
    if (this.failed.length === 0) return;
    throw new AssertionError({
      message: `${this.attack}: ${this.failed.length} check(s) failed\n${this.failed.map((f) => `  - ${f}`).join('\n')}`,
    });
  }
}
