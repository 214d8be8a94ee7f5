// A kind of resource ctl lists: how each printed item (its view, the -o json shape) is named for
// -o name, and the table columns read from that same view, so table, json and yaml cannot drift.
export interface Column<V> {
  header: string;
  cell: (v: V) => string | number;
  // Only with -o wide.
  wide?: boolean;
}

export interface Resource<V> {
  // -o name prints kind/name, as kubectl does: vni/42, node/h1.
  kind: string;
  name: (v: V) => string;
  columns: Array<Column<V>>;
}
