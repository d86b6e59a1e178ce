import { createHash } from "node:crypto";
import { Contract, Interface, keccak256, type Signer, type TypedDataDomain } from "ethers";
import { ProofmarkError, isProofmarkError } from "../core/errors";
import { PRODUCT_ROLES, type ProductRole } from "../core/epcis";
import type { Hex } from "../core/hex";
import { registryArtifact } from "../chain/deployments";
import type { ChainContext } from "../chain/context";
import { minedReceipt } from "../chain/rpc";
import { ProvenanceRegistryClient, explainProvenanceRevert } from "../chain/provenance";
import { provenanceRegistryInterface } from "../chain/provenance-logs";
import { EventDocuments } from "../gi/documents";
import type { ContentStore } from "../store/types";
import {
  executeArgs,
  forwarderDomain,
  recoverForwardRequestSigner,
  type ForwardRequest,
  type SignedForwardRequest,
} from "./forward-request";
import {
  prepareDomain,
  prepareRequestDigest,
  recoverPrepareSigner,
  type SignedPrepareRequest,
} from "./prepare-request";
import { photoUploadDigest, recoverPhotoUploadSigner, type SignedPhotoUpload } from "./photo-request";
import { RollingWindow, TokenBuckets } from "./rate-limit";
import {
  checkMemberMayRecord,
  createsLot,
  memberStepRoles,
  prepareMemberStep,
  MEMBER_STEPS,
  type MemberForm,
  type PreparedStep,
} from "./steps";

/**
 * The co-op's relay: it prepares the request a member signs (the registry call and its event
 * document, exactly as the CLI would record the step) when the member asks with a signed prepare
 * request (the member's signature, fresh and not replayed, and a role allowing the step), checks a signed request (signature,
 * deadline, nonce, the member's roles, quota and mass balance — refusals worded as the CLI words
 * them), refuses what it cannot pay for, rate-limits each member, and submits the request through
 * the ERC-2771 forwarder with the co-op's own key. The member needs no ETH.
 */

/** What a member may do, per product. */
export interface MemberRoles {
  member: string;
  products: { id: number; name: string; nameEn: string; unit: string; roles: ProductRole[] }[];
}

/** A request ready for the member to sign. */
export interface RelayPrepared {
  request: ForwardRequest;
  domain: TypedDataDomain;
  /** What will be recorded, for the member to read before signing. */
  summary: Record<string, string | number>;
}

/** What the relay recorded. */
export interface RelayResult {
  txHash: Hex;
  blockNumber: number;
  member: string;
  step: string;
  product: number;
  lot: number;
  /** The event document's CID in the content store (none for a participant record). */
  cid?: string;
  quantity?: string;
  unit: string;
  gasUsed: string;
}

export interface CoopRelayOptions {
  /** Requests a member may send at once, and refilled per second (token bucket). */
  burst?: number;
  perSecond?: number;
  /**
   * How far (seconds) a prepare request's signing time may be from the relay's clock, either way
   * (default 120); the relay remembers each prepare signature that long to refuse a replay.
   */
  clockSkewSeconds?: number;
  /** Seconds a prepared request stays valid (its deadline). */
  deadlineSeconds?: number;
  /**
   * Seconds a prepared harvest or packing keeps the next lot id for its member (the event
   * document names the lot, so the signed request fixes it): other members' lot-creating requests
   * are prepared after it is submitted, or after this long if it never is (default 20).
   */
  holdSeconds?: number;
  /**
   * Bytes of certificate photos each member may add to the content store in any 24 hours (default
   * 64 MiB); a photo is at most {@link PHOTO_MAX_BYTES}.
   */
  photoBytesPerDay?: number;
  /**
   * Turns at the next lot id a member may let expire unsent (prepared, never submitted: given up
   * after `holdSeconds`, by preparing again, or by a submit the member signed but spoilt) within `unsentWindowSeconds` (default 3 in 600 s);
   * at that count the member's further harvest and packing prepares are refused
   * (RELAY_TURNS_UNSENT) until the oldest leaves the window. 0: no limit.
   */
  maxUnsentTurns?: number;
  unsentWindowSeconds?: number;
  /** Seconds a member's roles are answered from the cache (default 10). */
  rolesCacheSeconds?: number;
  /** Role lookups not in the cache one network address may ask at once (default 30; then 2 a second). */
  rolesBurst?: number;
  /** Clock (ms), for tests of the rate limit. */
  now?: () => number;
}

