import assert from "node:assert/strict";
import { describeError, whatToCheck } from "./errors.ts";

/** An error shaped as the AWS SDK throws it for a service's answer. */
function serviceError(name: string, message: string, status: number): Error {
  const e = new Error(message) as Error & { $metadata: { httpStatusCode: number } };
  e.name = name;
  e.$metadata = { httpStatusCode: status };
  return e;
}

Deno.test("describeError: a service error names its code and HTTP status, never just UnknownError", () => {
  const cases: Array<[unknown, string]> = [
    [serviceError("InvalidAccessKeyId", "UnknownError", 403), "InvalidAccessKeyId (HTTP 403)"],
    [serviceError("AccessDenied", "Access Denied", 403), "Access Denied (AccessDenied, HTTP 403)"],
    [serviceError("NoSuchBucket", "", 404), "NoSuchBucket (HTTP 404)"],
    [serviceError("SlowDown", "SlowDown", 503), "SlowDown (HTTP 503)"],
    [serviceError("Unknown", "UnknownError", 500), "HTTP 500"],
    [
      serviceError("NotFound", "Topic does not exist", 404),
      "Topic does not exist (NotFound, HTTP 404)",
    ],
    [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
      "connect ECONNREFUSED 127.0.0.1:9",
    ],
    [
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      "socket hang up (ECONNRESET)",
    ],
    [new Error("plain"), "plain"],
    ["a string", "a string"],
  ];
  for (const [err, want] of cases) assert.equal(describeError(err), want);
});

Deno.test("whatToCheck: a hint for each way S3 refuses or cannot be reached", () => {
  const cred = new Error("Could not load credentials from any providers");
  cred.name = "CredentialsProviderError";
  const cases: Array<[unknown, RegExp]> = [
    [cred, /check the credentials/],
    [serviceError("InvalidAccessKeyId", "UnknownError", 403), /access key id and secret/],
    [serviceError("SignatureDoesNotMatch", "x", 403), /access key id and secret/],
    [serviceError("RequestTimeTooSkewed", "x", 403), /clock/],
    [serviceError("AccessDenied", "Access Denied", 403), /IAM policy/],
    [serviceError("NoSuchBucket", "x", 404), /bucket names/],
    [
      Object.assign(new Error("getaddrinfo ENOTFOUND s3.example"), { code: "ENOTFOUND" }),
      /reach S3/,
    ],
    [new Error("something else"), /credentials, \[aws\] region and endpoint/],
  ];
  for (const [err, want] of cases) assert.match(whatToCheck(err), want);
});
