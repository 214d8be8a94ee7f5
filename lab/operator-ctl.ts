import { strict as assert } from 'node:assert';
import { operatorArgs } from './credentials';
import type { LabHost } from './network';

// ctl as the operator, from the server's host (`ctrl`), for a suite that runs a server in a lab.
export abstract class OperatorCtl {
  abstract get ctrl(): LabHost;
  abstract get serverAddr(): string;
  abstract get serverDir(): string;

  // What ctl is given as --server: the server, or every replica.
  get ctlServers(): string {
    return this.serverAddr;
  }

  ctlRun(...args: string[]): { status: number; stdout: string; stderr: string } {
    return this.ctrl.ctl([...operatorArgs(this.ctlServers, this.serverDir), ...args]);
  }

  // ctl that must succeed: its stdout.
  ctl(...args: string[]): string {
    const r = this.ctlRun(...args);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }
}
