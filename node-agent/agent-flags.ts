import type { ConfigValues } from '../common/daemon-config';

// The agent's options: the one table its flags, its VXGOSSIP_AGENT_* variables and its config file
// are read by.
export const OPTIONS = {
  name: { type: 'string' },
  vtep: { type: 'string' },
  server: { type: 'string', list: true },
  'data-dir': { type: 'string' },
  bind: { type: 'string' },
  advertise: { type: 'string' },
  join: { type: 'string', list: true },
  'encrypt-key': { type: 'string' },
  'keyring-file': { type: 'string' },
  metrics: { type: 'string' },
  'join-token': { type: 'string' },
  'insecure-gossip': { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'max-records-per-owner': { type: 'string' },
  'departed-record-ttl': { type: 'string' },
  'agent-down-keep': { type: 'string' },
  'gossip-probe-interval': { type: 'string' },
  'gossip-probe-timeout': { type: 'string' },
  'vtep-sweep-interval': { type: 'string' },
  'vtep-sweep-timeout': { type: 'string' },
  'dup-max-moves': { type: 'string' },
  'dup-window': { type: 'string' },
  'dup-freeze-time': { type: 'string' },
  bpffs: { type: 'string' },
  'bpf-pin-dir': { type: 'string' },
  'cni-socket': { type: 'string' },
  'cni-delete-queue': { type: 'string' },
  'docker-plugin-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const AGENT_CONFIG = {
  name: 'node-agent',
  envPrefix: 'VXGOSSIP_AGENT_',
  options: OPTIONS,
  commandLineOnly: ['help'],
  // Before the agent had a prefix it read the server's address from VXGOSSIP_SERVER, as ctl does.
  legacyEnv: { server: 'VXGOSSIP_SERVER' },
} as const;

// What SIGHUP changes without a restart: the log, and the duplicate detection bounds, which are read
// at each move. (The keyring file's keys are read again at every SIGHUP too.) The rest is bound into
// sockets, the gossip cluster, the identity and the stores.
export const LIVE = ['log-level', 'log-format', 'dup-max-moves', 'dup-window', 'dup-freeze-time'] as const;

export type AgentValues = ConfigValues<typeof OPTIONS>;
