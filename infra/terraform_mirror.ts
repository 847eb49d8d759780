/**
 * The terraform binary and the offline provider mirror the infra tests use (default
 * /opt/tf-plugins; $S3BACKUP_TF_MIRROR overrides). Tests skip, visibly, when either is missing.
 */
import { join } from "node:path";

export const TERRAFORM = "terraform";
export const MIRROR = Deno.env.get("S3BACKUP_TF_MIRROR") ?? "/opt/tf-plugins";
export const PLATFORM = `${Deno.build.os}_${Deno.build.arch === "x86_64" ? "amd64" : "arm64"}`;
export const PROVIDER_DIR = join(MIRROR, "registry.terraform.io", "hashicorp", "aws");

/** `terraform version`'s first line, or undefined when the binary is missing or broken. */
export function terraformVersion(): string | undefined {
  try {
    const out = new Deno.Command(TERRAFORM, { args: ["version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).split("\n")[0] : undefined;
  } catch {
    return undefined;
  }
}

/** The newest hashicorp/aws version in the mirror with a build for this platform. */
export function mirroredProviderVersion(): string | undefined {
  try {
    const versions = [...Deno.readDirSync(PROVIDER_DIR)]
      .filter((e) => e.isDirectory && /^\d+\.\d+\.\d+$/.test(e.name))
      .filter((e) => {
        try {
          return Deno.statSync(join(PROVIDER_DIR, e.name, PLATFORM)).isDirectory;
        } catch {
          return false;
        }
      })
      .map((e) => e.name.split(".").map(Number));
    versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    return versions.at(-1)?.join(".");
  } catch {
    return undefined;
  }
}
