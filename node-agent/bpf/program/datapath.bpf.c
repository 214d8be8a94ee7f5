// The BPF datapath for L3 VNIs: two tc (clsact, direct-action) programs and the maps the agent fills.
//
//   from_workload  at ingress of each endpoint's host-side veth: what a workload sends. ARP requests
//                  and IPv6 neighbour solicitations are answered here with the veth's MAC (the
//                  workload's gateway is whatever address it asks for); IP packets from one of the
//                  endpoint's own addresses go to a local endpoint of the same VNI (its veth) or, through
//                  the external vxlan device, to the VTEP of a remote one; everything else is dropped.
//   from_tunnel    at ingress of the external (collect_md) vxlan device: what arrives from peers.
//                  (VNI, destination) must be a local endpoint of that VNI, else it is dropped.
//
// Keys and values are laid out exactly as node-agent/bpf/map-codec.ts writes them (no implicit
// padding, explicit pad bytes kept zero). The object has no global data: its only maps are the pinned
// ones, so a reload of the same build yields the same program tag and map ids.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Build-time knobs (-DNAME=N): the outer header's TTL, and how many remote endpoints fit. A build
// whose map differs from the pinned one replaces it (node-agent/bpf/native/object_loader.c).
#ifndef TUNNEL_TTL
#define TUNNEL_TTL 64
#endif
#ifndef REMOTE_ENDPOINTS_MAX
#define REMOTE_ENDPOINTS_MAX 65536
#endif

#define FAMILY_IPV4 4
#define FAMILY_IPV6 6

#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define NEXTHDR_ICMPV6 58
#define ND_NEIGHBOUR_SOLICITATION 135
#define ND_NEIGHBOUR_ADVERTISEMENT 136
#define ND_OPT_SOURCE_LL_ADDR 1
#define ND_OPT_TARGET_LL_ADDR 2
// Router, solicited, override: we are the workload's router and our answer replaces any other.
#define ND_NA_FLAGS 0xe0000000

// (VNI, address): an endpoint. IPv4 addresses use the first 4 bytes of addr, the rest stays zero.
struct endpoint_key {
  __u32 vni;
  __u8 family;
  __u8 pad[3];
  __u8 addr[16];
};

// An endpoint on another host: encapsulated to its VTEP through the external vxlan device.
struct remote_endpoint {
  __u8 vtep[16];
  __u8 vtep_family;
  __u8 pad;
  // The inner destination MAC the remote side accepts (its L3 device's MAC, derived from its VTEP).
  __u8 mac[ETH_ALEN];
  __u32 tunnel_ifindex;
};

// An endpoint on this host: delivered through its host-side veth.
struct local_endpoint {
  __u32 ifindex;
  __u8 mac[ETH_ALEN];
  __u8 pad[2];
};

// A host-side veth: the VNI its workload belongs to and the veth's own MAC (the workload's gateway).
struct workload_if {
  __u32 vni;
  __u8 mac[ETH_ALEN];
  __u8 pad[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, REMOTE_ENDPOINTS_MAX);
  __type(key, struct endpoint_key);
  __type(value, struct remote_endpoint);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} remote_eps SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct endpoint_key);
  __type(value, struct local_endpoint);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} local_eps SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, struct workload_if);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} workload_ifs SEC(".maps");

struct arp_ipv4 {
  __be16 hrd;
  __be16 pro;
  __u8 hln;
  __u8 pln;
  __be16 op;
  __u8 sha[ETH_ALEN];
  __u8 spa[4];
  __u8 tha[ETH_ALEN];
  __u8 tpa[4];
} __attribute__((packed));

// A neighbour solicitation or advertisement carrying one link-layer address option (both 32 bytes).
struct nd_message {
  __u8 type;
  __u8 code;
  __u16 checksum;
  __be32 flags;
  __u8 target[16];
  __u8 opt_type;
  __u8 opt_len;
  __u8 opt_mac[ETH_ALEN];
};

static __always_inline void key_ipv4(struct endpoint_key *key, __u32 vni, __be32 addr) {
  __builtin_memset(key, 0, sizeof(*key));
  key->vni = vni;
  key->family = FAMILY_IPV4;
  __builtin_memcpy(key->addr, &addr, 4);
}

static __always_inline void key_ipv6(struct endpoint_key *key, __u32 vni, const struct in6_addr *addr) {
  __builtin_memset(key, 0, sizeof(*key));
  key->vni = vni;
  key->family = FAMILY_IPV6;
  __builtin_memcpy(key->addr, addr, 16);
}

