// Takes one snapshot of a data folder's local chain in the background (spawned detached by
// LocalNode.persist when the journal has grown enough since the last one): `node snapshot-worker.js DATA_DIR`.
import { LocalNode } from "./local-node";

new LocalNode(process.argv[2]).snapshot().catch(() => {
  // best effort: the journal alone is always enough to restart; a failed snapshot is retried later
});
