import * as protobuf from 'protobufjs';
import { loaderOptions, protoFiles, protoPath } from './proto';

let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : protoPath(target));
    root.loadSync(protoFiles, { keepCase: false });
  }
  return root;
}

// Binary protobuf encoding of one message type, decoding to the same object shape as gRPC's
// proto-loader (so the generated __Output types apply). Decoding throws on malformed input.
export function messageCodec<In extends object, Out>(typeName: string) {
  const type = loadRoot().lookupType(typeName);
  const options: protobuf.IConversionOptions = {
    longs: String,
    enums: String,
    defaults: loaderOptions.defaults,
    oneofs: loaderOptions.oneofs,
    arrays: true,
  };
  return {
    encode(message: In): Buffer {
      return Buffer.from(type.encode(type.fromObject(message)).finish());
    },
    decode(bytes: Uint8Array): Out {
      return type.toObject(type.decode(bytes), options) as Out;
    },
  };
}