/** The largest certificate photo the relay keeps (bytes). */
export const PHOTO_MAX_BYTES = 8 * 1024 * 1024;

/** What the relay answers for a photo it kept. */
export interface RelayPhoto {
  cid: string;
  /** SHA-256 of the bytes, hex (no 0x), as the harvest form names the certificate. */
  sha256: string;
  name: string;
}

const FORWARDER_INTERFACE = new Interface(registryArtifact("ProvenanceForwarder").abi as never);

export class CoopRelay {
  readonly client: ProvenanceRegistryClient;
  readonly forwarder: Contract;
  readonly domain: TypedDataDomain;
  /** The EIP-712 domain members sign prepare requests in (see prepare-request.ts). */
  readonly prepareDomain: TypedDataDomain;
  private readonly buckets: TokenBuckets;
  /** Prepares are limited per member like submits, in a bucket of their own (a record is one of each). */
  private readonly prepareBuckets: TokenBuckets;
  /** Digests of the prepare requests seen, until their signing time is too old to pass anyway (ms). */
  private readonly seenPrepares = new Map<string, number>();
  private readonly skewMs: number;
  private readonly pending = new Map<string, { step: PreparedStep; expires: number }>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly nextLot: NextLotTurn;
  private readonly deadlineSeconds: number;
  private readonly now: () => number;
  /** Members' roles as lately read (the promise, so that asks at once share one read), until `until` (ms). */
  private readonly rolesCache = new Map<string, { until: number; roles: Promise<MemberRoles> }>();
  private readonly rolesCacheMs: number;
  /** Reads of roles not in the cache, per asking network address. */
  private readonly rolesBuckets: TokenBuckets;
  /** Bytes of photos each member added in the last 24 hours. */
  private readonly photoBytes = new RollingWindow(24 * 3600 * 1000);
  readonly photoBytesPerDay: number;
  /** Each member's turns at the next lot id that expired unsent. */
  private readonly unsentTurns: RollingWindow;
  private readonly maxUnsentTurns: number;

  private constructor(
    readonly chain: ChainContext,
    readonly relayer: Signer,
    readonly registry: string,
    forwarder: string,
    readonly documents: EventDocuments,
    readonly store: ContentStore,
    opts: CoopRelayOptions,
  ) {
    this.client = new ProvenanceRegistryClient(registry, chain.provider);
    this.forwarder = new Contract(forwarder, FORWARDER_INTERFACE, relayer);
    this.domain = forwarderDomain(chain.chainId, forwarder);
    this.prepareDomain = prepareDomain(chain.chainId, forwarder);
    this.buckets = new TokenBuckets(opts.burst ?? 5, opts.perSecond ?? 1);
    this.prepareBuckets = new TokenBuckets(opts.burst ?? 5, opts.perSecond ?? 1);
    this.skewMs = (opts.clockSkewSeconds ?? 120) * 1000;
    this.deadlineSeconds = opts.deadlineSeconds ?? 600;
    this.now = opts.now ?? Date.now;
    this.photoBytesPerDay = opts.photoBytesPerDay ?? 64 * 1024 * 1024;
    this.rolesCacheMs = (opts.rolesCacheSeconds ?? 10) * 1000;
    this.rolesBuckets = new TokenBuckets(opts.rolesBurst ?? 30, 2);
    this.unsentTurns = new RollingWindow((opts.unsentWindowSeconds ?? 600) * 1000);
    this.maxUnsentTurns = opts.maxUnsentTurns ?? 3;
    this.nextLot = new NextLotTurn((opts.holdSeconds ?? 20) * 1000, (member) =>
      this.unsentTurns.add(member, 1, this.now()),
    );
  }

