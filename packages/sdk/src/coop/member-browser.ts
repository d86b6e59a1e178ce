/**
 * The member page's browser side (bundled by scripts/build-verifier.js into one script the co-op
 * server serves as /member.js). The member's key is created or imported here, kept in this
 * browser's localStorage as a standard JSON keystore encrypted with the member's passphrase, and
 * never sent anywhere. Filled forms go to a queue in IndexedDB first (a certificate photo as the
 * Blob itself, surviving reloads) and are sent when the
 * network allows: the page signs the upload of the photo (EIP-712 `PhotoUpload`: its SHA-256, size,
 * product and the time, at send time) and a request to prepare the form (EIP-712 `PrepareRequest`, so that
 * nobody but the member can make the relay prepare in the member's name), the relay prepares the
 * registry call, this page checks that the call is the one the member asked for, signs it (EIP-712
 * `ForwardRequest`) and hands it back to the relay, which pays the gas.
 */
import { Wallet, decryptKeystoreJson, encryptKeystoreJson, sha256 } from "ethers";
import { escapeHtml } from "../core/html";
import { translate, type Lang } from "../core/i18n";
import { PARTICIPANT_KINDS, provenanceRegistryInterface } from "../chain/provenance-logs";
import { signForwardRequest, type ForwardRequest } from "./forward-request";
import { signPrepareRequest } from "./prepare-request";
import { photoUploadHeaders, signPhotoUpload } from "./photo-request";
import { MEMBER_STRINGS, type MemberStringKey } from "./member-strings";
import type { MemberForm } from "./steps";

const KEYSTORE = "proofmark.coop.keystore";
/** Where forms wait (IndexedDB database and object store); the localStorage key of earlier pages. */
const QUEUE_DB = "proofmark-coop";
const QUEUE_STORE = "queue";
const OLD_QUEUE = "proofmark.coop.queue";

interface MemberInfo {
  member: string;
  registry: string;
  /** The EIP-712 domain prepare requests are signed in. */
  prepareDomain: Record<string, unknown>;
  products: { id: number; name: string; nameEn: string; unit: string; roles: string[]; steps: string[] }[];
}
interface QueueItem {
  id: string;
  member: string;
  form: MemberForm;
  photo?: { name: string; blob: Blob };
  tries?: number;
  /** Not sent before this time (ms, this phone's clock): the relay asked to wait (daily photo allowance, unsent turns). */
  notBefore?: number;
}
interface ApiError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const lang: Lang = document.documentElement.dataset.lang === "en" ? "en" : "zh";
const t = (key: MemberStringKey, vars: Record<string, string | number> = {}) =>
  escapeHtml(translate(MEMBER_STRINGS, lang, key, vars));
const app = document.getElementById("app")!;
let wallet: Wallet | undefined;
let info: MemberInfo | undefined;
let flushing = false;
/** The relay's clock minus this phone's (ms), from the Date of the relay's answers: prepares are signed by the relay's clock. */
let clockOffset = 0;

function readClock(r: Response): void {
  const date = Date.parse(r.headers.get("date") ?? "");
  if (Number.isFinite(date)) clockOffset = date - Date.now();
}

let queueDb: Promise<IDBDatabase> | undefined;