static __always_inline int set_macs(struct __sk_buff *skb, const __u8 *dst, const __u8 *src) {
  if (bpf_skb_store_bytes(skb, 0, dst, ETH_ALEN, 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_ALEN, src, ETH_ALEN, 0);
}

// To a local endpoint, through its veth, addressed so its workload accepts it: only when the veth
// belongs to that VNI (a stale or mistaken entry never crosses VNIs).
static __always_inline int deliver(struct __sk_buff *skb, __u32 vni, const struct local_endpoint *to) {
  __u32 ifindex = to->ifindex;
  struct workload_if *veth = bpf_map_lookup_elem(&workload_ifs, &ifindex);
  if (!veth || veth->vni != vni) return TC_ACT_SHOT;
  if (set_macs(skb, to->mac, veth->mac)) return TC_ACT_SHOT;
  return bpf_redirect(ifindex, 0);
}

static __always_inline int encapsulate(struct __sk_buff *skb, __u32 vni, const struct remote_endpoint *to,
                                       const struct workload_if *from) {
  struct bpf_tunnel_key tunnel;
  __u64 flags = 0;
  __builtin_memset(&tunnel, 0, sizeof(tunnel));
  tunnel.tunnel_id = vni;
  tunnel.tunnel_ttl = TUNNEL_TTL;
  if (to->vtep_family == FAMILY_IPV6) {
    __builtin_memcpy(tunnel.remote_ipv6, to->vtep, 16);
    flags = BPF_F_TUNINFO_IPV6;
  } else {
    __be32 vtep;
    __builtin_memcpy(&vtep, to->vtep, 4);
    tunnel.remote_ipv4 = bpf_ntohl(vtep);
  }
  if (bpf_skb_set_tunnel_key(skb, &tunnel, sizeof(tunnel), flags)) return TC_ACT_SHOT;
  if (set_macs(skb, to->mac, from->mac)) return TC_ACT_SHOT;
  return bpf_redirect(to->tunnel_ifindex, 0);
}

// An ARP request from the workload, for any address but its own, is answered with the veth's MAC.
static __always_inline int answer_arp(struct __sk_buff *skb, const struct workload_if *veth) {
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = (void *)(long)skb->data;
  struct arp_ipv4 *arp = (void *)(eth + 1);
  if ((void *)(arp + 1) > data_end) return TC_ACT_SHOT;
  if (arp->hrd != bpf_htons(ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) || arp->hln != ETH_ALEN ||
      arp->pln != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
    return TC_ACT_SHOT;
  __u32 sender, target;
  __builtin_memcpy(&sender, arp->spa, 4);
  __builtin_memcpy(&target, arp->tpa, 4);
  // An address probe (no sender address) or an announcement of its own address needs no answer.
  if (sender == 0 || sender == target) return TC_ACT_SHOT;

  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, veth->mac, ETH_ALEN);
  arp->op = bpf_htons(ARPOP_REPLY);
  __builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
  __builtin_memcpy(arp->tpa, &sender, 4);
  __builtin_memcpy(arp->sha, veth->mac, ETH_ALEN);
  __builtin_memcpy(arp->spa, &target, 4);
  return bpf_redirect(skb->ifindex, 0);
}

static __always_inline __u16 fold(__s64 sum) {
  __u32 s = (__u32)sum;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (__u16)~s;
}

#define ND_REPLY_LEN (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct nd_message))

// A neighbour solicitation from the workload is answered in place with an advertisement of the veth's
// MAC. Duplicate address detection (unspecified source) gets no answer: the address is the workload's.
static __always_inline int answer_ns(struct __sk_buff *skb, const struct workload_if *veth) {
  struct ipv6hdr *ip6 = (void *)(long)skb->data + sizeof(struct ethhdr);
  if ((void *)(ip6 + 1) > (void *)(long)skb->data_end) return TC_ACT_SHOT;
  if (!(ip6->saddr.in6_u.u6_addr32[0] | ip6->saddr.in6_u.u6_addr32[1] | ip6->saddr.in6_u.u6_addr32[2] |
        ip6->saddr.in6_u.u6_addr32[3]))
    return TC_ACT_SHOT;
  // A solicitation without the source link-layer option is 8 bytes short of the answer; longer
  // options are cut off.
  if (skb->len != ND_REPLY_LEN && bpf_skb_change_tail(skb, ND_REPLY_LEN, 0)) return TC_ACT_SHOT;

  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = (void *)(long)skb->data;
  ip6 = (void *)(eth + 1);
  struct nd_message *nd = (void *)(ip6 + 1);
  if ((void *)(nd + 1) > data_end) return TC_ACT_SHOT;

  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, veth->mac, ETH_ALEN);
  ip6->daddr = ip6->saddr;
  __builtin_memcpy(&ip6->saddr, nd->target, 16);
  ip6->payload_len = bpf_htons(sizeof(struct nd_message));
  ip6->hop_limit = 255;
  nd->type = ND_NEIGHBOUR_ADVERTISEMENT;
  nd->code = 0;
  nd->checksum = 0;
  nd->flags = bpf_htonl(ND_NA_FLAGS);
  nd->opt_type = ND_OPT_TARGET_LL_ADDR;
  nd->opt_len = 1;
  __builtin_memcpy(nd->opt_mac, veth->mac, ETH_ALEN);

  // ICMPv6 checksum: the pseudo-header (both addresses, length, next header), then the message.
  __be32 pseudo[2];
  pseudo[0] = bpf_htonl(sizeof(struct nd_message));
  pseudo[1] = bpf_htonl(NEXTHDR_ICMPV6);
  __s64 sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
  sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), (__u32)sum);
  sum = bpf_csum_diff(0, 0, (__be32 *)nd, sizeof(*nd), (__u32)sum);
  nd->checksum = fold(sum);
  return bpf_redirect(skb->ifindex, 0);
}

