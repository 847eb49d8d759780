/**
 * Listings over the SDK: ListObjectsV2 pages (parsed from their bytes when list_parser.ts can,
 * else by the SDK) and ListObjectVersions pages, versions and delete markers merged.
 */
import { ListObjectsV2Command, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import type { ListLevelPage, ObjectVersion } from "../../core/ports.ts";
import type { RemoteObject } from "../../core/types.ts";
import { parseListPagesOf } from "./list_parser.ts";

/** Sends one command under the store's signal. */
type Send = <T>(command: unknown) => Promise<T>;

export function etagOf(v: string | undefined): string | undefined {
  return v ? v.replace(/"/g, "") : undefined;
}

/** ListObjectsV2 page by page (keys in S3's order, up to 1,000 a page), after startAfter. */
export async function* listObjectPages(
  send: Send,
  bucket: string,
  prefix: string,
  startAfter?: string,
): AsyncIterable<RemoteObject[]> {
  let token: string | undefined;
  do {
    const command = new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: prefix || undefined,
      ContinuationToken: token,
      ...(startAfter !== undefined && token === undefined ? { StartAfter: startAfter } : {}),
      MaxKeys: 1000,
    });
    const fast = parseListPagesOf(command);
    const out = await send<{
      Contents?: Array<
        { Key?: string; Size?: number; ETag?: string; LastModified?: Date; StorageClass?: string }
      >;
      IsTruncated?: boolean;
      NextContinuationToken?: string;
    }>(command);
    const page = fast.page ?? {
      objects: (out.Contents ?? []).map(toRemote),
      isTruncated: out.IsTruncated ?? false,
      nextContinuationToken: out.NextContinuationToken,
    };
    yield page.objects;
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token);
}

function toRemote(
  o: { Key?: string; Size?: number; ETag?: string; LastModified?: Date; StorageClass?: string },
): RemoteObject {
  return {
    key: o.Key!,
    size: o.Size ?? 0,
    etag: etagOf(o.ETag),
    lastModified: o.LastModified ?? new Date(0),
    storageClass: o.StorageClass ?? "STANDARD",
  };
}

export async function* listObjects(
  send: Send,
  bucket: string,
  prefix: string,
): AsyncIterable<RemoteObject> {
  for await (const page of listObjectPages(send, bucket, prefix)) yield* page;
}

/** One level under prefix (delimiter "/"), page by page: its objects and its folders. */
export async function* listLevelPages(
  send: Send,
  bucket: string,
  prefix: string,
): AsyncIterable<ListLevelPage> {
  let token: string | undefined;
  do {
    const out = await send<{
      Contents?: Array<
        { Key?: string; Size?: number; ETag?: string; LastModified?: Date; StorageClass?: string }
      >;
      CommonPrefixes?: Array<{ Prefix?: string }>;
      IsTruncated?: boolean;
      NextContinuationToken?: string;
    }>(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix || undefined,
        Delimiter: "/",
        ContinuationToken: token,
        MaxKeys: 1000,
      }),
    );
    yield {
      objects: (out.Contents ?? []).filter((o) => o.Key !== undefined).map(toRemote),
      folders: (out.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
    };
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
}

export async function* listObjectVersions(
  send: Send,
  bucket: string,
  prefix: string,
): AsyncIterable<ObjectVersion> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  type V = {
    Key?: string;
    VersionId?: string;
    IsLatest?: boolean;
    LastModified?: Date;
    Size?: number;
    ETag?: string;
    StorageClass?: string;
  };
  do {
    const out = await send<{
      Versions?: V[];
      DeleteMarkers?: V[];
      IsTruncated?: boolean;
      NextKeyMarker?: string;
      NextVersionIdMarker?: string;
    }>(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    const page: ObjectVersion[] = [];
    const add = (v: V, isDeleteMarker: boolean) =>
      page.push({
        key: v.Key!,
        versionId: v.VersionId ?? "null",
        isLatest: v.IsLatest ?? false,
        isDeleteMarker,
        lastModified: v.LastModified ?? new Date(0),
        size: v.Size ?? 0,
        etag: etagOf(v.ETag),
        storageClass: v.StorageClass ?? "STANDARD",
      });
    for (const v of out.Versions ?? []) add(v, false);
    for (const m of out.DeleteMarkers ?? []) add(m, true);
    // Per key newest first; at equal times the latest (e.g. a delete marker) first.
    page.sort((a, b) =>
      a.key < b.key
        ? -1
        : a.key > b.key
        ? 1
        : b.lastModified.getTime() - a.lastModified.getTime() ||
          Number(b.isLatest) - Number(a.isLatest)
    );
    yield* page;
    keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
    versionMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
  } while (keyMarker);
}