function openQueue(): Promise<IDBDatabase> {
  queueDb ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(QUEUE_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(QUEUE_STORE, { keyPath: "id" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return queueDb;
}

/** One request on the queue's object store, as a promise (the transaction committed). */
async function inQueue<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const tx = (await openQueue()).transaction(QUEUE_STORE, mode);
  const request = fn(tx.objectStore(QUEUE_STORE));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The waiting forms, oldest first (ids start with the time they were filled). */
async function readQueue(): Promise<QueueItem[]> {
  const items = await inQueue("readonly", (s) => s.getAll() as IDBRequest<QueueItem[]>);
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function putQueued(item: QueueItem): Promise<void> {
  await inQueue("readwrite", (s) => s.put(item));
  await showQueue();
}

async function dropQueued(id: string): Promise<void> {
  await inQueue("readwrite", (s) => s.delete(id));
  await showQueue();
}

async function showQueue(): Promise<void> {
  const count = (await readQueue()).length;
  const status = document.getElementById("queue");
  if (!status) return;
  status.innerHTML = count > 0 ? t("queued", { count }) : "";
  status.dataset.count = String(count);
}

/** Forms an earlier version of this page kept in localStorage (photos as base64) move to IndexedDB. */
async function moveOldQueue(): Promise<void> {
  const text = localStorage.getItem(OLD_QUEUE);
  if (text === null) return;
  let old: unknown;
  try {
    old = JSON.parse(text);
  } catch {
    old = [];
  }
  for (const item of Array.isArray(old) ? (old as (QueueItem & { photo?: { name: string; base64?: string } })[]) : []) {
    const photo = item.photo as { name: string; base64?: string } | undefined;
    await inQueue("readwrite", (s) =>
      s.put({
        ...item,
        photo: photo?.base64
          ? { name: photo.name, blob: new Blob([Uint8Array.from(atob(photo.base64), (c) => c.charCodeAt(0))]) }
          : undefined,
      }),
    );
  }
  localStorage.removeItem(OLD_QUEUE);
}

/** A POST to the relay: the answer, or `{ error }` when it refused; throws when the network failed. */
async function post<T>(
  path: string,
  body: unknown,
  raw?: Record<string, string>,
): Promise<{ ok: true; value: T } | { ok: false; error: ApiError; retryAfter?: number }> {
  const r = await fetch(path, {
    method: "POST",
    headers: raw ? { ...raw, "content-type": "application/octet-stream" } : { "content-type": "application/json" },
    body: raw ? (body as BodyInit) : JSON.stringify(body),
  });
  readClock(r);
  const json = (await r.json()) as { error?: ApiError } & T;
  if (!r.ok || json.error)
    return {
      ok: false,
      error: json.error ?? { code: "TX_FAILED", message: `HTTP ${r.status}` },
      retryAfter: Number(r.headers.get("retry-after") ?? 0),
    };
  return { ok: true, value: json };
}

function render(): void {
  const stored = localStorage.getItem(KEYSTORE);
  const other = lang === "zh" ? "en" : "zh";
  let html = `<header><h1>${t("title")}</h1><a id="lang" href="?lang=${other}">${t("otherLang")}</a></header><p class="intro">${t("intro")}</p>`;
  if (!wallet) {
    html += `<section class="key"><h2>${t("keyTitle")}</h2>`;
    if (stored) {
      let address: string;
      try {
        address = `0x${String((JSON.parse(stored) as { address?: string }).address ?? "").replace(/^0x/, "")}`;
      } catch {
        address = "";
      }
      html += `<p class="address">${escapeHtml(address)}</p>
        <label>${t("passphrase")} <input id="passphrase" type="password" autocomplete="current-password"></label>
        <button id="unlock">${t("unlock")}</button>`;
    } else {
      html += `<label>${t("passphrase")} <input id="passphrase" type="password" autocomplete="new-password"></label>
        <button id="create">${t("createKey")}</button>
        <details><summary>${t("importKey")}</summary><textarea id="import-key" rows="4"></textarea>
        <button id="import">${t("importButton")}</button></details>`;
    }
    html += `<p id="key-status" role="status"></p></section>`;
  } else {
    html += `<section class="account"><h2>${t("account")}</h2><p id="address" class="address">${escapeHtml(wallet.address)}</p></section>`;
    const products = info?.products ?? [];
    if (products.length === 0) html += `<p id="no-roles">${t("noRoles")}</p>`;
    for (const p of products) {
      html += `<section class="product" data-product="${p.id}"><h2>${t("product")}: ${escapeHtml(lang === "en" ? p.nameEn || p.name : p.name)}</h2>
        <p>${t("roles")}: ${escapeHtml(p.roles.join(", "))}</p>`;
      for (const step of p.steps) html += formHtml(step, p.id);
      html += `</section>`;
    }
  }
  html += `<p id="queue" role="status"></p><section id="results"></section>`;
  app.innerHTML = html;
  void showQueue();
  bind();
}

function field(name: string, label: MemberStringKey, type = "text", extra = ""): string {
  return `<label>${t(label)} <input name="${name}" type="${type}" ${extra}></label>`;
}

function formHtml(step: string, product: number): string {
  let fields: string;
  if (step === "harvest")
    fields =
      field("quantity", "quantity", "text", 'inputmode="decimal" required') +
      field("plot", "plot", "text", "required") +
      field("date", "date", "date", "required") +
      field("photo", "photo", "file", 'accept="image/*" capture="environment"');
  else if (step === "packing")
    fields =
      field("lot", "lot", "number", 'min="1" required') +
      field("packages", "packages", "number", 'min="1" required') +
      field("size", "size", "text", "required");
  else if (step === "participant")
    fields =
      field("account", "participantAccount", "text", 'required pattern="0x[0-9a-fA-F]{40}" autocomplete="off"') +
      `<label>${t("participantKind")} <select name="kind">${PARTICIPANT_KINDS.map((k) => `<option value="${k}">${t(`kind.${k}`)}</option>`).join("")}</select></label>` +
      field("name", "participantName", "text", "required") +
      field("nameEn", "participantNameEn") +
      field("licence", "participantLicence") +
      field("region", "participantRegion");
  else
    fields =
      field("lot", "lot", "number", 'min="1" required') +
      field("location", "location") +
      (step === "inspecting" ? field("note", "note") : "") +
      field("quantity", "quantity", "text", 'inputmode="decimal"');
  return `<form data-step="${escapeHtml(step)}" data-product="${product}"><h3>${t(`step.${step}` as MemberStringKey)}</h3>${fields}<button type="submit">${t("record")}</button></form>`;
}

function bind(): void {
  const status = document.getElementById("key-status");
  const pass = () => (document.getElementById("passphrase") as HTMLInputElement).value;
  document.getElementById("create")?.addEventListener("click", async () => {
    if (!pass()) return;
    status!.textContent = translate(MEMBER_STRINGS, lang, "working");
    const w = Wallet.createRandom();
    localStorage.setItem(KEYSTORE, await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, pass()));
    await unlocked(new Wallet(w.privateKey));
  });
  document.getElementById("import")?.addEventListener("click", async () => {
    const text = (document.getElementById("import-key") as HTMLTextAreaElement).value.trim();
    if (!pass() || !text) return;
    status!.textContent = translate(MEMBER_STRINGS, lang, "working");
    try {
      const key = text.startsWith("{") ? (await decryptKeystoreJson(text, pass())).privateKey : text;
      const w = new Wallet(key);
      localStorage.setItem(
        KEYSTORE,
        await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, pass()),
      );
      await unlocked(w);
    } catch {
      status!.textContent = translate(MEMBER_STRINGS, lang, "badPassphrase");
    }
  });
  document.getElementById("unlock")?.addEventListener("click", async () => {
    status!.textContent = translate(MEMBER_STRINGS, lang, "working");
    try {
      const account = await decryptKeystoreJson(localStorage.getItem(KEYSTORE)!, pass());
      await unlocked(new Wallet(account.privateKey));
    } catch {
      status!.textContent = translate(MEMBER_STRINGS, lang, "badPassphrase");
    }
  });
  for (const form of Array.from(document.querySelectorAll("form[data-step]")) as HTMLFormElement[]) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      const text = (k: string) => String(data.get(k) ?? "").trim() || undefined;
      const step = form.dataset.step as MemberForm["step"];
      const item: QueueItem = {
        id: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
        member: wallet!.address,
        form: {
          step,
          product: Number(form.dataset.product),
          quantity: text("quantity"),
          plot: text("plot"),
          date: text("date"),
          lot: text("lot") ? Number(text("lot")) : undefined,
          packages: text("packages") ? Number(text("packages")) : undefined,
          size: text("size"),
          location: text("location"),
          note: text("note"),
          ...(step === "participant"
            ? {
                account: text("account"),
                kind: text("kind"),
                name: text("name"),
                nameEn: text("nameEn"),
                licence: text("licence"),
                region: text("region"),
              }
            : {}),
        },
      };
      const photo = data.get("photo");
      // The photo is kept as the Blob itself (IndexedDB stores Blobs), read into memory once.
      if (photo instanceof File && photo.size > 0)
        item.photo = { name: photo.name, blob: new Blob([await photo.arrayBuffer()], { type: photo.type }) };
      await putQueued(item);
      form.reset();
      void flush();
    });
  }
}

