// Limits on arguments, shared by the engine and build.rs (which writes them into the C
// header as QV_MAX_* macros). Included with `include!`; it holds only data.

/// Longest identifier (label, edge type, property key, savepoint name), in bytes.
pub const MAX_IDENT_LEN: usize = 1024;
/// Largest string or bytes value, in bytes.
pub const MAX_VALUE_LEN: usize = 16 << 20;
/// Largest encoded property set of one node or edge, in bytes.
pub const MAX_PROPS_LEN: usize = 64 << 20;
/// Edges a node can have, both directions together (a self-loop counts twice), before an
/// insert may be refused: its adjacency blob must stay under 4 GiB (12 bytes an edge, 8 a
/// type and direction).
pub const MAX_NODE_EDGES: usize = 200_000_000;
