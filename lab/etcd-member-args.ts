// How every etcd member of the tests (and the compose demo, in docker-compose.yml) is run: compaction
// by revision so old revisions cannot pile up while replicas watch, a backend quota far below etcd's
// 2 GiB default so a runaway test hits NOSPACE instead of filling the disk, and pre-vote (3.5's
// default) so a member back from a partition or a restart does not depose a working leader.
export interface EtcdTuning {
  // Revisions kept by auto-compaction: a watch from an older revision fails with `compacted`.
  compactionRetention: number;
  quotaBackendBytes: number;
}

export const DEFAULT_ETCD_TUNING: EtcdTuning = { compactionRetention: 10_000, quotaBackendBytes: 256 * 1024 * 1024 };

export interface EtcdMemberSpec {
  name: string;
  dataDir: string;
  clientUrl: string;
  peerUrl: string;
  // Every member, name=peerUrl, this one included.
  initialCluster: { name: string; peerUrl: string }[];
  // Keeps independent clusters that share a network from joining each other.
  clusterToken: string;
}

export function etcdMemberArgs(member: EtcdMemberSpec, tuning: EtcdTuning = DEFAULT_ETCD_TUNING): string[] {
  return [
    ...['--name', member.name, '--data-dir', member.dataDir],
    ...['--listen-client-urls', member.clientUrl, '--advertise-client-urls', member.clientUrl],
    ...['--listen-peer-urls', member.peerUrl, '--initial-advertise-peer-urls', member.peerUrl],
    ...['--initial-cluster', member.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(',')],
    ...['--initial-cluster-state', 'new', '--initial-cluster-token', member.clusterToken],
    ...['--auto-compaction-mode', 'revision', '--auto-compaction-retention', String(tuning.compactionRetention)],
    ...['--quota-backend-bytes', String(tuning.quotaBackendBytes)],
    '--pre-vote',
  ];
}
