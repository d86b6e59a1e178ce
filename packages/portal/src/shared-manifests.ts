import * as sdk from "@proofmark/sdk";
import type { PostgresIndexLog } from "./index-log";
import { manifestFiles, type ManifestSource } from "./queries";

/**
 * Codes manifests shared by the portal instances of one PostgreSQL index: each instance shares the
 * manifests of its own data folder's `codes/` (for this chain and registry) and receives every
 * manifest another instance shared, so a code printed at one office scans on every instance.
 * What arrives is loaded like a file of the folder: only when its recomputed serial-set root equals
 * a `CodesIssued` commitment on chain ({@link importManifests}).
 */
export class SharedManifests {
  /** Version (mtime) of each file of the folder when it was last looked at. */
  private readonly seen = new Map<string, number>();
  private lastId = 0;
  private received: ManifestSource[] = [];

  constructor(
    private readonly log: PostgresIndexLog,
    private readonly dir: string,
    private readonly chainId: number,
    private readonly registry: string,
  ) {}

  /** Shares the folder's new or changed manifests, then fetches what was shared since the last call. */
  async exchange(): Promise<void> {
    for (const file of manifestFiles(this.dir)) {
      if (this.seen.get(file.name) === file.version) continue;
      let text: string;
      try {
        text = file.read();
        const m = sdk.parseCodesManifest(text);
        if (m.chainId !== this.chainId || m.registry !== this.registry.toLowerCase()) text = "";
      } catch {
        text = ""; // an invalid file is reported by the folder's own import, not shared
      }
      if (text) await this.log.shareManifest(text);
      this.seen.set(file.name, file.version);
    }
    for (;;) {
      const { id, manifests } = await this.log.manifestsAfter(this.lastId);
      if (manifests.length === 0) return;
      for (const m of manifests) this.received.push({ name: `shared:${m.sha256}`, version: 0, read: () => m.body });
      this.lastId = id;
    }
  }

  /** The shared manifests not yet settled (accepted or refused) by this instance's index. */
  get sources(): readonly ManifestSource[] {
    return this.received;
  }

  /** Lets go of the manifests `settled` says this instance's index is done with (their text is no longer kept). */
  forget(settled: (name: string) => boolean): void {
    this.received = this.received.filter((m) => !settled(m.name));
  }
}