  /**
   * Opens the relay on `chain` with its signer (the co-op's relayer key) as the payer. The
   * forwarder is the one the ProvenanceRegistry trusts (read from the registry itself).
   */
  static async open(chain: ChainContext, store: ContentStore, opts: CoopRelayOptions = {}): Promise<CoopRelay> {
    const registry = await chain.registryAddress("ProvenanceRegistry");
    const client = new ProvenanceRegistryClient(registry, chain.provider);
    let forwarder: string;
    try {
      forwarder = String(await client.contract.getFunction("trustedForwarder").staticCall());
    } catch (e) {
      throw new ProofmarkError(
        "RELAY_UNAVAILABLE",
        `the ProvenanceRegistry at ${registry} trusts no forwarder (deployed before meta-transactions): members cannot record through a relay; deploy a new registry`,
        { registry },
        { cause: e },
      );
    }
    if (/^0x0{40}$/i.test(forwarder)) {
      throw new ProofmarkError(
        "RELAY_UNAVAILABLE",
        `the ProvenanceRegistry at ${registry} was deployed without a forwarder: members cannot record through a relay; deploy one with a forwarder`,
        { registry },
      );
    }
    const documents = new EventDocuments({ dataDir: chain.dataDir, chainId: chain.chainId, registry, store });
    return new CoopRelay(chain, await chain.signer(), registry, forwarder, documents, store, opts);
  }

  /**
   * The products on which `member` holds a role, with those roles — answered from a short cache
   * (`rolesCacheSeconds`, default 10; emptied whenever this relay records something), since each
   * answer costs up to six role reads per product; an answer without any role is not kept (the
   * account is about to be granted one). `client` (the asker's network address), when
   * given, is rate-limited for answers not in the cache (RELAY_RATE_LIMITED), so that nobody can
   * make the relay read roles for address after address without end.
   */
  async memberRoles(member: string, client?: string): Promise<MemberRoles> {
    const key = member.toLowerCase();
    const now = this.now();
    const hit = this.rolesCache.get(key);
    if (hit && hit.until > now) return hit.roles;
    if (client !== undefined) {
      const wait = this.rolesBuckets.take(client, now);
      if (wait > 0)
        throw new ProofmarkError(
          "RELAY_RATE_LIMITED",
          `${client} asked for too many members' roles; try again in ${wait} s`,
          { client, retryAfter: wait },
        );
    }
    const roles = this.readMemberRoles(member);
    if (this.rolesCache.size >= 10_000)
      for (const [k, v] of this.rolesCache)
        if (v.until <= now || this.rolesCache.size >= 10_000) this.rolesCache.delete(k);
    this.rolesCache.set(key, { until: now + this.rolesCacheMs, roles });
    // An account with no role yet is not kept: it is the one an admin is granting a role to now,
    // and its page must show the role at the next reload, not up to a cache period later.
    const forget = () => {
      if (this.rolesCache.get(key)?.roles === roles) this.rolesCache.delete(key);
    };
    roles.then((r) => {
      if (r.products.length === 0) forget();
    }, forget);
    return roles;
  }

  private async readMemberRoles(member: string): Promise<MemberRoles> {
    const { products } = await this.client.counts();
    const out: MemberRoles["products"] = [];
    for (let id = 1; id <= products; id++) {
      const roles: ProductRole[] = [];
      for (const role of PRODUCT_ROLES) if (await this.client.hasRole(id, role, member)) roles.push(role);
      if (roles.length === 0) continue;
      const p = await this.client.product(id);
      out.push({ id, name: p.name, nameEn: p.nameEn, unit: p.unit, roles });
    }
    return { member, products: out };
  }

  /** The steps a member with `roles` may record (admins all). */
  static stepsFor(roles: readonly ProductRole[]): string[] {
    return MEMBER_STEPS.filter((s) => roles.includes("admin") || memberStepRoles(s).some((r) => roles.includes(r)));
  }

  /**
   * Builds the request the member signs for the form of a signed prepare request: the registry
   * call (checked now, as the member, through the forwarder — a refusal comes back with the CLI's
   * code and wording), its gas, the member's next nonce and a deadline. Nothing is prepared, and no
   * turn taken, unless the prepare request is signed by the member it names, signed within the
   * allowed clock skew, not seen before, within the member's rate limit, and the member holds a
   * role allowing the step. A harvest or packing then waits for its turn at the next lot id (see
   * {@link NextLotTurn}), so that members recording at once all land.
   */
  async prepare(signed: SignedPrepareRequest): Promise<RelayPrepared> {
    const from = this.checkPrepareRequest(signed);
    const form = signed.form;
    await checkMemberMayRecord(this.client, from, form);
    if (!createsLot(form?.step)) return this.prepareNow(from, form);
    this.checkUnsentTurns(from);
    await this.nextLot.take(from);
    try {
      const prepared = await this.prepareNow(from, form);
      this.nextLot.heldFor(from, pendingKey(from, prepared.request.data));
      return prepared;
    } catch (e) {
      this.nextLot.release(from);
      throw e;
    }
  }