/** The member's roles and the relay's signing domain (undefined when the network fails). */
async function fetchInfo(address: string): Promise<MemberInfo | undefined> {
  try {
    const r = await fetch(`/api/coop/member/${address}`);
    readClock(r);
    return r.ok ? ((await r.json()) as MemberInfo) : undefined;
  } catch {
    return undefined;
  }
}

async function unlocked(w: Wallet): Promise<void> {
  wallet = w;
  info = await fetchInfo(w.address);
  render();
  void flush();
}

function show(html: string, cls: string, code?: string): void {
  const results = document.getElementById("results");
  if (!results) return;
  const div = document.createElement("div");
  div.className = `result ${cls}`;
  if (code) div.dataset.code = code;
  div.innerHTML = html;
  results.prepend(div);
}

/** Sends the queued forms in order while the network allows; stops (keeping the rest) when it fails. */
async function flush(): Promise<void> {
  if (flushing || !wallet) return;
  flushing = true;
  try {
    for (;;) {
      const now = Date.now();
      const queue = (await readQueue()).filter((q) => q.member === wallet!.address && (q.notBefore ?? 0) <= now);
      const item = queue[0];
      if (!item) break;
      const outcome = await sendOne(item);
      if (outcome === "offline") break;
      if (outcome === "later") continue;
      if (outcome === "retry") {
        item.tries = (item.tries ?? 0) + 1;
        await putQueued(item);
        if (item.tries < 5) continue;
      }
      await dropQueued(item.id);
    }
  } finally {
    flushing = false;
  }
}

