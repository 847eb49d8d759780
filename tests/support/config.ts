/** The one way tests write an s3backup.toml. */

export interface TestConfig {
  source: string;
  stateDir: string;
  endpoint: string;
  topicArn?: string;
  buckets?: { documents: string; photos: string; database: string };
  /** Files uploaded at once (default 4). */
  concurrency?: number;
  /** Top-level lines (before [aws]); a table may follow them. */
  extra?: string;
}

/** The s3backup.toml of a test: three categories, a local endpoint, no topic unless given. */
export function configText(c: TestConfig): string {
  const b = c.buckets ?? { documents: "t-documents", photos: "t-photos", database: "t-database" };
  return `source = ${JSON.stringify(c.source)}
state_dir = ${JSON.stringify(c.stateDir)}
exclude = ["**/.git/**", "**/*.tmp"]
unmatched = "documents"
concurrency = ${c.concurrency ?? 4}
${c.extra ?? ""}

[aws]
region = "us-east-1"
endpoint = ${JSON.stringify(c.endpoint)}
${c.topicArn ? `sns_topic_arn = ${JSON.stringify(c.topicArn)}` : ""}

[categories.documents]
bucket = "${b.documents}"
extensions = [".pdf", ".txt", ".docx", ".xlsx", ".csv"]

[categories.photos]
bucket = "${b.photos}"
extensions = [".jpg", ".jpeg", ".png", ".heic"]

[categories.database]
bucket = "${b.database}"
extensions = [".sql", ".sql.gz", ".dump", ".db", ".bak"]
`;
}

/** Writes configText(c) as dir/s3backup.toml and returns its path. */
export function writeConfig(dir: string, c: TestConfig): string {
  const path = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(path, configText(c));
  return path;
}