  /**
   * The member a prepare request comes from, once its signature, time and novelty are checked (and
   * the member's prepare bucket has a token): RELAY_SIGNATURE_MISSING, RELAY_SIGNATURE_INVALID,
   * RELAY_SIGNATURE_STALE, RELAY_SIGNATURE_REPLAYED, RELAY_RATE_LIMITED otherwise.
   */
  private checkPrepareRequest(signed: SignedPrepareRequest): string {
    const from = checkAddress(signed?.member, "member");
    return this.checkSigned("prepare request", from, signed.signedAt, signed.signature, {
      recover: () => recoverPrepareSigner(this.prepareDomain, signed),
      digest: () => prepareRequestDigest(this.prepareDomain, signed),
    });
  }

  /**
   * The checks every request a member signs for the relay passes, cheapest first: signed, signed
   * now (within the clock skew), by `from`, not seen before, within `from`'s prepare bucket.
   */
  private checkSigned(
    what: "prepare request" | "photo upload",
    from: string,
    signedAt: unknown,
    signature: unknown,
    by: { recover(): string; digest(): string },
  ): string {
    if (typeof signature !== "string" || !/^0x[0-9a-fA-F]+$/.test(signature))
      throw new ProofmarkError(
        "RELAY_SIGNATURE_MISSING",
        `the ${what} for ${from} is not signed: the member signs it with the key on the phone (reload the member page)`,
        { member: from },
      );
    if (!Number.isSafeInteger(signedAt) || (signedAt as number) < 0)
      throw new ProofmarkError(
        "RELAY_SIGNATURE_MISSING",
        `the ${what} for ${from} carries no signing time (signedAt, milliseconds since 1970)`,
        { member: from, field: "signedAt" },
      );
    const at = signedAt as number;
    // The time first: a stale request costs no signature recovery.
    const now = this.now();
    const off = Math.round((at - now) / 1000);
    if (Math.abs(at - now) > this.skewMs)
      throw new ProofmarkError(
        "RELAY_SIGNATURE_STALE",
        `the ${what} was signed at ${new Date(at).toISOString()}, ${Math.abs(off)} s ${off < 0 ? "before" : "after"} the relay's clock (at most ${this.skewMs / 1000} s apart); sign it again`,
        { member: from, signedAt: at, now },
      );
    let signer: string;
    try {
      signer = by.recover();
    } catch (e) {
      throw new ProofmarkError(
        "RELAY_SIGNATURE_INVALID",
        `the ${what}'s signature is malformed`,
        { member: from },
        { cause: e },
      );
    }
    if (signer.toLowerCase() !== from.toLowerCase())
      throw new ProofmarkError(
        "RELAY_SIGNATURE_INVALID",
        what === "prepare request"
          ? `the prepare request was not signed by ${from} (the signature is ${signer}'s, or the form was changed after signing)`
          : `the photo upload was not signed by ${from} (the signature is ${signer}'s, or the photo's hash, size or product was changed after signing)`,
        { member: from, signer },
      );
    const digest = by.digest();
    if (this.seenPrepares.size > 10_000)
      for (const [k, until] of this.seenPrepares) if (until < now) this.seenPrepares.delete(k);
    if ((this.seenPrepares.get(digest) ?? -1) >= now)
      throw new ProofmarkError(
        "RELAY_SIGNATURE_REPLAYED",
        `this ${what} of ${from} was already received (a replay); sign a new one`,
        { member: from, signedAt: at },
      );
    this.seenPrepares.set(digest, at + this.skewMs);
    const wait = this.prepareBuckets.take(from.toLowerCase(), now);
    if (wait > 0)
      throw new ProofmarkError("RELAY_RATE_LIMITED", `${from} sent too many requests; try again in ${wait} s`, {
        member: from,
        retryAfter: wait,
      });
    return from;
  }

