import { gtinCheckDigit } from "./gs1";

/**
 * GS1 identifiers inside EPCIS events in the one form the CBV 2.0 event hash uses: the constrained
 * canonical GS1 Digital Link URI (CBV 2.0 §8.9; GS1 Digital Link URI Syntax 1.2 §4.11):
 * EPC URNs (`urn:epc:id:…`, `urn:epc:class:lgtin:…`, `urn:epc:idpat:…`) are converted, Digital
 * Links on any host are moved to https://id.gs1.org, short names (`/gtin/`) become AIs, the query
 * string and the CPV are dropped, and only the finest identification level is kept (a serial wins
 * over a lot). Values that are no GS1 identifier are returned unchanged.
 */

const SERIAL_CHAR = String.raw`(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])`;
const CPI_CHAR = String.raw`(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])`;
/** Characters allowed in a canonical value (GS1 AI encodable character set 82 less those that need escaping). */
const DL_VALUE = String.raw`[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]`;

/** Percent-encodes the characters of an EPC URI component that a Digital Link path must escape. */
function escapeEpcComponent(s: string): string {
  return s.replace(/[!()*+,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const cd = (digits: string): string => digits + gtinCheckDigit(digits);

/** company + reference split of total length `total`: "(\d{6}\.\d{n-6})|…" for company lengths 6–12. */
function split(total: number, refMin = 0): string {
  const alts: string[] = [];
  for (let c = 6; c <= 12; c++) {
    const r = total - c;
    if (r < refMin) continue;
    alts.push(String.raw`\d{${c}}\.\d{${r}}`);
  }
  return `(?:${alts.join("|")})`;
}

type Rule = [RegExp, (m: string[]) => string];
const ID = "https://id.gs1.org";

const EPC_RULES: Rule[] = [
  // EPC URIs
  [
    new RegExp(`^urn:epc:id:sgtin:(${split(13)})\\.(${SERIAL_CHAR}{1,20})$`),
    ([, cr, s]) => `${ID}/01/${gtin(cr)}/21/${escapeEpcComponent(s)}`,
  ],
  [
    new RegExp(`^urn:epc:id:sscc:(${split(17)})$`),
    ([, cr]) => {
      const [c, r] = cr.split(".");
      return `${ID}/00/${cd(r[0] + c + r.slice(1))}`;
    },
  ],
  [
    new RegExp(`^urn:epc:id:sgln:(${split(12)})\\.(${SERIAL_CHAR}{1,20})$`),
    ([, cr, ext]) => {
      const gln = cd(cr.replace(".", ""));
      return ext === "0" ? `${ID}/414/${gln}` : `${ID}/414/${gln}/254/${escapeEpcComponent(ext)}`;
    },
  ],
  [
    new RegExp(`^urn:epc:id:grai:(${split(12)})\\.(${SERIAL_CHAR}{1,16})$`),
    ([, cr, s]) => `${ID}/8003/${cd("0" + cr.replace(".", ""))}${escapeEpcComponent(s)}`,
  ],
  [
    new RegExp(`^urn:epc:id:giai:(\\d{6,12})\\.(${SERIAL_CHAR}{1,24})$`),
    ([, c, a]) => (c.length + a.length <= 30 ? `${ID}/8004/${c}${escapeEpcComponent(a)}` : ""),
  ],
  [new RegExp(`^urn:epc:id:gsrn:(${split(17)})$`), ([, cr]) => `${ID}/8018/${cd(cr.replace(".", ""))}`],
  [new RegExp(`^urn:epc:id:gsrnp:(${split(17)})$`), ([, cr]) => `${ID}/8017/${cd(cr.replace(".", ""))}`],
  [
    new RegExp(`^urn:epc:id:gdti:(${split(12)})\\.(${SERIAL_CHAR}{0,17})$`),
    ([, cr, s]) => `${ID}/253/${cd(cr.replace(".", ""))}${escapeEpcComponent(s)}`,
  ],
  [
    new RegExp(`^urn:epc:id:cpi:(\\d{6,12})\\.(${CPI_CHAR}{1,24})\\.(\\d{1,12})$`),
    ([, c, r, s]) => `${ID}/8010/${escapeEpcComponent(c + r)}/8011/${s}`,
  ],
  [
    new RegExp(`^urn:epc:id:sgcn:(${split(12)})\\.(\\d{1,12})$`),
    ([, cr, s]) => `${ID}/255/${cd(cr.replace(".", ""))}${s}`,
  ],
  [
    new RegExp(`^urn:epc:id:ginc:(\\d{6,12})\\.(${SERIAL_CHAR}{1,24})$`),
    ([, c, r]) => `${ID}/401/${c}${escapeEpcComponent(r)}`,
  ],
  [new RegExp(`^urn:epc:id:gsin:(${split(16)})$`), ([, cr]) => `${ID}/402/${cd(cr.replace(".", ""))}`],
  [
    new RegExp(`^urn:epc:id:itip:(${split(13)})\\.(\\d{2})\\.(\\d{2})\\.(${SERIAL_CHAR}{1,20})$`),
    ([, cr, p, t, s]) => `${ID}/8006/${gtin(cr)}${p}${t}/21/${escapeEpcComponent(s)}`,
  ],
  [
    new RegExp(`^urn:epc:id:upui:(${split(13)})\\.(${SERIAL_CHAR}{1,28})$`),
    ([, cr, s]) => `${ID}/01/${gtin(cr)}/235/${escapeEpcComponent(s)}`,
  ],
  [new RegExp(`^urn:epc:id:pgln:(${split(12)})$`), ([, cr]) => `${ID}/417/${cd(cr.replace(".", ""))}`],
  // EPC class URIs
  [
    new RegExp(`^urn:epc:class:lgtin:(${split(13)})\\.(${SERIAL_CHAR}{1,20})$`),
    ([, cr, l]) => `${ID}/01/${gtin(cr)}/10/${escapeEpcComponent(l)}`,
  ],
  // EPC pattern URIs (the class they name)
  [new RegExp(`^urn:epc:idpat:sgtin:(${split(13)})\\.\\*$`), ([, cr]) => `${ID}/01/${gtin(cr)}`],
  [new RegExp(`^urn:epc:idpat:grai:(${split(12)})\\.\\*$`), ([, cr]) => `${ID}/8003/${cd("0" + cr.replace(".", ""))}`],
  [new RegExp(`^urn:epc:idpat:gdti:(${split(12)})\\.\\*$`), ([, cr]) => `${ID}/253/${cd(cr.replace(".", ""))}`],
  [new RegExp(`^urn:epc:idpat:sgcn:(${split(12)})\\.\\*$`), ([, cr]) => `${ID}/255/${cd(cr.replace(".", ""))}`],
  [
    new RegExp(`^urn:epc:idpat:cpi:(\\d{6,12})\\.(${CPI_CHAR}{1,24})\\.\\*$`),
    ([, c, r]) => `${ID}/8010/${escapeEpcComponent(c + r)}`,
  ],
  [
    new RegExp(`^urn:epc:idpat:itip:(${split(13)})\\.(\\d{2})\\.(\\d{2})\\.\\*$`),
    ([, cr, p, t]) => `${ID}/8006/${gtin(cr)}${p}${t}`,
  ],
  [new RegExp(`^urn:epc:idpat:upui:(${split(13)})\\.\\*$`), ([, cr]) => `${ID}/01/${gtin(cr)}`],
];

/** GTIN-14 of an EPC "company.indicator+itemref" pair. */
function gtin(companyDotItem: string): string {
  const [company, item] = companyDotItem.split(".");
  return cd(item[0] + company + item.slice(1));
}

/** Primary keys of a constrained canonical Digital Link, and the short names GS1 once allowed for them. */
const PRIMARY = ["00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"];
const SHORT_NAMES: Record<string, string> = {
  gtin: "01",
  itip: "8006",
  cpid: "8010",
  gln: "414",
  party: "417",
  gsrnp: "8017",
  gsrn: "8018",
  gcn: "255",
  sscc: "00",
  gdti: "253",
  ginc: "401",
  gsin: "402",
  grai: "8003",
  giai: "8004",
  cpv: "22",
  lot: "10",
  ser: "21",
};
/** The canonical forms allowed in the hash (CBV 2.0 §8.9: the finest level of identification only). */
const CANONICAL: RegExp[] = [
  /^\/00\/\d{18}$/,
  new RegExp(`^/01/\\d{14}(?:/(?:21|10)/${DL_VALUE}{1,20}|/235/${DL_VALUE}{1,28})?$`),
  new RegExp(`^/253/\\d{13}${DL_VALUE}{0,17}$`),
  /^\/255\/\d{13}\d{0,12}$/,
  new RegExp(`^/401/${DL_VALUE}{1,30}$`),
  /^\/402\/\d{17}$/,
  new RegExp(`^/414/\\d{13}(?:/254/${DL_VALUE}{1,20})?$`),
  /^\/417\/\d{13}$/,
  new RegExp(`^/8003/\\d{14}${DL_VALUE}{0,16}$`),
  new RegExp(`^/8004/${DL_VALUE}{1,30}$`),
  new RegExp(`^/8006/\\d{18}(?:/(?:21|10)/${DL_VALUE}{1,20})?$`),
  /^\/8010\/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{1,30}(?:\/8011\/\d{1,12})?$/,
  /^\/8017\/\d{18}$/,
  /^\/8018\/\d{18}$/,
];

/** The constrained canonical Digital Link of a Digital Link URI on any host, or undefined. */
function canonicalDigitalLink(uri: string): string | undefined {
  const m = /^https?:\/\/[^/?#]+(\/[^?#]*)(?:\?[^#]*)?(?:#.*)?$/.exec(uri);
  if (!m) return undefined;
  const segments = m[1]
    .split("/")
    .slice(1)
    .map((s) => SHORT_NAMES[s] ?? s);
  // the primary key is the leftmost segment that names one and is followed by a value starting with 4 digits
  let start = -1;
  for (let i = 0; i + 1 < segments.length; i++) {
    if (PRIMARY.includes(segments[i]) && /^\d{4}/.test(segments[i + 1])) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const path = segments.slice(start);
  if (path.length % 2 !== 0 && !(path.length % 2 === 1 && path[path.length - 1] === "")) return undefined;
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < path.length; i += 2) pairs.push([path[i], path[i + 1]]);
  const key = pairs[0][0];
  let value = pairs[0][1];
  if (key === "01" && /^\d{8}$|^\d{12,13}$/.test(value)) value = value.padStart(14, "0");
  const qualifiers = new Map(pairs.slice(1).filter(([k]) => k !== "22"));
  let out = `/${key}/${value}`;
  if (qualifiers.has("21")) out += `/21/${qualifiers.get("21")}`;
  else if (qualifiers.has("10")) out += `/10/${qualifiers.get("10")}`;
  else if (qualifiers.has("235")) out += `/235/${qualifiers.get("235")}`;
  else if (qualifiers.has("254")) out += `/254/${qualifiers.get("254")}`;
  else if (qualifiers.has("8011")) out += `/8011/${qualifiers.get("8011")}`;
  return CANONICAL.some((re) => re.test(out)) ? ID + out : undefined;
}

/**
 * The constrained canonical GS1 Digital Link URI of a GS1 identifier written as an EPC URI, an EPC
 * class or pattern URI, or a Digital Link on any host; any other value is returned unchanged.
 *
 * @example
 * epcToDigitalLink("urn:epc:id:sgtin:0614141.107346.2017"); // "https://id.gs1.org/01/10614141073464/21/2017"
 * epcToDigitalLink("https://example.com/gtin/9520123456788/lot/A1?17=261231"); // "https://id.gs1.org/01/09520123456788/10/A1"
 */
export function epcToDigitalLink(value: string): string {
  if (value.startsWith("urn:epc:")) {
    for (const [re, build] of EPC_RULES) {
      const m = re.exec(value);
      if (m) return build(m) || value;
    }
    return value;
  }
  if (/^https?:\/\//.test(value)) return canonicalDigitalLink(value) ?? value;
  return value;
}
