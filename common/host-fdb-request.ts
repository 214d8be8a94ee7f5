import { ValidationError, checkVniId } from './validation';

// One page rides the agent's stream to the server: 1000 entries are ~60 KB, far below gRPC's 4 MB.
export const HOST_FDB_PAGE_MAX = 1000;
// A token is an entry's key: VNI, kind, MAC, IP (IPv6 at most 45) and VTEP, well under this.
const PAGE_TOKEN_MAX = 256;

// The bounds of a `ctl fdb show --on` page request, checked by the server and again by the agent.
export function checkHostFdbPaging(req: { vni: number; pageSize: number; pageToken: string }): {
  vni: number;
  pageSize: number;
  pageToken: string;
} {
  const vni = req.vni === 0 ? 0 : checkVniId(req.vni, 'vni');
  if (req.pageSize > HOST_FDB_PAGE_MAX)
    throw new ValidationError('page_size', `${req.pageSize} exceeds ${HOST_FDB_PAGE_MAX}`);
  if (req.pageToken.length > PAGE_TOKEN_MAX)
    throw new ValidationError('page_token', `longer than ${PAGE_TOKEN_MAX} characters: not a token this cluster gave`);
  return { vni, pageSize: req.pageSize || HOST_FDB_PAGE_MAX, pageToken: req.pageToken };
}
