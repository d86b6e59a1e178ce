import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Texts } from "../../packages/sdk/src/core/i18n";

// One i18n mechanism: every text of the reports, the certificate and the standalone verifier is a
// catalogue entry in packages/sdk/src/report/texts/, in both languages; the code that lays the
// reports out holds no prose of its own in either language.
const REPORT_DIR = path.join(__dirname, "..", "..", "packages", "sdk", "src", "report");
const TEXTS_DIR = path.join(REPORT_DIR, "texts");
const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

function catalogues(): Array<{ file: string; name: string; entries: Record<string, Texts> }> {
  return fs
    .readdirSync(TEXTS_DIR)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      Object.entries(require(path.join(TEXTS_DIR, f)) as Record<string, Record<string, Texts>>).map(
        ([name, entries]) => ({ file: f, name, entries }),
      ),
    );
}

/** The source without its comments (a doc comment may name a language). */
function code(file: string): string {
  return fs
    .readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
}

describe("report texts: one catalogue per concern, every text in both languages", function () {
  it("every report/texts module exports catalogues only, each entry with a Chinese and an English text", function () {
    const all = catalogues();
    expect(all.map((c) => c.name)).to.include.members([
      "EVIDENCE_REPORT_TEXTS",
      "CHECK_TEXTS",
      "REVERIFY_TEXTS",
      "APPENDIX_TEXTS",
      "LEGAL_TEXTS",
      "CAPTURE_REPORT_TEXTS",
      "CERTIFICATE_TEXTS",
      "STANDALONE_VERIFIER_TEXTS",
      "RENDER_TEXTS",
      "CHAIN_NAMES",
    ]);
    for (const c of all) {
      expect(Object.keys(c.entries).length, `${c.file} ${c.name}`).to.be.greaterThan(0);
      for (const [key, texts] of Object.entries(c.entries)) {
        const where = `${c.file} ${c.name}.${key}`;
        expect(Object.keys(texts).sort(), where).to.deep.equal(["en", "zh"]);
        expect(texts.zh, where).to.be.a("string").and.not.equal("");
        expect(texts.en, where).to.be.a("string").and.not.equal("");
        expect(CJK.test(texts.en), `${where}: Chinese in the English text`).to.equal(false);
      }
    }
  });

  it("a placeholder in a Chinese text is one the English text of the same entry fills too, or a value both are given", function () {
    // A translation that names a value the other language never mentions is usually a typo in a key.
    const placeholders = (s: string) => new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
    for (const c of catalogues()) {
      for (const [key, { zh, en }] of Object.entries(c.entries)) {
        const enNames = placeholders(en);
        for (const name of placeholders(zh)) {
          // the one deliberate exception: times are written in each reader's clock (timeCst / timeUtc)
          if (name === "timeCst" && enNames.has("timeUtc")) continue;
          expect(enNames.has(name), `${c.file} ${c.name}.${key}: {${name}} only in Chinese`).to.equal(true);
        }
      }
    }
  });

  it("no report source outside the catalogues writes prose inline in either language", function () {
    const sources = fs
      .readdirSync(REPORT_DIR)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".generated.ts"))
      .map((f) => path.join(REPORT_DIR, f));
    expect(sources.length).to.be.greaterThan(8);
    for (const file of sources) {
      const src = code(file);
      const name = path.basename(file);
      const line = (re: RegExp) => src.split("\n").find((l) => re.test(l));
      expect(line(CJK), `${name}: Chinese text outside a catalogue`).to.equal(undefined);
      expect(line(/\bbilingual\(/), `${name}: an inline (en, zh) pair`).to.equal(undefined);
      expect(line(/\blang\s*===\s*"(zh|en)"/), `${name}: a language switch instead of a catalogue`).to.equal(undefined);
    }
  });

  it("the portal's pages and routes switch no text or date format on the language by hand", function () {
    const portal = path.join(__dirname, "..", "..", "packages", "portal", "src");
    const files = [
      ...fs.readdirSync(portal).map((f) => path.join(portal, f)),
      ...fs.readdirSync(path.join(portal, "routes")).map((f) => path.join(portal, "routes", f)),
    ].filter((f) => f.endsWith(".ts") && !f.endsWith("i18n.ts"));
    for (const file of files) {
      const src = code(file);
      expect(CJK.test(src), `${path.basename(file)}: Chinese text outside the portal's catalogue`).to.equal(false);
      expect(/toLocale|Intl\.DateTimeFormat/.test(src), `${path.basename(file)}: a date formatter of its own`).to.equal(
        false,
      );
    }
  });
});
