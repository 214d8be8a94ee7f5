import type { Attachment } from '../common/cni/protocol';
import type { NetConfig } from './net-config';

type Json = Record<string, unknown>;
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);

// The CNI result of an ADD (SPEC.md, "ADD Success"): the host side and the container side of the
// veth, the address on the container side, and for a routed VNI the default route through its
// gateway. Chained after another plugin, ours are appended to its result.
export function addResult(config: NetConfig, a: Attachment): Json {
  const prev = config.prevResult ?? {};
  const interfaces = list(prev.interfaces);
  const first = interfaces.length;
  const withMtu = config.cniVersion !== '1.0.0' && a.mtu > 0 ? { mtu: a.mtu } : {};
  interfaces.push(
    { name: a.hostInterface, ...(a.hostMac ? { mac: a.hostMac } : {}), ...withMtu },
    { name: a.ifname, mac: a.mac, sandbox: a.netns, ...withMtu },
  );
  const ips = [
    ...list(prev.ips),
    { address: a.ip, ...(a.gateway ? { gateway: a.gateway } : {}), interface: first + 1 },
  ];
  const routes = list(prev.routes);
  if (a.gateway) routes.push({ dst: a.gateway.includes(':') ? '::/0' : '0.0.0.0/0', gw: a.gateway });
  return {
    cniVersion: config.cniVersion,
    interfaces,
    ips,
    routes,
    dns: prev.dns ?? config.dns ?? {},
  };
}

// What CHECK compares: the address and MAC our ADD reported for the container's interface.
export function ourPrevious(config: NetConfig, ifname: string, netns: string): { ip?: string; mac?: string } {
  const prev = config.prevResult ?? {};
  const interfaces = list(prev.interfaces);
  const index = interfaces.findIndex((i) => i.name === ifname && i.sandbox === netns);
  if (index < 0) return {};
  const ip = list(prev.ips).find((i) => i.interface === index)?.address;
  const mac = interfaces[index].mac;
  return { ...(typeof ip === 'string' ? { ip } : {}), ...(typeof mac === 'string' ? { mac } : {}) };
}
