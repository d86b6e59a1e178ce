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

  private exchanged: Promise<void> = Promise.resolve();
  private failure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /**
   * Exchanges now, after any exchange in progress (one at a time). A failure is reported once (and
   * its end), never thrown: the next poll tries again.
   */
  exchangeNow(report: (message: string) => void, pollMs: number): Promise<void> {
    return (this.exchanged = this.exchanged
      .then(() => this.exchange())
      .then(
        () => {
          if (this.failure !== undefined) report("sharing codes manifests resumed");
          this.failure = undefined;
        },
        (e: Error) => {
          if (e.message !== this.failure)
            report(`sharing codes manifests failed, retried every ${pollMs} ms: ${e.message}`);
          this.failure = e.message;
        },
      ));
  }

  /** Exchanges now, then every `pollMs` until {@link stop}. */
  start(pollMs: number, report: (message: string) => void): void {
    const tick = () => {
      this.timer = undefined;
      void this.exchangeNow(report, pollMs).then(() => {
        if (this.timer === undefined && !this.stopped) this.timer = setTimeout(tick, pollMs);
      });
    };
    tick();
  }

  /** Stops polling (waits for an exchange in progress). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.exchanged;
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