  /** Refuses (RELAY_TURNS_UNSENT) a member who let too many turns at the next lot id expire unsent. */
  private checkUnsentTurns(from: string): void {
    if (this.maxUnsentTurns === 0) return; // no limit
    const now = this.now();
    const key = from.toLowerCase();
    const wait = this.unsentTurns.wait(key, 1, this.maxUnsentTurns, now);
    if (wait === 0) return;
    const minutes = Math.round(this.unsentTurns.windowMs / 60_000);
    throw new ProofmarkError(
      "RELAY_TURNS_UNSENT",
      `${from} prepared ${this.unsentTurns.total(key, now)} harvests or packings in the last ${minutes} min and never sent them, each keeping the other members waiting for the next lot id; its harvests and packings are refused for ${wait} s (if this member did not do that, its key may be in someone else's hands: the product's admin can revoke its role)`,
      { member: from, unsent: this.unsentTurns.total(key, now), retryAfter: wait },
    );
  }

  /**
   * Keeps a harvest's certificate photo in the content store, for the member whose signed upload
   * (see photo-request.ts) `upload` is, read from the request's headers: the same checks as a
   * prepare request (signed by the member, now, not replayed, within the rate limit), a role that
   * may record a harvest of the product, at most {@link PHOTO_MAX_BYTES} and within the member's
   * daily allowance — all before `read` is called to read the body — and then the bytes must be
   * the ones signed (hash and size). Nothing is added to the store on any refusal.
   */
  async addPhoto(
    upload: Partial<SignedPhotoUpload>,
    name: string,
    read: (limit: number) => Promise<Uint8Array>,
  ): Promise<RelayPhoto> {
    if (upload?.member === undefined && upload?.signature === undefined)
      throw new ProofmarkError(
        "RELAY_SIGNATURE_MISSING",
        "the photo upload is not signed: the member page signs it with the key on the phone (reload the member page)",
        {},
      );
    const from = checkAddress(upload.member, "member");
    if (typeof upload.sha256 !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(upload.sha256))
      throw new ProofmarkError("INVALID_ARGUMENT", "the photo upload names no SHA-256 (0x + 64 hex digits)", {
        field: "sha256",
      });
    if (!Number.isSafeInteger(upload.size) || (upload.size as number) < 1)
      throw new ProofmarkError("INVALID_ARGUMENT", "the photo upload names no size (bytes)", { field: "size" });
    if (!Number.isSafeInteger(upload.product) || (upload.product as number) < 1)
      throw new ProofmarkError("INVALID_ARGUMENT", "the photo upload names no product", { field: "product" });
    const u = upload as SignedPhotoUpload;
    this.checkSigned("photo upload", from, u.signedAt, u.signature, {
      recover: () => recoverPhotoUploadSigner(this.prepareDomain, u),
      digest: () => photoUploadDigest(this.prepareDomain, u),
    });
    await checkMemberMayRecord(this.client, from, { step: "harvest", product: u.product });
    if (u.size > PHOTO_MAX_BYTES)
      throw new ProofmarkError(
        "INPUT_TOO_LARGE",
        `the photo is ${u.size} bytes, more than the ${PHOTO_MAX_BYTES} bytes the relay keeps; take a smaller one`,
        { size: u.size, limit: PHOTO_MAX_BYTES },
      );
    const key = from.toLowerCase();
    const now = this.now();
    const wait = this.photoBytes.wait(key, u.size, this.photoBytesPerDay, now);
    if (wait > 0) {
      const used = this.photoBytes.total(key, now);
      throw new ProofmarkError(
        "RELAY_PHOTO_QUOTA",
        `${from} added ${used} bytes of photos in the last 24 hours; this ${u.size}-byte photo would pass the ${this.photoBytesPerDay} bytes a member may add a day; ` +
          (Number.isFinite(wait) ? `try again in ${wait} s` : "it never fits: take a smaller one"),
        {
          member: from,
          used,
          size: u.size,
          allowance: this.photoBytesPerDay,
          ...(Number.isFinite(wait) ? { retryAfter: wait } : {}),
        },
      );
    }
    // Reserved now, so that uploads at once cannot pass the allowance together; given back on failure.
    this.photoBytes.add(key, u.size, now);
    try {
      const bytes = await read(u.size);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (bytes.length !== u.size || `0x${sha256}` !== u.sha256.toLowerCase())
        throw new ProofmarkError(
          "RELAY_SIGNATURE_INVALID",
          `the photo's bytes are not the ones ${from} signed for (${bytes.length} bytes with SHA-256 ${sha256}, signed: ${u.size} bytes with ${u.sha256.slice(2)}); nothing was kept`,
          { member: from, size: bytes.length, sha256 },
        );
      const { cid } = await this.store.add(bytes, { name });
      return { cid, sha256, name };
    } catch (e) {
      this.photoBytes.add(key, -u.size, this.now());
      throw e;
    }
  }

