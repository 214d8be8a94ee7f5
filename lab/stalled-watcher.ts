import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { operatorDir } from './credentials';

// A gRPC watch opened over bare HTTP/2 that never reads its responses, as a hung or malicious client
// would: the stream's flow-control window is all the server may send it. (A grpc-js client is no
// stand-in: until its first read it drains the connection into its own memory.)
export class StalledWatcher {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;

  // `method`: e.g. 'vxgossip.v1.EndpointService/WatchEndpoints'; `request`: the encoded request message.
  constructor(address: string, serverDataDir: string, method: string, request = Buffer.alloc(0)) {
    const read = (file: string) => fs.readFileSync(path.join(operatorDir(serverDataDir), file));
    this.session = http2.connect(`https://${address}`, {
      ca: read('ca.crt'),
      key: read('operator.key'),
      cert: read('operator.crt'),
      servername: 'localhost',
    });
    this.session.on('error', () => undefined);
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': `/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('error', () => undefined);
    this.stream.pause();
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    request.copy(frame, 5);
    this.stream.end(frame);
  }

  close(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.session.close();
  }
}
