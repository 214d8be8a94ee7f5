import { messageCodec } from '../../common/proto-codec';
import type { GossipMessage, GossipMessage__Output } from '../../generated/vxgossip/v1/GossipMessage';

// What agents say to each other in memberlist's user messages and broadcasts.
export const gossipCodec = messageCodec<GossipMessage, GossipMessage__Output>('vxgossip.v1.GossipMessage');