  private async prepareNow(from: string, form: MemberForm): Promise<RelayPrepared> {
    const step = await prepareMemberStep(this.client, from, form);
    const gas = await this.simulate(from, step);
    const nonce = (await this.forwarder.getFunction("nonces").staticCall(from)) as bigint;
    const deadline = Math.floor(this.now() / 1000) + this.deadlineSeconds;
    const request: ForwardRequest = {
      from,
      to: this.registry,
      value: "0",
      gas: String(gas),
      nonce: String(nonce),
      deadline,
      data: step.calldata,
    };
    this.remember(from, step, deadline);
    return {
      request,
      domain: this.domain,
      summary: {
        step: step.step,
        product: step.product.id,
        productName: step.product.name,
        ...(step.lot !== undefined ? { lot: step.lot } : {}),
        ...(step.newLot !== undefined ? { newLot: step.newLot } : {}),
        ...(step.quantity !== undefined ? { quantity: step.quantity.toString() } : {}),
        unit: step.product.unit,
        ...(step.prepared ? { document: step.prepared.record.document } : {}),
      },
    };
  }

  /**
   * Checks and submits a signed request (one at a time, so that the lot ids the event documents
   * name are the ones the registry gives). Throws a ProofmarkError with the CLI's code and wording
   * on any refusal; nothing is sent then.
   */
  async submit(signed: SignedForwardRequest): Promise<RelayResult> {
    const from = checkAddress(signed?.from);
    const signedByMember = { yes: false };
    try {
      const wait = this.buckets.take(from.toLowerCase(), this.now());
      if (wait > 0) {
        throw new ProofmarkError("RELAY_RATE_LIMITED", `${from} sent too many requests; try again in ${wait} s`, {
          member: from,
          retryAfter: wait,
        });
      }
      const run = this.queue.then(() => this.submitNow(from, signed, signedByMember));
      this.queue = run.catch(() => undefined);
      return await run;
    } catch (e) {
      // A refused submit of the request that holds the turn gives it up unsent, like letting it
      // expire — unless the relay, not the member, failed (so that a member cannot keep taking the
      // turn for almost `holdSeconds` and hand it back with a request it spoilt on purpose).
      if (signedByMember.yes && !RELAY_SIDE_FAILURES.has((e as ProofmarkError)?.code))
        this.nextLot.release(from, pendingKey(from, signed.data), { unsent: true });
      throw e;
    } finally {
      // Recorded or refused: the next member's harvest or packing may take the next lot id. Only a
      // request the member signed gives the turn back: anyone else's would end it early for nothing.
      if (signedByMember.yes) this.nextLot.release(from, pendingKey(from, signed.data));
    }
  }