const RETRY = new Set([
  "RELAY_REQUEST_STALE",
  "RELAY_NONCE_USED",
  "RELAY_REQUEST_UNKNOWN",
  "RELAY_REQUEST_EXPIRED",
  "RELAY_SIGNATURE_STALE",
  "RELAY_SIGNATURE_REPLAYED",
]);

/** Refusals that pass with time (the member's photo allowance for the day, its unsent turns): the form waits on the phone. */
const LATER = new Set(["RELAY_PHOTO_QUOTA", "RELAY_TURNS_UNSENT"]);

/** Waits the seconds a rate-limited answer named, then the item is tried again. */
async function waitRetry(retryAfter?: number): Promise<"retry"> {
  await new Promise((r) => setTimeout(r, Math.max(1, retryAfter ?? 1) * 1000));
  return "retry";
}

async function sendOne(item: QueueItem): Promise<"done" | "offline" | "retry" | "later"> {
  const stepName = translate(MEMBER_STRINGS, lang, `step.${item.form.step}` as MemberStringKey);
  const refused = (e: ApiError): "done" => {
    const key = `refusal.${e.code}` as MemberStringKey;
    const head = key in MEMBER_STRINGS ? t(key) : t("refusal.other");
    show(
      `<strong>${t("refused", { step: stepName })}</strong> — ${head}<p class="cli-message">${escapeHtml(e.message)}</p><code>${escapeHtml(e.code)}</code>`,
      "refusal",
      e.code,
    );
    return "done";
  };
  /** Shown once; the form stays on the phone and is sent after the wait the relay named. */
  const later = async (e: ApiError, retryAfter: number): Promise<"later"> => {
    refused(e);
    show(`<p>${t("later")}</p>`, "refusal later", e.code);
    item.notBefore = Date.now() + Math.max(1, retryAfter) * 1000;
    await putQueued(item);
    return "later";
  };
  try {
    // Offline when the page was unlocked: the relay's domain is read now.
    info ??= await fetchInfo(wallet!.address);
    if (!info) return "offline";
    if (item.photo && !item.form.certificate) {
      const bytes = new Uint8Array(await item.photo.blob.arrayBuffer());
      const upload = await signPhotoUpload(
        wallet!,
        info.prepareDomain,
        { product: item.form.product ?? 0, sha256: sha256(bytes), size: bytes.byteLength },
        Date.now() + clockOffset,
      );
      const r = await post<{ cid: string; sha256: string; name: string }>(
        `/api/coop/photo?name=${encodeURIComponent(item.photo.name)}`,
        item.photo.blob,
        photoUploadHeaders(upload),
      );
      if (!r.ok) {
        if (r.error.code === "RELAY_RATE_LIMITED") return waitRetry(r.retryAfter);
        if (LATER.has(r.error.code) && r.retryAfter) return later(r.error, r.retryAfter);
        return RETRY.has(r.error.code) ? "retry" : refused(r.error);
      }
      item.form.certificate = r.value;
      await putQueued(item);
    }
    const prepared = await post<{
      request: ForwardRequest;
      domain: Record<string, unknown>;
      summary: Record<string, string | number>;
    }>("/api/coop/prepare", await signPrepareRequest(wallet!, info.prepareDomain, item.form, Date.now() + clockOffset));
    if (!prepared.ok) {
      if (prepared.error.code === "RELAY_RATE_LIMITED") return waitRetry(prepared.retryAfter);
      if (LATER.has(prepared.error.code) && prepared.retryAfter) return later(prepared.error, prepared.retryAfter);
      return RETRY.has(prepared.error.code) ? "retry" : refused(prepared.error);
    }
    const { request, domain, summary } = prepared.value;
    if (!matchesForm(request, item.form, summary)) {
      show(`<strong>${t("refused", { step: stepName })}</strong><p>${t("mismatch")}</p>`, "refusal", "MISMATCH");
      return "done";
    }
    const signed = await signForwardRequest(wallet!, domain, request);
    const sent = await post<{ txHash: string; lot: number; quantity?: string; unit: string; cid?: string }>(
      "/api/coop/submit",
      signed,
    );
    if (!sent.ok) {
      if (sent.error.code === "RELAY_RATE_LIMITED") return waitRetry(sent.retryAfter);
      return RETRY.has(sent.error.code) ? "retry" : refused(sent.error);
    }
    const r = sent.value;
    if (item.form.step === "participant") {
      const name = lang === "en" ? item.form.nameEn || item.form.name : item.form.name;
      show(
        `<strong>${t("registered", { account: item.form.account ?? "" })}</strong> · <bdi class="participant-name">${escapeHtml(name ?? "")}</bdi>` +
          (item.form.licence ? ` · <bdi>${escapeHtml(item.form.licence)}</bdi>` : "") +
          `<p>${t("transaction")}: <code class="tx">${escapeHtml(r.txHash)}</code></p>`,
        "recorded",
      );
      return "done";
    }
    show(
      `<strong>${t("recorded", { step: stepName, lot: r.lot })}</strong>` +
        (r.quantity ? ` · ${t("recordedQuantity", { quantity: `${r.quantity} ${r.unit}` })}` : "") +
        `<p>${t("transaction")}: <code class="tx">${escapeHtml(r.txHash)}</code></p><p>${t("document")}: <code>${escapeHtml(r.cid)}</code></p>`,
      "recorded",
    );
    return "done";
  } catch {
    return "offline";
  }
}

