import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { ctl } from '../../helpers/ctl-binary';
import { closest } from '../../../ctl/suggest';
import { serverTarget } from '../../../ctl/server-target';
import { EXIT_USAGE, describeFailure } from '../../../ctl/errors';
import { VERSION } from '../../../common/version';

// What grpc-js reports when it never got a connection: these details are its own wording.
function local(details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
}

describe('ctl conventions', () => {
  it('suggests the closest command, flag or subcommand, and nothing for another word', () => {
    assert.equal(closest('stauts', ['status', 'vni', 'node']), 'status');
    assert.equal(closest('--vin', ['--vni', '--node']), '--vni');
    assert.equal(closest('del', ['create', 'delete']), 'delete');
    assert.equal(closest('frobnicate', ['status', 'vni']), undefined);
  });

  it('takes --server https://HOST:PORT as HOST:PORT and refuses other URLs clearly', () => {
    assert.equal(serverTarget('https://10.0.0.1:50051'), '10.0.0.1:50051');
    assert.equal(serverTarget('https://[::1]:50051/'), '[::1]:50051');
    assert.equal(serverTarget('10.0.0.1:50051'), '10.0.0.1:50051');
    assert.throws(() => serverTarget('http://10.0.0.1:50051'), /speaks gRPC over TLS only/);
    assert.throws(() => serverTarget('https://h:1/api'), /without a path/);
  });

  it('names a missing client certificate, a plaintext server and an unreachable one apart, without grpc-js noise', () => {
    const alert116 = describeFailure(
      local(
        'No connection established. Last error: Error: C0:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:ssl/record/rec_layer_s3.c:1605:SSL alert number 116. Resolution note: ',
      ),
      'h:1',
      5000,
    );
    assert.match(alert116.message, /requires a client certificate and ctl presented none: give --credentials/);
    const plaintext = describeFailure(
      local(
        'No connection established. Last error: Error: 80DC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ',
      ),
      'h:1',
      5000,
    );
    assert.equal(
      plaintext.message,
      'the server at h:1 did not speak TLS (wrong version number): is it a vxgossip server, and this its gRPC port? (not its metrics port)',
    );
    const refused = describeFailure(
      local('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: resolved'),
      '127.0.0.1:1',
      5000,
    );
    assert.match(
      refused.message,
      /^server unreachable at 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1 \(is it running/,
    );
    assert.doesNotMatch(refused.message + plaintext.message + alert116.message, /Resolution note/);
  });

  it('reads a server-sent NOT_FOUND as the server speaking, not as an unreachable server', () => {
    const details =
      'no agent named host9 has connected to this server: check the name (ctl node list shows the hosts it knows)';
    const notFound = describeFailure({ ...local(details), code: grpc.status.NOT_FOUND }, 'h:1', 5000);
    assert.equal(notFound.message, `not found: ${details}`);
    assert.equal(notFound.exitCode, 1);
  });

  it('prints the client version for --version and for version, and fails for an unreachable server', () => {
    for (const args of [['--version'], ['version']]) {
      const r = ctl([...args, '--server', '127.0.0.1:1', '--tls-ca', '/dev/null', '--timeout', '2s']);
      assert.equal(r.stdout, `client: ${VERSION}\n`);
      assert.equal(r.status, 1, r.stderr);
    }
  });

  it('says "did you mean" for an unknown command, subcommand and flag, without parseArgs text', () => {
    const command = ctl(['stauts']);
    assert.equal(command.status, EXIT_USAGE);
    assert.match(command.stderr, /unknown command "stauts" \(did you mean "status"\?\)/);
    const sub = ctl(['vni', 'delet', '5']);
    assert.match(sub.stderr, /unknown subcommand "vni delet" \(did you mean "delete"\?\)/);
    const flag = ctl(['vni', 'list', '--outptu', 'json']);
    assert.equal(flag.status, EXIT_USAGE);
    assert.equal(
      flag.stderr,
      `ctl vni list: unknown flag --outptu (did you mean "--output"?)\nRun 'ctl vni list --help' for usage.\n`,
    );
    const missing = ctl(['vni', 'list', '--server']);
    assert.match(missing.stderr, /--server needs a value/);
  });

  it('prints a group\'s help for "ctl help vni" and a command\'s for "ctl help vni create"', () => {
    const group = ctl(['help', 'vni']);
    assert.equal(group.status, 0);
    assert.match(group.stdout, /^Usage: ctl vni <subcommand>/);
    const command = ctl(['help', 'vni', 'create']);
    assert.match(command.stdout, /^Usage: ctl vni create <vni>/);
    assert.match(ctl(['--help']).stdout, /Exit codes:\n {2}0 {2}success/);
  });

  it('takes --timeout as a duration (or milliseconds) and refuses a --from-revision that is no number', () => {
    const bad = ctl(['status', '--timeout', '5 sec']);
    assert.equal(bad.status, EXIT_USAGE);
    assert.match(bad.stderr, /--timeout: must be a duration such as 500ms/);
    const from = ctl(['watch', 'fdb', '--from-revision', 'abc', '--tls-ca', '/dev/null']);
    assert.equal(from.status, EXIT_USAGE);
    assert.match(from.stderr, /--from-revision: must be an integer/);
    const timedOut = ctl(['status', '--server', '192.0.2.1:9', '--tls-ca', '/dev/null', '--timeout', '1s']);
    assert.equal(timedOut.status, 1);
  });
});
