/** `s3backup init`: a commented starter config, never over an existing file. */
import type { Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { stdout } from "./output.ts";
import { quietOption, verboseOption } from "./log_options.ts";

export function defineInit(program: Command, done: (o: Outcome) => void): void {
  program.command("init")
    .description("write a commented starter s3backup.toml (never overwrites)")
    .option("-c, --config <path>", "where to write it (default: ./s3backup.toml)")
    .requiredOption("--bucket-prefix <name>", "buckets become <name>-documents, -photos, -database")
    .option("--source <dir>", "the folder to back up (default: .)")
    .addOption(verboseOption())
    .addOption(quietOption())
    .action(async (flags) => {
      const { writeStarterConfig } = await import("../lib/config/starter.ts");
      const path = flags.config ?? "s3backup.toml";
      const stateDir = writeStarterConfig(path, flags.bucketPrefix, flags.source ?? ".");
      stdout(
        `Wrote ${path} (state_dir = ${stateDir}). ` +
          "Next: review it, then 'deno task deploy-infra plan'.\n",
      );
      done("ok");
    });
}
