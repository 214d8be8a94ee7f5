import { ValidationError } from '../validation';

// A join token as `ctl token create` prints it: <id>.<secret>.<sha-256 of the cluster CA>. The id
// names the token on the server, the secret proves it, and the CA hash lets the host verify the
// server before it trusts anything the server says (kubeadm's discovery token CA cert hash).
export interface JoinToken {
  id: string;
  secret: string;
  caSha256: string;
}

const FORMAT = /^([a-z0-9]{6})\.([a-z0-9]{16,64})\.([0-9a-f]{64})$/;

export function parseJoinToken(text: string): JoinToken {
  const m = FORMAT.exec(text.trim());
  if (!m)
    throw new ValidationError('--join-token', 'expected <id>.<secret>.<ca-sha256> as `ctl token create` prints it');
  return { id: m[1], secret: m[2], caSha256: m[3] };
}

export function formatJoinToken(token: JoinToken): string {
  return `${token.id}.${token.secret}.${token.caSha256}`;
}
