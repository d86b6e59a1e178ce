import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";

/** The npm package that ships the CJK font (Noto Sans Hans, SIL OFL 1.1). */
export const CJK_FONT_PACKAGE = "@embedpdf/fonts-sc";

/**
 * Paths of the CJK fonts used in PDFs (regular and bold), from the installed npm package;
 * nothing is downloaded. Throws FONT_MISSING when the package is not installed.
 */
export function cjkFontPaths(): { regular: string; bold: string } {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve(CJK_FONT_PACKAGE)), "..", "fonts");
  } catch {
    throw new ProofmarkError(
      "FONT_MISSING",
      `PDF output needs the npm package ${CJK_FONT_PACKAGE} (the Chinese font); install it, or write the report as HTML instead`,
      { package: CJK_FONT_PACKAGE },
    );
  }
  const regular = path.join(dir, "NotoSansHans-Regular.otf");
  const bold = path.join(dir, "NotoSansHans-Bold.otf");
  for (const f of [regular, bold]) {
    if (!fs.existsSync(f))
      throw new ProofmarkError(
        "FONT_MISSING",
        `the font ${f} is missing from ${CJK_FONT_PACKAGE}; reinstall it (npm install)`,
        { path: f },
      );
  }
  return { regular, bold };
}
