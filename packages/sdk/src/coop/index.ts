/** `@proofmark/sdk/coop`: members record GI steps from a phone; the co-op's relay pays the gas (ERC-2771). */
export * from "./forward-request";
export * from "./prepare-request";
export * from "./photo-request";
export * from "./rate-limit";
export * from "./member-strings";
export * from "./steps";
export * from "./relay";

import { MEMBER_BUNDLE_JS } from "./member-bundle.generated";
/** The member page's script (built from coop/member-browser.ts at `npm run build`), as the co-op server serves it. */
export function memberPageScript(): string {
  return MEMBER_BUNDLE_JS;
}
