// The local chain's background work, spawned detached by LocalNode: `node snapshot-worker.js DATA_DIR`
// takes one snapshot (when the journal has grown enough since the last one); with `--history` it
// loads the older blocks into a chain restarted from a snapshot.
import { LocalNode } from "./local-node";

const node = new LocalNode(process.argv[2]);
(process.argv[3] === "--history" ? node.loadHistory() : node.snapshot()).catch(() => {
  // best effort: the journal alone is always enough to restart; a failed snapshot is retried
  // later, and a reader waiting for the history starts the loader again
});