  private async submitNow(
    from: string,
    signed: SignedForwardRequest,
    signedByMember: { yes: boolean },
  ): Promise<RelayResult> {
    if (
      typeof signed.to !== "string" ||
      signed.to.toLowerCase() !== this.registry.toLowerCase() ||
      signed.value !== "0"
    )
      throw new ProofmarkError("RELAY_REQUEST_INVALID", "the request is not a call of this co-op's registry", {
        to: signed.to,
      });
    let signer: string;
    try {
      signer = recoverForwardRequestSigner(this.domain, signed);
    } catch (e) {
      throw new ProofmarkError(
        "RELAY_SIGNATURE_INVALID",
        `the request's signature is malformed`,
        { member: from },
        { cause: e },
      );
    }
    if (signer.toLowerCase() !== from.toLowerCase())
      throw new ProofmarkError(
        "RELAY_SIGNATURE_INVALID",
        `the request was not signed by ${from} (the signature is ${signer}'s, or the request was changed after signing)`,
        { member: from, signer },
      );
    signedByMember.yes = true;
    const block = await this.chain.provider.getBlock("latest");
    if (!Number.isSafeInteger(signed.deadline) || signed.deadline < (block?.timestamp ?? 0))
      throw new ProofmarkError(
        "RELAY_REQUEST_EXPIRED",
        `the request expired at ${new Date(signed.deadline * 1000).toISOString()}; prepare it again`,
        {
          deadline: signed.deadline,
        },
      );
    const nonce = (await this.forwarder.getFunction("nonces").staticCall(from)) as bigint;
    if (String(nonce) !== signed.nonce)
      throw new ProofmarkError(
        "RELAY_NONCE_USED",
        `the request's nonce ${signed.nonce} is not ${from}'s next one (${nonce}): it was already sent, or another was sent first; prepare it again`,
        { member: from, nonce: signed.nonce, expected: String(nonce) },
      );
    const key = pendingKey(from, signed.data);
    const entry = this.pending.get(key);
    if (!entry)
      throw new ProofmarkError(
        "RELAY_REQUEST_UNKNOWN",
        "this relay did not prepare that request (or it expired): prepare it again",
        { member: from },
      );
    const step = entry.step;
    // The lots the event document names must still be the ones the registry will give.
    if (step.newLot !== undefined && (await this.client.counts()).lots + 1 !== step.newLot)
      throw new ProofmarkError(
        "RELAY_REQUEST_STALE",
        "another lot was recorded since this request was prepared; prepare it again",
        {
          member: from,
          lot: step.newLot,
        },
      );
    const gas = await this.simulate(from, step);
    if (gas > BigInt(signed.gas))
      throw new ProofmarkError(
        "RELAY_REQUEST_STALE",
        `the call now needs ${gas} gas, more than the ${signed.gas} signed for; prepare it again`,
        {
          member: from,
        },
      );
    // Can the co-op pay for it?
    const execute = this.forwarder.getFunction("execute");
    let gasLimit: bigint;
    try {
      gasLimit = ((await execute.estimateGas(...executeArgs(signed))) * 12n) / 10n;
    } catch (e) {
      throw forwarderRefusal(e, from);
    }
    const fees = await this.chain.provider.getFeeData();
    const price = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
    const relayer = await this.relayer.getAddress();
    const balance = await this.chain.provider.getBalance(relayer);
    if (gasLimit * price > balance)
      throw new ProofmarkError(
        "RELAY_CANNOT_PAY",
        `the co-op's relayer ${relayer} holds ${balance} wei, less than the ${gasLimit * price} wei this request may cost; nothing was sent`,
        { relayer, balance: String(balance), cost: String(gasLimit * price) },
      );
    const [cid] = step.prepared ? await this.documents.save([step.prepared]) : [undefined];
    let receipt;
    try {
      const tx = await execute.send(...executeArgs(signed), { gasLimit });
      receipt = await minedReceipt(tx);
    } catch (e) {
      throw forwarderRefusal(e, from);
    }
    if (!receipt || receipt.status !== 1)
      throw new ProofmarkError("TX_FAILED", `${step.what}: transaction ${receipt?.hash} failed`, {
        txHash: receipt?.hash,
      });
    this.pending.delete(key);
    this.rolesCache.clear(); // a participant or role recorded through the relay shows at once
    await this.chain.persist();
    let lot = step.lot ?? 0;
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.registry.toLowerCase()) continue;
      const parsed = provenanceRegistryInterface.parseLog(log);
      if (parsed?.name === "LotHarvested" || parsed?.name === "LotDerived") lot = Number(parsed.args.lot);
    }
    return {
      txHash: receipt.hash as Hex,
      blockNumber: receipt.blockNumber,
      member: from,
      step: step.step,
      product: step.product.id,
      lot,
      cid,
      quantity: step.quantity?.toString(),
      unit: step.product.unit,
      gasUsed: String(receipt.gasUsed),
    };
  }

  /** Runs the call as the forwarder would (the member appended to the calldata): its gas, or the CLI's refusal. */
  private async simulate(from: string, step: PreparedStep): Promise<bigint> {
    const tx = {
      from: await this.forwarder.getAddress(),
      to: this.registry,
      data: step.calldata + from.slice(2).toLowerCase(),
    };
    try {
      await this.chain.provider.call(tx);
      return ((await this.chain.provider.estimateGas(tx)) * 13n) / 10n + 10_000n;
    } catch (e) {
      throw await explainProvenanceRevert(e, step.what, step.ctx, this.client);
    }
  }

  private remember(from: string, step: PreparedStep, deadline: number): void {
    const nowS = this.now() / 1000;
    if (this.pending.size > 10_000) for (const [k, v] of this.pending) if (v.expires < nowS) this.pending.delete(k);
    this.pending.set(pendingKey(from, step.calldata), { step, expires: deadline });
  }
}

