import { UsageError } from '../common/cli';
import type { Context } from './command';
import { renderData, renderTable } from './output';
import type { Column, Resource } from './views/resource';

// The columns for the chosen output: the wide ones only with -o wide.
export function tableOf<V>(ctx: Context, columns: Array<Column<V>>, items: V[]): string {
  const shown = columns.filter((c) => !c.wide || ctx.output === 'wide');
  return renderTable(
    shown.map((c) => c.header),
    items.map((v) => shown.map((c) => c.cell(v))),
    ctx.noHeaders,
  );
}

export const isData = (ctx: Context): boolean => ctx.output === 'json' || ctx.output === 'yaml';

export function refuseNames(ctx: Context): void {
  if (ctx.output === 'name')
    throw new UsageError(`-o name: ctl ${ctx.command} prints no named resources; use -o table, wide, json or yaml`);
}

// A listing in any format: the views as data, their names, or their table.
export function printList<V>(ctx: Context, resource: Resource<V>, items: V[]): void {
  if (isData(ctx)) return ctx.out(renderData(ctx.output, items));
  if (ctx.output === 'name') return ctx.out(items.map((v) => `${resource.kind}/${resource.name(v)}\n`).join(''));
  ctx.out(tableOf(ctx, resource.columns, items));
}

// One answer in any format: data for json and yaml, the names of the resources it is about for
// -o name (none: -o name is refused), or the text a person reads.
export function printAnswer(ctx: Context, answer: { data: unknown; names?: string[]; text: () => string }): void {
  if (isData(ctx)) return ctx.out(renderData(ctx.output, answer.data));
  if (ctx.output === 'name') {
    if (!answer.names) refuseNames(ctx);
    return ctx.out((answer.names ?? []).map((n) => `${n}\n`).join(''));
  }
  ctx.out(answer.text());
}
