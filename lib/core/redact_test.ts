import assert from "node:assert/strict";
import { redactUserinfo } from "./redact.ts";

Deno.test("redactUserinfo hides the userinfo of any URL in a message, and nothing else", () => {
  const cases: Array<[string, string]> = [
    [
      "aws.endpoint http://KEY:SECRET@127.0.0.1:9000 is plain http",
      "aws.endpoint http://***@127.0.0.1:9000 is plain http",
    ],
    [
      "'ftp://AKIA:abc/def+ghi@x' must be an http:// or https:// URL",
      "'ftp://***@x' must be an http:// or https:// URL",
    ],
    ["https://TOKEN@hc.example/ping", "https://***@hc.example/ping"],
    ["two: http://a:b@h1/ and https://c:d@h2/", "two: http://***@h1/ and https://***@h2/"],
    // Not credentials: an @ in a path or a key, an e-mail address, a URL without userinfo.
    [
      "Error uploading s3://docs/mail/user@example.com.txt: x",
      "Error uploading s3://docs/mail/user@example.com.txt: x",
    ],
    ["http://host/path/a@b.txt", "http://host/path/a@b.txt"],
    ["write to admin@example.com", "write to admin@example.com"],
    ["http://127.0.0.1:9000/bucket", "http://127.0.0.1:9000/bucket"],
  ];
  for (const [input, want] of cases) assert.equal(redactUserinfo(input), want, input);
});
