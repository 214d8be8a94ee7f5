import { shown } from '../../common/validation';
import { BadPluginRequest, PluginRequest } from './plugin-server';

// Reading the fields of Docker's requests: each one typed and bounded before anything uses it.
const MAX_FIELD_CHARS = 256;
// Docker's network and endpoint IDs are 64 hex digits.
const DOCKER_ID = /^[0-9a-f]{64}$/;

export function optionalString(request: PluginRequest, field: string): string {
  const value = request[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadPluginRequest(`${field}: ${shown(value)} is not a string`);
  if (value.length > MAX_FIELD_CHARS) throw new BadPluginRequest(`${field}: longer than ${MAX_FIELD_CHARS} characters`);
  return value;
}

export function dockerId(request: PluginRequest, field: string): string {
  const value = optionalString(request, field);
  if (!DOCKER_ID.test(value))
    throw new BadPluginRequest(`${field}: ${shown(value)} is not a Docker ID (64 hex digits)`);
  return value;
}

function asObject(value: unknown, label: string): PluginRequest {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new BadPluginRequest(`${label}: not an object`);
  return value as PluginRequest;
}

export const objectField = (request: PluginRequest, field: string) => asObject(request[field], field);

// Options: string values only (Docker sends no others to a driver), at most 64 of them.
export function stringMap(request: PluginRequest, field: string): Record<string, string> {
  const value = objectField(request, field);
  const keys = Object.keys(value);
  if (keys.length > 64) throw new BadPluginRequest(`${field}: more than 64 options`);
  const out: Record<string, string> = {};
  for (const key of keys) if (typeof value[key] === 'string') out[key] = optionalString(value, key);
  return out;
}

export function objectList(request: PluginRequest, field: string, max: number): PluginRequest[] {
  const value = request[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > max)
    throw new BadPluginRequest(`${field}: not a list of at most ${max} objects`);
  return value.map((v, i) => asObject(v, `${field}[${i}]`));
}
