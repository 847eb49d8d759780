/**
 * `terraform plan` after changes that must not destroy anything, on a stack applied to the local
 * Ceph RGW (the bucket resources only, as terraform_apply_rgw_test.ts does):
 *  - renaming a category that keeps its bucket (`[categories.documents]` → `[categories.docs]`);
 *  - a stack applied when resource ids were keyed by category name (its state moved to those
 *    ids with `terraform state mv`), planned with today's ids: the `moved` blocks carry it over.
 * A real plan against a real server, not a comparison of JSON: the provider refreshes every
 * resource from RGW. Skipped, visibly, when terraform, the mirror or RGW is missing.
 */
import { join } from "node:path";
import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { parseConfigText } from "../lib/config.ts";
import { RGW_SKIP_MESSAGE, rgwClient, rgwFromEnv } from "../tests/servers/rgw_env.ts";
import {
  mirroredProviderVersion,
  pointAtRgw,
  RGW_APPLY_TYPES,
  serializePerBucket,
  shortenLifecycleWait,
  targetsOf,
  terraform,
  terraformSkipReason,
  type TfResult,
  writeTerraformRc,
} from "./rgw_apply.ts";
import { synthesize } from "./synth.ts";
import { assert, assertEquals, type Json } from "./testing.ts";

const rgw = await rgwFromEnv();
const skipReason = terraformSkipReason() ?? (rgw === undefined ? RGW_SKIP_MESSAGE : undefined);
if (skipReason !== undefined) console.warn(`SKIPPING terraform plan against RGW: ${skipReason}`);

function tfOk(step: string, r: TfResult): void {
  assertEquals(r.code, 0, `terraform ${step} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** A planned change: address, actions, and the address it moved from (if any). */
interface Change {
  address: string;
  actions: string[];
  from?: string;
}

Deno.test({
  name: `a category rename and the move from category-keyed ids plan no destroy on RGW (${
    skipReason ?? `${rgw?.endpoint}`
  })`,
  ignore: skipReason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (rgw === undefined) throw new Error("unreachable: skipped without RGW");
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const buckets = { documents: `tfplan-${id}-documents`, photos: `tfplan-${id}-photos` };
    const root = await Deno.makeTempDir({ prefix: "s3backup-tf-plan-" });
    const rc = join(root, "terraformrc");
    writeTerraformRc(rc);
    const s3 = rgwClient(rgw);
    const toml = (documents: string) =>
      `source = "./data"\n[aws]\nregion = "${rgw.region}"\n` +
      `[categories.${documents}]\nbucket = "${buckets.documents}"\nextensions = [".pdf"]\n` +
      `[categories.photos]\nbucket = "${buckets.photos}"\nextensions = [".jpg"]\n`;
    /** Synthesizes into the same stack folder and state each time, post-processed for RGW. */
    const synth = (text: string) => {
      const config = parseConfigText(text, join(root, "s3backup.toml"));
      const { stackDir, file } = synthesize(config, {
        outdir: join(root, "out"),
        statePath: join(root, "terraform.tfstate"),
      });
      const tf = JSON.parse(Deno.readTextFileSync(file));
      pointAtRgw(tf, rgw, mirroredProviderVersion()!);
      serializePerBucket(tf, RGW_APPLY_TYPES);
      shortenLifecycleWait(tf, "1s");
      Deno.writeTextFileSync(file, JSON.stringify(tf, null, 2));
      return { stackDir, tf, targets: targetsOf(tf, RGW_APPLY_TYPES).map((a) => `-target=${a}`) };
    };
    const run = (args: string[], dir: string) => terraform(args, dir, rc, root);
    const plan = async (dir: string, targets: string[]): Promise<Change[]> => {
      const planned = await run(
        ["plan", "-input=false", "-no-color", "-out=tfplan", ...targets],
        dir,
      );
      tfOk("plan", planned);
      const shown = await run(["show", "-json", "-no-color", "tfplan"], dir);
      tfOk("show", shown);
      return (JSON.parse(shown.stdout).resource_changes ?? []).map((c: Json) => ({
        address: c.address,
        actions: c.change.actions,
        from: c.previous_address,
      }));
    };
    const destroys = (changes: Change[]) => changes.filter((c) => c.actions.includes("delete"));
    try {
      // 1. Apply the bucket resources of the original config.
      const first = synth(toml("documents"));
      tfOk("init", await run(["init", "-input=false", "-no-color"], first.stackDir));
      const apply = await run(
        ["apply", "-auto-approve", "-input=false", "-no-color", ...first.targets],
        first.stackDir,
      );
      // The lifecycle wait always times out on RGW (see rgw_apply.ts); everything else applied.
      assert(
        apply.code === 0 || /While waiting: timeout/.test(apply.stdout + apply.stderr),
        apply.stdout + apply.stderr,
      );
      const applied = await run(["state", "list"], first.stackDir);
      tfOk("state list", applied);
      const addresses = applied.stdout.trim().split("\n").filter((a) => !a.startsWith("data."))
        .sort();
      assert(addresses.length >= 8, addresses.join());

      // 2. Rename the category: nothing is destroyed or replaced.
      const renamed = synth(toml("docs"));
      // Target what is in the state too: a plan limited to the new config's ids would hide the
      // destroy of resources whose ids changed.
      const stateTargets = addresses.map((a) => `-target=${a}`);
      const afterRename = await plan(renamed.stackDir, [...renamed.targets, ...stateTargets]);
      assertEquals(destroys(afterRename), [], JSON.stringify(afterRename, null, 1));
      // Only the lifecycles, which never reach the state on RGW (see rgw_apply.ts), are created.
      const creates = afterRename.filter((c) => c.actions.includes("create"));
      assertEquals(
        creates.filter((c) => !c.address.startsWith("aws_s3_bucket_lifecycle_configuration.")),
        [],
      );
      const changed = afterRename.filter((c) => !c.actions.includes("no-op"));
      console.log(
        `  rename: ${afterRename.length} planned, 0 destroyed; changes: ` +
          changed.map((c) => `${c.address} ${c.actions.join("+")}`).join(", "),
      );

      // 3. State as a category-keyed stack left it: today's moved blocks carry it over.
      const legacy = (address: string) => {
        const [type, name] = address.split(".");
        const at = name.indexOf("_tfplan-");
        const category = Object.entries(buckets).find(([, b]) => name.slice(at + 1) === b)![0];
        return `${type}.${name.slice(0, at)}_${category}`;
      };
      for (const address of addresses) {
        tfOk("state mv", await run(["state", "mv", address, legacy(address)], first.stackDir));
      }
      const again = synth(toml("documents"));
      // -target (RGW has no SNS or IAM to plan) must name the old addresses too.
      const oldTargets = addresses.map((a) => `-target=${legacy(a)}`);
      const afterMove = await plan(again.stackDir, [...again.targets, ...oldTargets]);
      assertEquals(destroys(afterMove), [], JSON.stringify(afterMove, null, 1));
      const moved = afterMove.filter((c) => c.from !== undefined);
      assertEquals(
        moved.map((c) => [c.from, c.address]).sort(),
        addresses.map((a) => [legacy(a), a]).sort(),
      );
      console.log(`  legacy ids: ${moved.length} resources moved, 0 destroyed`);
    } finally {
      for (const Bucket of Object.values(buckets)) {
        await s3.send(new DeleteBucketCommand({ Bucket })).catch(() => {});
      }
      s3.destroy();
      await Deno.remove(root, { recursive: true });
    }
  },
});
