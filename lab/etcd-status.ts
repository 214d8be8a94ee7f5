// One member's view of the cluster, from `etcdctl endpoint status -w json`. Member IDs are uint64s that
// etcdctl prints as bare JSON numbers, beyond what a JavaScript number holds exactly: they are kept as
// the decimal strings etcdctl printed.
export interface EtcdStatus {
  endpoint: string;
  memberId: string;
  // '0' while the member knows of no leader.
  leaderId: string;
  raftTerm: number;
  raftIndex: number;
  revision: number;
  dbSize: number;
}

const UINT64_FIELDS = /"(cluster_id|member_id|leader)":(\d+)/g;

interface RawStatus {
  Endpoint: string;
  Status: {
    header: { member_id: string; revision: number };
    leader: string;
    raftTerm: number;
    raftIndex: number;
    dbSize: number;
  };
}

export function parseEndpointStatus(json: string): EtcdStatus[] {
  let raw: RawStatus[];
  try {
    raw = JSON.parse(json.replace(UINT64_FIELDS, '"$1":"$2"')) as RawStatus[];
  } catch (err) {
    throw new Error(`etcdctl endpoint status printed no JSON (${(err as Error).message}): ${json.slice(0, 300)}`);
  }
  return raw.map((r) => ({
    endpoint: r.Endpoint,
    memberId: r.Status.header.member_id,
    leaderId: r.Status.leader,
    raftTerm: r.Status.raftTerm,
    raftIndex: r.Status.raftIndex,
    revision: r.Status.header.revision,
    dbSize: r.Status.dbSize,
  }));
}
