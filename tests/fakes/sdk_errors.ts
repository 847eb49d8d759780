/** Errors shaped as the AWS SDK throws them, for fakes and adapter tests. */

/** An error shaped like the AWS SDK v3's service exceptions. */
export function s3Error(
  name: string,
  message: string,
  httpStatusCode: number,
  attempts = 1,
): Error & { name: string; Code: string; $metadata: { httpStatusCode: number; attempts: number } } {
  return Object.assign(new Error(message), {
    name,
    Code: name,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: { httpStatusCode, attempts },
  });
}
