/** The release version; the build stamps the commit through S3BACKUP_COMMIT (see deno.json). */
export const VERSION = "0.1.0";
