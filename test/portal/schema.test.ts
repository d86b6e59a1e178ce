import { expect } from "chai";
import * as path from "node:path";
import Database from "better-sqlite3";
import { openDb } from "../../packages/portal/src";
import { tempDataDir } from "./fixture";

describe("portal index schema", function () {
  it("rebuilds a v2 index (no participants) from the chain and keeps the scan counts", function () {
    const file = path.join(tempDataDir("schema"), "index.sqlite");
    const v2 = new Database(file);
    v2.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema', '2'), ('cursor:0xabc', '41');
      CREATE TABLE events (block INTEGER, log_index INTEGER, lot INTEGER, actor TEXT);
      INSERT INTO events VALUES (40, 0, 1, '0x1');
      CREATE TABLE scans (serial TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL);
      INSERT INTO scans VALUES ('SERIAL1', 1, 2, 7);`);
    v2.close();
    const db = openDb(file);
    try {
      const one = (sql: string) => db.prepare(sql).get() as Record<string, unknown> | undefined;
      expect(one("SELECT value FROM meta WHERE key = 'schema'")).to.deep.equal({ value: "3" });
      expect(one("SELECT value FROM meta WHERE key = 'cursor:0xabc'"), "indexed again from the start").to.equal(
        undefined,
      );
      expect(one("SELECT COUNT(*) AS n FROM events")).to.deep.equal({ n: 0 });
      expect(one("SELECT count FROM scans WHERE serial = 'SERIAL1'")).to.deep.equal({ count: 7 });
      const columns = (db.prepare("PRAGMA table_info(participants)").all() as Array<{ name: string }>).map(
        (c) => c.name,
      );
      expect(columns).to.include.members(["product", "account", "block", "kind", "name", "name_en", "licence"]);
    } finally {
      db.close();
    }
  });
});
