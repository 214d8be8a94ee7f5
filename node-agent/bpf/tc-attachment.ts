import { bpfError } from './errors';
import { NativeObject, nativeBpf } from './native';

// Our filter's place at an interface's clsact ingress hook: one fixed handle and priority, so an agent
// finds (and replaces, or leaves alone) what an earlier run attached.
export const TC_HANDLE = 0x7678;
export const TC_PRIORITY = 1;

// An interface by name or ifindex; netns is a namespace's path (/run/netns/NAME) when it is not ours.
export interface InterfaceRef {
  interface: string | number;
  netns?: string;
}

export interface AttachResult {
  ifindex: number;
  programId: number;
  // unchanged: the same program (tag and maps) was already attached and was left alone.
  outcome: 'attached' | 'replaced' | 'unchanged';
}

export interface Attachment {
  ifindex: number;
  programId: number;
  tag: string;
}

const describe = (ref: InterfaceRef) => `${ref.interface}${ref.netns ? ` in ${ref.netns}` : ''}`;

function withContext<T>(ref: InterfaceRef, call: () => T): T {
  try {
    return call();
  } catch (err) {
    const e = bpfError(err, 'attach');
    e.message = `${describe(ref)}: ${e.message}`;
    throw e;
  }
}

export function attachProgram(ref: InterfaceRef, handle: NativeObject, program: number): AttachResult {
  return withContext(ref, () => {
    const r = nativeBpf().tcAttach(ref.interface, ref.netns ?? null, TC_HANDLE, TC_PRIORITY, handle, program);
    return { ifindex: r.ifindex, programId: r.programId, outcome: r.outcome };
  });
}

// What sits at our place on the interface, if anything.
export function attachedProgram(ref: InterfaceRef): Attachment | undefined {
  return withContext(ref, () => {
    const r = nativeBpf().tcQuery(ref.interface, ref.netns ?? null, TC_HANDLE, TC_PRIORITY);
    return r.programId ? { ifindex: r.ifindex, programId: r.programId, tag: r.tag } : undefined;
  });
}

// Removes our filter (not the clsact qdisc, which may carry others'); false if there was none.
export function detachProgram(ref: InterfaceRef): boolean {
  return withContext(
    ref,
    () => nativeBpf().tcDetach(ref.interface, ref.netns ?? null, TC_HANDLE, TC_PRIORITY).detached,
  );
}
