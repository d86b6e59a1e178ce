/**
 * What to type next, in the CLI's own words. The SDK's messages say what happened and what to do
 * in the SDK's terms (an RPC endpoint, a queued batch, a pinned registry); the command line, its
 * flags and commands, are the CLI's business: this table turns an error's code and details into
 * the command or flag that does it. Details fill in the values.
 */
export function hintFor(code: string | undefined, details: Record<string, unknown> = {}): string | undefined {
  const d = details;
  switch (code) {
    case "NETWORK_UNKNOWN":
      return d.chainId !== undefined
        ? `pass --rpc URL (an endpoint of chain ${d.chainId}), or add the network to config.json`
        : "pass --rpc URL, or add the network to config.json";
    case "REGISTRY_NOT_FOUND":
      return d.network !== undefined
        ? `deploy one: proofmark deploy --network ${d.network}`
        : "deploy one: proofmark deploy --rpc URL";
    case "REGISTRY_UNKNOWN":
      return d.registry !== undefined ? `if you know this registry, pin it: --trust-registry ${d.registry}` : undefined;
    case "TIMESTAMP_UNTRUSTED":
      return d.reason === "no-trust"
        ? "pass --tsa-trust FILE.pem (the TSA's root certificate) or set PROOFMARK_TSA_TRUST"
        : undefined;
    case "WACZ_CERT_UNTRUSTED":
      return "pass --cert-trust ROOT.pem (the root that issued the domain certificate) or set PROOFMARK_CERT_TRUST";
    case "RECEIPT_PENDING":
      return "complete it: proofmark upgrade <file or folder> (verify also asks the calendar, without writing)";
    case "CALENDAR_UNREACHABLE":
      return "check the calendar is running (curl <url>/v1/health), or add another: --calendar URL";
    case "POLICY_NOT_MET":
      return "each witness's verdict is listed above; to accept fewer witnesses knowingly: --policy any (or a number)";
    case "LICENCE_MISSING":
      return d.product !== undefined
        ? `the product's admin grants one: proofmark gi licence grant ${d.product} <account> --quota … --season ${d.season ?? "<year>"}`
        : undefined;
    case "PARTICIPANT_NOT_FOUND":
      return d.product !== undefined
        ? `the product's admin registers it: proofmark gi participant set ${d.product} ${String(d.account ?? "<account>")} --name … --kind farm --as <admin>`
        : undefined;
    case "PORTAL_STORE_FAILED":
      return "check the --database URL and that PostgreSQL runs (pg_isready -d URL)";
    case "FONT_MISSING":
      return "run npm install, or write HTML: --out report.html";
    case "STORE_FAILED":
      return d.url !== undefined ? "start Kubo (ipfs daemon) or check --ipfs-api" : undefined;
    case "NODE_FAILED":
      return d.hint === "node-start" ? "proofmark node start" : undefined;
    case "RPC_UNREACHABLE":
      if (d.hint === "node-status") return "proofmark node status";
      return d.queued ? "the queued files are anchored by: proofmark stamp --resume" : undefined;
    case "RELAY_UNAVAILABLE":
      return "deploy the registries with their forwarder: proofmark deploy";
    case "RELAY_CANNOT_PAY":
      return d.relayer !== undefined ? `fund the relayer account ${d.relayer}` : undefined;
    case "ROLE_MISSING":
      return d.product !== undefined && Array.isArray(d.roles)
        ? `the product's admin grants one: proofmark gi role grant ${d.product} ${(d.roles as string[]).find((n) => n !== "admin") ?? "admin"} <account>`
        : undefined;
    case "STORE_CORRUPT":
      return "proofmark store repair (rebuilds the index from the pack files; the old index is kept)";
    case "KEY_UNAVAILABLE":
      return d.as !== undefined ? "proofmark accounts lists the local chain's named accounts" : undefined;
    default:
      if (d.needsPacking) return `pack it first: proofmark gi pack ${d.lot} --packages N --size S`;
      if (d.queued) return "the queued files are anchored by: proofmark stamp --resume";
      return undefined;
  }
}