/**
 * The turn at the next lot id. A harvest's or packing's event document names the lot the registry
 * will give it, and the member signs that document's hash, so two such requests prepared at once
 * would name the same lot and the later one could never land. The relay therefore prepares one
 * lot-creating request at a time: the member whose request holds the turn keeps it until the
 * request is submitted (recorded or refused) or `holdMs` passes; the others' prepares wait, in
 * order, and then name the lot after it. A member preparing again while holding the turn keeps it.
 */
class NextLotTurn {
  private held?: { member: string; key?: string; timer: ReturnType<typeof setTimeout> };
  private readonly waiting: (() => void)[] = [];

  /** `unsent(member)` is told of each turn that ended without its request being submitted. */
  constructor(
    private readonly holdMs: number,
    private readonly unsent: (member: string) => void,
  ) {}

  async take(member: string): Promise<void> {
    const who = member.toLowerCase();
    while (this.held && this.held.member !== who) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.held) {
      clearTimeout(this.held.timer);
      // Preparing again while a prepared request holds the turn gives that request up unsent.
      if (this.held.key !== undefined) this.unsent(who);
    }
    const timer = setTimeout(() => {
      this.unsent(who);
      this.release(who);
    }, this.holdMs);
    timer.unref?.();
    this.held = { member: who, timer };
  }

  /** The prepared request (its pending key) that holds the turn. */
  heldFor(member: string, key: string): void {
    if (this.held?.member === member.toLowerCase()) this.held.key = key;
  }

  /** Gives the turn up, if `member` (and, when given, the request `key`) holds it; `unsent`: without its request recorded. */
  release(member: string, key?: string, opts: { unsent?: boolean } = {}): void {
    const held = this.held;
    if (!held || held.member !== member.toLowerCase() || (key !== undefined && held.key !== key)) return;
    if (opts.unsent) this.unsent(held.member);
    clearTimeout(held.timer);
    this.held = undefined;
    this.waiting.shift()?.();
  }
}

/** Refusals of a submit that are the relay's doing, not the member's: they do not count as a turn held unsent. */
const RELAY_SIDE_FAILURES = new Set<string | undefined>(["RELAY_CANNOT_PAY", "RELAY_UNAVAILABLE", "TX_FAILED"]);

function pendingKey(from: string, data: string): string {
  return `${from.toLowerCase()}:${keccak256(typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data) ? data : "0x")}`;
}

function checkAddress(value: unknown, field = "from"): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value))
    throw new ProofmarkError("INVALID_ARGUMENT", `not an account address: ${String(value).slice(0, 60)}`, {
      field,
    });
  return value;
}

/** A forwarder revert (expired, bad signature, replay) as a coded refusal. */
function forwarderRefusal(e: unknown, member: string): ProofmarkError {
  if (isProofmarkError(e)) return e;
  const data =
    (e as { data?: string; info?: { error?: { data?: string } } })?.data ??
    (e as { info?: { error?: { data?: string } } })?.info?.error?.data;
  let name: string | undefined;
  try {
    name = typeof data === "string" ? FORWARDER_INTERFACE.parseError(data)?.name : undefined;
  } catch {
    name = undefined;
  }
  if (name === "ERC2771ForwarderExpiredRequest")
    return new ProofmarkError(
      "RELAY_REQUEST_EXPIRED",
      "the request expired; prepare it again",
      { member },
      { cause: e },
    );
  if (name === "ERC2771ForwarderInvalidSigner")
    return new ProofmarkError(
      "RELAY_SIGNATURE_INVALID",
      `the forwarder refused the request: not signed by ${member}, changed after signing, or already sent`,
      { member },
      { cause: e },
    );
  return new ProofmarkError(
    "TX_FAILED",
    `the relayed request failed: ${name ?? (e as Error)?.message?.split("\n")[0]}`,
    { member },
    { cause: e },
  );
}
