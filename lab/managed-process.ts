import { ChildProcess, spawn } from 'node:child_process';

export interface LogRecord {
  level: string;
  msg: string;
  [key: string]: unknown;
}

// A child process whose output is kept (for failure reports) and whose JSON log lines can be awaited.
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private output = '';
  private readonly records: LogRecord[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Each stream keeps its unfinished last line until the rest of it arrives.
    const lineReader = () => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = chunk.toString();
        this.output += text;
        const lines = (partial + text).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line.startsWith('{')) continue;
          try {
            this.records.push(JSON.parse(line) as LogRecord);
          } catch {
            // Not a log record (e.g. a stack trace line starting with '{'); the raw output keeps it.
          }
        }
        for (const wake of this.waiters) wake();
      };
    };
    this.child.stdout!.on('data', lineReader());
    this.child.stderr!.on('data', lineReader());
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        for (const wake of this.waiters) wake();
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): string {
    return this.output;
  }

  logRecords(): LogRecord[] {
    return this.records;
  }

  // Resolves with the first log record (from the start of the process) that matches.
  waitForLog(match: (r: LogRecord) => boolean, timeoutMs = 10_000, from = 0): Promise<LogRecord> {
    return this.waitFor(() => this.records.slice(from).find(match), 'the awaited log line', timeoutMs);
  }

  // Resolves once the raw output (any stream, JSON or not) matches.
  waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return this.waitFor(() => pattern.exec(this.output)?.[0], `output matching ${pattern}`, timeoutMs);
  }

  private waitFor<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found !== undefined) return finish(() => resolve(found));
        if (!this.running)
          finish(() =>
            reject(
              new Error(
                `${this.label} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.tail()}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          finish(() => reject(new Error(`${this.label}: ${what} not seen within ${timeoutMs} ms:\n${this.tail()}`))),
        timeoutMs,
      );
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        then();
      };
      this.waiters.add(check);
      check();
    });
  }

  tail(lines = 40): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
