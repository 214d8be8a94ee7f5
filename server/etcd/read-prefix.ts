import { Range, type Etcd3, type IKeyValue } from 'etcd3';

// Keys a page holds: records are a few hundred bytes, so a page stays far below the 4 MiB a gRPC
// message may carry, however many keys the prefix holds (100,000 records are about 30 MB).
const PAGE = 1_000;

// Everything under `prefix` as of one revision (returned), read page by page: every page after the
// first is read at the first one's revision, so the pages are one consistent snapshot.
export async function readPrefix(etcd: Etcd3, prefix: string): Promise<{ kvs: IKeyValue[]; revision: number }> {
  const range = Range.prefix(prefix);
  const kvs: IKeyValue[] = [];
  let revision: string | undefined;
  for (let from = range.start; ;) {
    const page = await etcd.kv.range({ key: from, range_end: range.end, limit: PAGE, revision });
    revision ??= page.header.revision;
    kvs.push(...page.kvs);
    if (!page.more || page.kvs.length === 0) return { kvs, revision: Number(revision) };
    // The next key after the last one read.
    from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
  }
}
