import type { AliveDelegate, ConflictDelegate, Delegate, EventDelegate, MergeDelegate, PingDelegate } from './delegate';
import type { Keyring } from './keyring';
import type { Transport } from './transport';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

// Every knob of memberlist's Config that changes behaviour on the wire or in failure detection.
// Durations are milliseconds.
export interface Config {
  name: string;
  bindAddr: string;
  // 0 picks a free port (the same one for UDP and TCP).
  bindPort: number;
  advertiseAddr?: string;
  advertisePort?: number;
  // The memberlist protocol we speak (2..5); 2 is what memberlist 0.2.2 and serf speak.
  protocolVersion: number;
  // The application protocol range and version advertised in Vsn (serf: 2, 5, 5).
  delegateProtocolMin: number;
  delegateProtocolMax: number;
  delegateProtocolVersion: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  gossipIntervalMs: number;
  gossipNodes: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  awarenessMaxMultiplier: number;
  pushPullIntervalMs: number;
  tcpTimeoutMs: number;
  indirectChecks: number;
  gossipToTheDeadTimeMs: number;
  deadNodeReclaimTimeMs: number;
  udpBufferSize: number;
  enableCompression: boolean;
  disableTcpPings: boolean;
  keyring?: Keyring;
  gossipVerifyIncoming: boolean;
  gossipVerifyOutgoing: boolean;
  // After a leave, keep answering probes this long so the leave spreads.
  leavePropagateDelayMs: number;
  delegate?: Delegate;
  events?: EventDelegate;
  conflict?: ConflictDelegate;
  merge?: MergeDelegate;
  alive?: AliveDelegate;
  ping?: PingDelegate;
  // Defaults to UDP+TCP sockets on bindAddr:bindPort.
  transport?: Transport;
  logger: Logger;
}

const common = {
  bindAddr: '0.0.0.0',
  bindPort: 7946,
  protocolVersion: 2,
  delegateProtocolMin: 0,
  delegateProtocolMax: 0,
  delegateProtocolVersion: 0,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  deadNodeReclaimTimeMs: 0,
  udpBufferSize: 1400,
  enableCompression: true,
  disableTcpPings: false,
  gossipVerifyIncoming: true,
  gossipVerifyOutgoing: true,
  leavePropagateDelayMs: 1000,
  logger: silentLogger,
};

// memberlist's DefaultLANConfig.
export function defaultLanConfig(name: string): Config {
  return {
    ...common,
    name,
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    retransmitMult: 4,
    suspicionMult: 4,
    pushPullIntervalMs: 30_000,
    tcpTimeoutMs: 10_000,
    indirectChecks: 3,
    gossipToTheDeadTimeMs: 30_000,
  };
}

// memberlist's DefaultWANConfig.
export function defaultWanConfig(name: string): Config {
  return {
    ...defaultLanConfig(name),
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    gossipIntervalMs: 500,
    gossipNodes: 4,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    tcpTimeoutMs: 30_000,
    gossipToTheDeadTimeMs: 60_000,
  };
}

// memberlist's DefaultLocalConfig: loopback or one rack.
export function defaultLocalConfig(name: string): Config {
  return {
    ...defaultLanConfig(name),
    probeIntervalMs: 1000,
    probeTimeoutMs: 200,
    gossipIntervalMs: 100,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    tcpTimeoutMs: 1000,
    indirectChecks: 1,
    gossipToTheDeadTimeMs: 15_000,
  };
}
