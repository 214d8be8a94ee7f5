import type { LabHost } from '../../lab/network';

// An HTTP GET from inside a lab host's namespace (daemons serve metrics on its loopback): the status
// and the body.
export function httpGetIn(host: LabHost, port: number, path: string): { status: number; body: string } {
  const out = host.exec(process.execPath, [
    '-e',
    `fetch('http://127.0.0.1:${port}${path}').then(async (r) => process.stdout.write(r.status + '\\n' + (await r.text())))`,
  ]);
  const newline = out.indexOf('\n');
  return { status: Number(out.slice(0, newline)), body: out.slice(newline + 1) };
}
