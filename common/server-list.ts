import { ValidationError, parseHostPort, shown } from './validation';

// The server's replicas one client may be given: a few in practice; more is a pasted mistake.
export const MAX_SERVERS = 16;

// --server HOST:PORT[,HOST:PORT...]: the server's replicas, in the order a client tries them. `target`
// turns each as typed into HOST:PORT (ctl takes https://HOST:PORT too).
export function parseServerList(
  field: string,
  value: string,
  target: (address: string) => string = (address) => address,
): string[] {
  const given = value.split(',').map((a) => a.trim());
  if (given.length > MAX_SERVERS)
    throw new ValidationError(
      field,
      `${given.length} addresses; give at most ${MAX_SERVERS} (HOST:PORT,HOST:PORT,...)`,
    );
  const addresses: string[] = [];
  for (const [i, typed] of given.entries()) {
    if (typed === '')
      throw new ValidationError(field, `address ${i + 1} of ${shown(value)} is empty; give HOST:PORT,HOST:PORT,...`);
    const address = target(typed);
    parseHostPort(field, address);
    if (addresses.includes(address)) throw new ValidationError(field, `${shown(typed)} is listed twice`);
    addresses.push(address);
  }
  return addresses;
}
