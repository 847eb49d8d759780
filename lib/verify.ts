/** `s3backup verify`: what is stored per category, in the `aws s3 ls` format. */
import type { Config } from "./config.ts";
import type { ObjectStore } from "./ports.ts";
import type { RemoteObject } from "./types.ts";
import { UsageError } from "./errors.ts";
import { manifestKey } from "./manifest.ts";

export interface CategoryListing {
  category: string;
  bucket: string;
  objects: RemoteObject[];
}

export function selectCategories(config: Config, only?: string) {
  if (only === undefined) return config.categories;
  const found = config.categories.filter((c) => c.name === only);
  if (found.length === 0) {
    throw new UsageError(
      `--category ${only}: no such category (have: ${
        config.categories.map((c) => c.name).join(", ")
      })`,
    );
  }
  return found;
}

export async function listCategories(
  config: Config,
  store: ObjectStore,
  only?: string,
): Promise<CategoryListing[]> {
  const prefix = config.keyPrefix === "" ? "" : `${config.keyPrefix}/`;
  return await Promise.all(
    selectCategories(config, only).map(async (c) => {
      const objects: RemoteObject[] = [];
      const reserved = manifestKey(config.keyPrefix);
      for await (const o of store.list(c.bucket, prefix)) if (o.key !== reserved) objects.push(o);
      return { category: c.name, bucket: c.bucket, objects };
    }),
  );
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `aws s3 ls` line: local date and time, size right-aligned in 10 columns, key. */
export function lsLine(o: RemoteObject): string {
  const d = o.lastModified;
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${when} ${String(o.size).padStart(10)} ${o.key}`;
}

export function formatListing(listings: CategoryListing[]): string {
  const out: string[] = [];
  for (const l of listings) {
    out.push(`== ${l.category}: s3://${l.bucket}/`);
    for (const o of l.objects) out.push(lsLine(o));
    const bytes = l.objects.reduce((s, o) => s + o.size, 0);
    out.push(`Total: ${l.objects.length} objects, ${bytes} bytes`, "");
  }
  return out.join("\n");
}
