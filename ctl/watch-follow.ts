import * as grpc from '@grpc/grpc-js';
import type { Context } from './command';
import { NoServerAnswered } from './errors';
import { renderData } from './output';
import { isData } from './print';

// How a stream that broke under ctl ends: the server went away or stopped serving, the connection
// dropped. Those are resumed on another server; a refusal (OUT_OF_RANGE, RESOURCE_EXHAUSTED, ...)
// ends the watch.
const BROKEN: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.INTERNAL,
]);
// A stream that ends so soon, with nothing sent, was refused rather than broken: it is not opened
// again, so that a server refusing every watch is not asked again and again.
const REFUSED_WITHIN_MS = 1000;

export interface Watch<T, V> {
  // The stream from the chosen server: changes after `fromRevision`, or (0) a snapshot first.
  open(fromRevision: number): Promise<grpc.ClientReadableStream<T>>;
  view(e: T): V;
  line(v: V): string;
  // For a watch of revisions: the revision every event up to `v` is covered by, undefined inside
  // the first snapshot (it is complete only at its end). Without it, a watch starts over (a fresh
  // snapshot) on the next server.
  revisionAfter?(v: V): number | undefined;
}

// Prints events until interrupted: a line each, a JSON document a line (JSON Lines) with -o json, a
// YAML document each with -o yaml. When the stream breaks, the watch goes on at the next server that
// answers, from the last revision printed, so nothing is missed or printed twice (what it did is said
// on stderr); it ends if the server ends it, or if no server answers.
export async function followWatch<T, V>(ctx: Context, watch: Watch<T, V>, fromRevision: number): Promise<void> {
  let revision = fromRevision > 0 ? fromRevision : undefined;
  let call: grpc.ClientReadableStream<T> | undefined;
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    call?.cancel();
  });
  for (;;) {
    call = await watch.open(revision ?? 0);
    const opened = Date.now();
    let sent = false;
    const broken = await follow(ctx, call, watch, (v) => {
      sent = true;
      if (watch.revisionAfter) revision = watch.revisionAfter(v) ?? revision;
    });
    if (broken === undefined || interrupted) return;
    const refused = !sent && Date.now() - opened < REFUSED_WITHIN_MS;
    if (!BROKEN.has(broken.code) || refused) throw broken;
    const from = ctx.servers.describe();
    if (watch.revisionAfter && revision === undefined)
      throw new Error(`the watch broke in its snapshot (${from}: ${broken.details}); watch again`);
    await ctx.servers.failover().catch((err: unknown) => {
      if (!(err instanceof NoServerAnswered) || revision === undefined) throw err;
      throw new NoServerAnswered(err.failures, `resume with --from-revision ${revision}`);
    });
    if (interrupted) return;
    const where = revision === undefined ? 'a fresh snapshot' : `revision ${revision}`;
    process.stderr.write(
      `ctl: the watch on ${from} broke (${broken.details}); resuming on ${ctx.servers.describe()} after ${where}\n`,
    );
  }
}

// One stream's events until it ends (undefined) or breaks (its error).
function follow<T, V>(
  ctx: Context,
  call: grpc.ClientReadableStream<T>,
  watch: Watch<T, V>,
  printed: (v: V) => void,
): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    call.on('data', (e: T) => {
      const v = watch.view(e);
      ctx.out(
        isData(ctx) ? (ctx.output === 'json' ? JSON.stringify(v) + '\n' : renderData('yaml', v)) : watch.line(v) + '\n',
      );
      printed(v);
    });
    call.on('end', () => resolve(undefined));
    call.on('error', (err: grpc.ServiceError) => resolve(err));
  });
}
