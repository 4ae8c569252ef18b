/**
 * Network events: peer connections and bans, messages sent and received, broadcasts, routing, address
 * discovery, partitions and abuse detection. All are node-owned. Connection, ban, partition and attack
 * events are lossless; the high-rate traffic events are lossy.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const lossy = { category: "network", owner: "node", delivery: "lossy" } as const;
const lossless = { category: "network", owner: "node", delivery: "lossless" } as const;

/**
 * The network category.
 *
 * @example
 * ```ts
 * import { NETWORK_EVENTS } from "@blvm/node/protocol";
 * console.log(NETWORK_EVENTS.PeerConnected.delivery, NETWORK_EVENTS.MessageReceived.delivery); // lossless lossy
 * ```
 */
export const NETWORK_EVENTS = {
  PeerConnected: {
    ...lossless,
    doc: "A peer completed the version handshake. `services` and `version` are from its `version` message; " +
      "`peer_node_id` is its transport identity when the transport has one.",
    fields: {
      peer_addr: "string",
      transport_type: ["tcp", "quinn", "iroh", "mesh"],
      services: "uint",
      version: "uint",
      peer_node_id: "bytes?",
    },
  },
  PeerDisconnected: {
    ...lossless,
    doc: "A peer connection closed, for example on timeout, error, ban or request.",
    fields: { peer_addr: "string", reason: "string" },
  },
  PeerBanned: {
    ...lossless,
    doc: "A peer was banned for `ban_duration_seconds` and disconnected.",
    fields: { peer_addr: "string", reason: "string", ban_duration_seconds: "uint" },
  },
  PeerUnbanned: {
    ...lossless,
    doc: "A peer's ban was lifted, by expiry or by request.",
    fields: { peer_addr: "string" },
  },
  MessageReceived: {
    ...lossy,
    doc: "A P2P message of `message_type` (such as `block`, `tx` or `inv`) and `message_size` bytes arrived " +
      "from a peer.",
    fields: { peer_addr: "string", message_type: "string", message_size: "uint", protocol_version: "uint" },
  },
  MessageSent: {
    ...lossy,
    doc: "A P2P message of `message_type` and `message_size` bytes was sent to a peer.",
    fields: { peer_addr: "string", message_type: "string", message_size: "uint" },
  },
  CompanionUdpPeerRegistered: {
    ...lossy,
    doc: "A companion UDP address `udp_addr` was registered for the P2P peer `p2p_peer_addr`.",
    fields: { p2p_peer_addr: "string", udp_addr: "string" },
  },
  CompanionUdpPeerUnregistered: {
    ...lossy,
    doc: "The companion UDP address of the P2P peer `p2p_peer_addr` was removed.",
    fields: { p2p_peer_addr: "string" },
  },
  BroadcastStarted: {
    ...lossy,
    doc: "The node began broadcasting a `message_type` message to `target_peers` peers.",
    fields: { message_type: "string", target_peers: "uint" },
  },
  BroadcastCompleted: {
    ...lossy,
    doc: "A broadcast finished, reaching `successful` peers and failing for `failed`.",
    fields: { message_type: "string", successful: "uint", failed: "uint" },
  },
  RouteDiscovered: {
    ...lossy,
    doc: "A route to `destination` (a node id or address) was found through the peers in `route_path`.",
    fields: { destination: "bytes", route_path: "string[]", route_cost: "uint" },
  },
  RouteFailed: {
    ...lossy,
    doc: "No route to `destination` could be found.",
    fields: { destination: "bytes", reason: "string" },
  },
  ConnectionAttempt: {
    ...lossy,
    doc: "The node tried to connect to `peer_addr`; `error` says why it failed when `success` is false.",
    fields: { peer_addr: "string", success: "bool", error: "string?" },
  },
  AddressDiscovered: {
    ...lossy,
    doc: "A new peer address was learned from `source` (such as `dns`, `peer`, `manual` or `mesh`).",
    fields: { peer_addr: "string", source: "string" },
  },
  AddressExpired: {
    ...lossy,
    doc: "A peer address was dropped from the address book as stale.",
    fields: { peer_addr: "string" },
  },
  NetworkPartition: {
    ...lossless,
    doc: "The node detected a network partition cutting it off from the `partition_size` peers in " +
      "`disconnected_peers`.",
    fields: { partition_id: "bytes", disconnected_peers: "string[]", partition_size: "uint" },
  },
  NetworkReconnected: {
    ...lossless,
    doc: "A network partition healed; `reconnected_peers` are reachable again.",
    fields: { partition_id: "bytes", reconnected_peers: "string[]" },
  },
  DoSAttackDetected: {
    ...lossless,
    doc: "The peer `peer_addr` looks like it is attacking the node, by flooding, spam or resource exhaustion.",
    fields: { peer_addr: "string", attack_type: "string", severity: ["low", "medium", "high", "critical"] },
  },
  RateLimitExceeded: {
    ...lossy,
    doc: "The peer `peer_addr` went over the `limit_type` rate limit (such as messages, bytes or connections).",
    fields: { peer_addr: "string", limit_type: "string", current_rate: "number", limit: "number" },
  },
} as const satisfies Record<string, EventSpec>;
