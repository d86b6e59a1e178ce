/** The Dangshan pear season of docs/gi-season.md (scripts/gi-season.js). */
export declare const DANGSHAN_PEAR: Readonly<{
  name: string;
  nameEn: string;
  giNumber: string;
  region: string;
  unit: string;
  admin: string;
}>;
export declare function productCreateArgs(opts?: { maxYield?: string }): string[];
