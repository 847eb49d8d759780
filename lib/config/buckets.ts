/** S3's rules for general purpose bucket names. */
const BUCKET_RE = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET = /^(sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\.mrap|--x-s3)$/;
const IP_LIKE = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_RE.test(name) && !RESERVED_BUCKET.test(name) && !IP_LIKE.test(name);
}
