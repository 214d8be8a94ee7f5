// The BPF datapath's kernel side (issue #15): the object, its pinned maps, and its tc attachments.
export { BpfDatapath, DATAPATH_OBJECT } from './datapath';
export type { AttachPoint, DatapathOptions } from './datapath';
export { BpfMap } from './bpf-map';
export type { MapEntry } from './bpf-map';
export { encodeEntries, syncEncoded, syncMap } from './map-sync';
export type { EncodedEntries, SyncOptions, SyncResult } from './map-sync';
export { BpfError } from './errors';
export { BPFFS_ROOT, DEFAULT_PIN_DIR, removePins } from './bpffs';
export { attachedProgram, detachProgram } from './tc-attachment';
export type { AttachResult, Attachment, InterfaceRef } from './tc-attachment';
export type { EndpointKey, LocalEndpoint, RemoteEndpoint, WorkloadInterface } from './map-codec';