static __always_inline int is_neighbour_solicitation(const struct ipv6hdr *ip6, void *data_end) {
  const struct nd_message *nd = (const void *)(ip6 + 1);
  if (ip6->nexthdr != NEXTHDR_ICMPV6 || ip6->hop_limit != 255) return 0;
  // The message up to the target: the option may be absent.
  if ((void *)nd + __builtin_offsetof(struct nd_message, opt_type) > data_end) return 0;
  return nd->type == ND_NEIGHBOUR_SOLICITATION && nd->code == 0;
}

// The packet's source must be one of this veth's own endpoints: a workload cannot send as another.
static __always_inline int sent_from(const struct endpoint_key *source, __u32 ifindex) {
  struct local_endpoint *own = bpf_map_lookup_elem(&local_eps, source);
  return own && own->ifindex == ifindex;
}

SEC("tc")
int from_workload(struct __sk_buff *skb) {
  __u32 ifindex = skb->ifindex;
  struct workload_if *veth = bpf_map_lookup_elem(&workload_ifs, &ifindex);
  if (!veth) return TC_ACT_SHOT;

  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = (void *)(long)skb->data;
  if ((void *)(eth + 1) > data_end) return TC_ACT_SHOT;
  struct endpoint_key source, destination;
  if (eth->h_proto == bpf_htons(ETH_P_ARP)) return answer_arp(skb, veth);
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return TC_ACT_SHOT;
    key_ipv4(&source, veth->vni, ip->saddr);
    key_ipv4(&destination, veth->vni, ip->daddr);
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end) return TC_ACT_SHOT;
    if (is_neighbour_solicitation(ip6, data_end)) return answer_ns(skb, veth);
    key_ipv6(&source, veth->vni, &ip6->saddr);
    key_ipv6(&destination, veth->vni, &ip6->daddr);
  } else {
    return TC_ACT_SHOT;
  }
  if (!sent_from(&source, ifindex)) return TC_ACT_SHOT;

  struct local_endpoint *local = bpf_map_lookup_elem(&local_eps, &destination);
  if (local) return deliver(skb, destination.vni, local);
  struct remote_endpoint *remote = bpf_map_lookup_elem(&remote_eps, &destination);
  if (!remote) return TC_ACT_SHOT;
  return encapsulate(skb, destination.vni, remote, veth);
}

SEC("tc")
int from_tunnel(struct __sk_buff *skb) {
  struct bpf_tunnel_key tunnel;
  // The key must be read with the underlay's family (EPROTO otherwise); only the VNI is used.
  if (bpf_skb_get_tunnel_key(skb, &tunnel, sizeof(tunnel), 0) &&
      bpf_skb_get_tunnel_key(skb, &tunnel, sizeof(tunnel), BPF_F_TUNINFO_IPV6))
    return TC_ACT_SHOT;

  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = (void *)(long)skb->data;
  if ((void *)(eth + 1) > data_end) return TC_ACT_SHOT;
  struct endpoint_key destination;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return TC_ACT_SHOT;
    key_ipv4(&destination, tunnel.tunnel_id, ip->daddr);
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end) return TC_ACT_SHOT;
    key_ipv6(&destination, tunnel.tunnel_id, &ip6->daddr);
  } else {
    return TC_ACT_SHOT;
  }
  struct local_endpoint *local = bpf_map_lookup_elem(&local_eps, &destination);
  if (!local) return TC_ACT_SHOT;
  return deliver(skb, destination.vni, local);
}

// The programs call no GPL-only helper; the kernel accepts this dual licence for any helper.
char LICENSE[] SEC("license") = "Dual MIT/GPL";
