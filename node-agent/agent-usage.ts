import { configUsage } from '../common/daemon-config';
import { MAX_SERVERS } from '../common/server-list';
import { DEFAULT_MAX_RECORDS_PER_OWNER } from '../common/fdb-state/record';
import { DEFAULT_AGENT_SOCKET, DEFAULT_DELETE_QUEUE_DIR } from '../common/cni/protocol';
import { AGENT_CONFIG, LIVE } from './agent-flags';
import { DEFAULT_AGENT_DOWN_KEEP_MS, DEFAULT_DEPARTED_RECORD_TTL_MS } from './agent';
import { BPFFS_ROOT, DEFAULT_PIN_DIR } from './bpf/bpffs';
import { DEFAULT_PLUGIN_DIR } from './docker/plugin-server';
import { DEFAULT_DUPLICATE_DETECTION } from './state/duplicate-detector';

export const GOSSIP_PORT = 7946;

// The agent's --help.
export const USAGE = `Usage: node-agent [--config FILE] --name NAME --vtep IP --data-dir DIR [--server HOST:PORT,...]
                  [--join-token TOKEN | --tls-ca FILE --tls-cert FILE --tls-key FILE]
                  [--bind HOST:PORT] [--advertise HOST:PORT] [--join HOST:PORT,...]
                  [--encrypt-key BASE64 | --keyring-file FILE | --insecure-gossip] [--metrics HOST:PORT]
                  [--log-level LEVEL] [--log-format json|text] [--max-records-per-owner N] [--departed-record-ttl DURATION]
                  [--agent-down-keep DURATION] [--gossip-probe-interval DURATION] [--gossip-probe-timeout DURATION]
                  [--vtep-sweep-interval DURATION|0] [--vtep-sweep-timeout DURATION]
                  [--bpffs DIR] [--bpf-pin-dir DIR] [--cni-socket PATH|off] [--cni-delete-queue DIR]
                  [--docker-plugin-dir DIR|off]
                  [--dup-max-moves N] [--dup-window DURATION] [--dup-freeze-time DURATION|permanent]

The vxgossip host agent: realises every VNI as vxlan<VNI> (a port of br<VNI>) over rtnetlink, learns
every remote endpoint by gossip and programs the kernel's FDB and neighbour tables. Needs CAP_NET_ADMIN.

  --name          this node's name, unique in the cluster (letters, digits, '.', '_', '-')
  --vtep          this host's underlay address; VXLAN packets leave from it
  --data-dir      where the agent keeps its identity (key 0600, certificate), the gossip keyring and
                  the last VNI configuration
  --server        the vxgossip server (default 127.0.0.1:50051; $VXGOSSIP_SERVER, as ctl reads, still
                  works below $VXGOSSIP_AGENT_SERVER); several, comma-separated (at most ${MAX_SERVERS}), are its
                  replicas: when the stream to one ends or it cannot be reached, the next retry dials
                  the next one, and the agent sends its records again there
  --join-token    enrol this host (first start only): it makes its key and the server certifies it
                  for --name and --vtep; the token comes from ctl token create
  --tls-ca, --tls-cert, --tls-key   instead of enrolment: this host's certificate (CN=node:NAME, the
                  VTEP as an IP SAN) and key from your own CA, and the CAs of the server and peers
  --bind          gossip address, UDP and TCP (default 0.0.0.0:${GOSSIP_PORT})
  --advertise     gossip address peers should use (default: the VTEP, bind port)
  --join          peers to join, retried until one answers (comma-separated HOST:PORT)
  --encrypt-key   gossip encryption key, base64 of 16, 24 or 32 bytes (as serf keygen makes); by
                  default the keyring the server handed out at enrolment
  --keyring-file  a JSON array of base64 keys, the first one primary (serf's keyring format)
  --insecure-gossip   gossip in clear text (records stay signed); warns at every start
  --metrics       serve Prometheus metrics at http://HOST:PORT/metrics, liveness at /healthz and
                  readiness at /readyz (kernel reconciled, gossip synchronised, every VNI realised;
                  503 naming what is not) (off by default)
  --log-level     debug, info (default), warn or error
  --log-format    json (default: a JSON object per line on stderr) or text (time level msg key=value)
  --agent-down-keep   how long a host whose agent is down keeps its entries here while its VTEP
                  answers ICMP echo (default ${DEFAULT_AGENT_DOWN_KEEP_MS / 60_000}m: an upgrade or a restart loop; a host whose VTEP
                  is silent for 0.5 s, or that leaves, is withdrawn at once). Peers' VTEPs must answer ICMP echo.
  --gossip-probe-interval, --gossip-probe-timeout   how often gossip probes one peer, and how long it
                  waits for the answer (default 1s and 500ms, memberlist's LAN profile)
  --vtep-sweep-interval, --vtep-sweep-timeout   every interval this host pings one peer's VTEP (ICMP
                  echo, answered by its kernel), the hosts taking turns so that each peer is pinged
                  once per interval; one unanswered within the timeout starts the fast check that
                  withdraws a gone host (default 500ms and 200ms: a gone host is withdrawn everywhere
                  within about 1.5 s, at 2 pings/s per host whatever the cluster's size; 0 turns the
                  sweep off, leaving gossip's probes to notice a gone host, about 2-5 s)
  --departed-record-ttl     how long the records of a host gossip has not had alive are kept
                  (default ${DEFAULT_DEPARTED_RECORD_TTL_MS / 3_600_000}h; they come back when it returns)
  --bpffs         where the BPF filesystem is (default ${BPFFS_ROOT}; mounted there if it is not),
                  and --bpf-pin-dir our pins inside it (default ${DEFAULT_PIN_DIR}): only once an
                  L3 VNI on the bpf datapath is realised here; the pins outlive the agent
  --cni-socket    where the vxgossip CNI plugin reaches this agent (default ${DEFAULT_AGENT_SOCKET}, mode
                  0600; 'off' serves none; a socket another live agent serves is left to it), and
                  --cni-delete-queue the deletions the plugin queued while the agent was down, done at
                  start (default ${DEFAULT_DELETE_QUEUE_DIR}); give the plugin the same in its config
  --docker-plugin-dir   where Docker finds this agent's network and IPAM drivers, vxgossip.sock
                  (default ${DEFAULT_PLUGIN_DIR}; off: not served)
  --max-records-per-owner   records (endpoints, memberships, tombstones) one host may announce and
                  this agent keeps of each peer (default ${DEFAULT_MAX_RECORDS_PER_OWNER}; the same on every agent and the server)

Duplicate MAC detection (EVPN's): a local MAC this host must take back from another host's claim
--dup-max-moves times within --dup-window is frozen: this host stops contesting it, every host and
the server show it frozen (ctl fdb dup list), until --dup-freeze-time passes or an operator runs
ctl fdb dup clear.
  --dup-max-moves     default ${DEFAULT_DUPLICATE_DETECTION.maxMoves} (2 to 1000)
  --dup-window        default ${DEFAULT_DUPLICATE_DETECTION.windowMs / 1000}s
  --dup-freeze-time   default ${Number(DEFAULT_DUPLICATE_DETECTION.freezeMs) / 1000}s; 'permanent' until cleared

${configUsage(AGENT_CONFIG, LIVE)}
SIGHUP also reads the keyring file again (--keyring-file, else the one enrolment left) and makes
the running keyring its keys.
Under systemd (Type=notify) it sends READY=1 once gossip is bound and the first reconcile is done
(it does not wait for peers or the server), and STOPPING=1 on SIGTERM and SIGINT.`;
