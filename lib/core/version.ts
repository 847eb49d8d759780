/** The release version, and the commit lib/build_info.ts is stamped with at build time. */
import { COMMIT } from "./build_info.ts";

export const VERSION = "0.1.0";
export { COMMIT };
/** What `s3backup --version` prints: `s3backup 0.1.0 (commit 1a2b3c4d5e6f)`. */
export const VERSION_LINE = `s3backup ${VERSION} (commit ${COMMIT})`;
