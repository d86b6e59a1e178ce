import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Validates HTTP responses against an OpenAPI 3.1 file (its JSON Schema 2020-12 schemas, with
 * ajv): `check("/v1/leaves", "post", 202, body)` throws with ajv's errors when the body does not
 * match what the file documents for that status.
 */
export function openApiValidator(file: string): (route: string, method: string, status: number, body: unknown) => void {
  const YAML = require("yaml") as typeof import("yaml");
  const Ajv2020 = require("ajv/dist/2020").default;
  const addFormats = require("ajv-formats").default ?? require("ajv-formats");
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const id = `openapi:${path.basename(file)}`;
  ajv.addSchema({ ...doc, $id: id });
  const esc = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  return (route, method, status, body) => {
    let response = doc.paths?.[route]?.[method]?.responses?.[String(status)];
    if (!response) throw new Error(`${method.toUpperCase()} ${route} does not document status ${status}`);
    let pointer = `#/paths/${esc(route)}/${method}/responses/${status}`;
    if (response.$ref) {
      pointer = response.$ref;
      response = pointer
        .slice(2)
        .split("/")
        .reduce(
          (o: Record<string, unknown>, k: string) =>
            o[k.replace(/~1/g, "/").replace(/~0/g, "~")] as Record<string, unknown>,
          doc,
        );
    }
    if (!response.content?.["application/json"])
      throw new Error(`${method.toUpperCase()} ${route} ${status} documents no JSON body`);
    const validate =
      ajv.getSchema(`${id}${pointer}/content/application~1json/schema`) ??
      ajv.compile({ $ref: `${id}${pointer}/content/application~1json/schema` });
    if (!validate(body))
      throw new Error(
        `${method.toUpperCase()} ${route} ${status}: the body does not match ${path.basename(file)}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`,
      );
  };
}