/** The prepared call is the one the member asked for: same account, registry, function, product or lot, quantity. */
function matchesForm(request: ForwardRequest, form: MemberForm, summary: Record<string, string | number>): boolean {
  if (request.from.toLowerCase() !== wallet!.address.toLowerCase() || request.value !== "0") return false;
  if (info && request.to.toLowerCase() !== info.registry.toLowerCase()) return false;
  let call;
  try {
    call = provenanceRegistryInterface.parseTransaction({ data: request.data });
  } catch {
    return false;
  }
  if (!call) return false;
  if (form.step === "harvest")
    return (
      call.name === "harvest" &&
      Number(call.args[0]) === form.product &&
      String(call.args[2]) === String(summary.quantity)
    );
  if (form.step === "participant") {
    if (call.name !== "setParticipant") return false;
    const p = call.args[2];
    return (
      Number(call.args[0]) === form.product &&
      String(call.args[1]).toLowerCase() === (form.account ?? "").toLowerCase() &&
      PARTICIPANT_KINDS[Number(p.kind)] === form.kind &&
      p.name === (form.name ?? "") &&
      p.nameEn === (form.nameEn ?? "") &&
      p.licence === (form.licence ?? "") &&
      p.region === (form.region ?? "")
    );
  }
  if (form.step === "packing")
    return call.name === "pack" && Number(call.args[0]) === form.lot && Number(call.args[1]) === form.packages;
  return call.name === "recordEvent" && Number(call.args[0].lot) === form.lot;
}

window.addEventListener("online", () => void flush());
setInterval(() => void flush(), 2000);
void moveOldQueue()
  .catch(() => undefined)
  .then(() => render());
