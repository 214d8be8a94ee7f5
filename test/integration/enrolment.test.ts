import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startServer, ServerHandle } from '../../lab/server-process';
import { removeTempDir } from '../../lab/temp-dir';
import { eventually } from '../../lab/eventually';
import { repoRoot } from '../../common/paths';
import { TrustAnchor } from '../../common/pki';
import { openSignedConfig } from '../../common/trust/signed-config';
import { enrol, renew } from '../../node-agent/trust/enrolment';
import { parseJoinToken } from '../../common/trust/join-token';
import type { StoredIdentity } from '../../node-agent/trust/identity-files';

// Enrolment over the real server on loopback (no namespaces needed): a join token buys one
// certificate for a name and VTEPs nobody holds; renewal keeps them; revocation ends them.
describe('enrolment, renewal and revocation (server on loopback)', function () {
  this.timeout(60_000);
  let server: ServerHandle;

  const ctl = (...args: string[]) =>
    execFileSync(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), ...server.ctlArgs, ...args], {
      encoding: 'utf8',
    }).trim();
  const token = (...args: string[]) => parseJoinToken(ctl('token', 'create', ...args));
  const enrolAs = (name: string, vtep: string, t = token()) =>
    enrol({ servers: [server.address], token: t, name, vteps: [vtep] });
  const identityOf = (stored: StoredIdentity) => new TrustAnchor(stored.caPem).verify(stored.certificatePem);
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return (err as grpc.ServiceError).code;
    }
    return grpc.status.OK;
  };

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.proc.stop('SIGKILL');
    if (server) removeTempDir(server.dataDir);
  });

  it('certifies the name and VTEP, and hands out the gossip keyring and the signed configuration', async () => {
    ctl('vni', 'create', '42');
    const { identity, gossipKeys, response } = await enrolAs('h1', '198.18.0.11');
    const certified = identityOf(identity);
    assert.deepEqual([certified.role, certified.name, certified.ips], ['node', 'h1', ['198.18.0.11']]);
    // The file a server on level keeps; a server on etcd keeps the keyring there (shared-pki.test).
    const file = path.join(server.dataDir, 'pki', 'gossip-keyring.json');
    if (fs.existsSync(file)) assert.deepEqual(gossipKeys, JSON.parse(fs.readFileSync(file, 'utf8')));
    else assert.ok(gossipKeys.length > 0, 'no gossip key handed out');
    const config = openSignedConfig(response.config!, new TrustAnchor(identity.caPem));
    assert.deepEqual(
      config.vnis.map((v) => v.id),
      [42],
    );
  });

  it('spends a single-use token once', async () => {
    const t = token();
    await enrolAs('h2', '198.18.0.12', t);
    assert.equal(await codeOf(enrolAs('h3', '198.18.0.13', t)), grpc.status.PERMISSION_DENIED);
  });

  it("never hands out an enrolled node's name or VTEP, unless the token names that node", async () => {
    assert.equal(await codeOf(enrolAs('h1', '198.18.0.99')), grpc.status.ALREADY_EXISTS);
    assert.equal(await codeOf(enrolAs('h9', '198.18.0.11')), grpc.status.ALREADY_EXISTS);
    assert.equal(await codeOf(enrolAs('h1', '198.18.0.11', token('--node', 'h9'))), grpc.status.PERMISSION_DENIED);
    const again = await enrolAs('h1', '198.18.0.11', token('--node', 'h1'));
    assert.equal(identityOf(again.identity).name, 'h1');
  });

  it("refuses a server whose CA is not the token's", async () => {
    const t = { ...token(), caSha256: '0'.repeat(64) };
    await assert.rejects(enrolAs('h4', '198.18.0.14', t), /does not present the CA the join token names/);
  });

  it('enrols with the first replica that answers, naming each that did not when none does', async () => {
    // Nothing listens on port 1 of loopback: refused at once.
    const down = '127.0.0.1:1';
    const { identity } = await enrol({
      servers: [down, server.address],
      token: token(),
      name: 'h20',
      vteps: ['198.18.0.20'],
    });
    assert.equal(identityOf(identity).name, 'h20');
    await assert.rejects(
      enrol({ servers: [down, '127.0.0.2:1'], token: token(), name: 'h21', vteps: ['198.18.0.21'] }),
      /127\.0\.0\.1:1: .*ECONNREFUSED.*; 127\.0\.0\.2:1: .*ECONNREFUSED/,
    );
  });

  it('renews with a new key for the same name and VTEPs', async () => {
    const { identity } = await enrolAs('h5', '198.18.0.15');
    const renewed = await renew(server.address, identity, 'h5');
    const [before, after] = [identityOf(identity), identityOf(renewed)];
    assert.deepEqual([after.name, after.ips], [before.name, before.ips]);
    assert.notEqual(after.fingerprint, before.fingerprint);
    assert.notEqual(renewed.keyPem, identity.keyPem);
  });

  it('a revoked node cannot renew; a token made for it re-enrols it with a certificate issued after', async () => {
    const { identity } = await enrolAs('h6', '198.18.0.16');
    const revoked = JSON.parse(ctl('-o', 'json', 'node', 'revoke', 'h6')) as { configRevision: number };
    assert.ok(revoked.configRevision > 0);
    assert.equal(await codeOf(renew(server.address, identity, 'h6')), grpc.status.PERMISSION_DENIED);
    const again = await enrolAs('h6', '198.18.0.16', token('--node', 'h6'));
    assert.ok(identityOf(again.identity).notBeforeMs > identityOf(identity).notBeforeMs);
    // Valid from the second after the revocation: TLS may see it as not yet valid for up to a second.
    await eventually(() => renew(server.address, again.identity, 'h6'), 5_000);
  });

  it('keeps its CA and unspent tokens across a restart', async () => {
    const t = token();
    // The CA as the operator's credential carries it, whichever store keeps the cluster's keys.
    const caFile = path.join(server.dataDir, 'operator', 'ca.crt');
    const ca = fs.readFileSync(caFile, 'utf8');
    await server.proc.stop('SIGTERM');
    server = await startServer(server.dataDir, `127.0.0.1:${server.address.split(':')[1]}`);
    assert.equal(fs.readFileSync(caFile, 'utf8'), ca);
    const { identity } = await enrolAs('h7', '198.18.0.17', t);
    assert.equal(identityOf(identity).name, 'h7');
  });
});
