/**
 * `terraform plan` after changes that must not destroy anything, on a stack applied to the local
 * Ceph RGW (the bucket resources only, as terraform_apply_rgw_test.ts does):
 *  - renaming a category that keeps its bucket (`[categories.documents]` → `[categories.docs]`);
 *  - a removed category: the plan destroys its protections (prevent_destroy does not cover a
 *    resource gone from the config), which deploy-infra's state check reports; listed in
 *    [infra] retired_buckets instead, the bucket is forgotten by Terraform, nothing destroyed;
 *  - a stack applied when resource ids were keyed by category name (its state moved to those
 *    ids with `terraform state mv`), planned with today's ids: the `moved` blocks carry it over.
 * Real `terraform plan`s on a real state, not a comparison of JSON (the first one also
 * refreshes every resource from RGW). Skipped, visibly, when terraform, the mirror or RGW is
 * missing.
 */
import { join } from "node:path";
import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { parseConfigText } from "../lib/config/config.ts";
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
import { unprotectedRemovals } from "./state_guard.ts";
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
    // Refreshing every resource from RGW costs ~8 s a plan; after the first plan, what is
    // checked (ids, moves, destroys) comes from the state and the config alone.
    const plan = async (dir: string, targets: string[], refresh = false): Promise<Change[]> => {
      const planned = await run(
        ["plan", "-input=false", "-no-color", `-refresh=${refresh}`, "-out=tfplan", ...targets],
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
      const afterRename = await plan(renamed.stackDir, [...renamed.targets, ...stateTargets], true);
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

      // 3. A category removed: prevent_destroy does not cover a resource gone from the config,
      // so terraform would destroy the bucket's protections; deploy-infra refuses that apply
      // (unprotectedRemovals). Listed in retired_buckets, the bucket is forgotten, not destroyed.
      const photosGone = toml("documents").replace(
        /\[categories\.photos\][^\n]*\n[^\n]*\n[^\n]*\n/,
        "",
      );
      const removed = synth(photosGone);
      const afterRemove = await plan(removed.stackDir, [...removed.targets, ...stateTargets]);
      const lost = unprotectedRemovals(addresses, removed.tf);
      assertEquals(lost.length, 4, lost.join());
      assert(lost.every((a) => a.endsWith(buckets.photos)), lost.join());
      for (const a of lost) {
        assert(destroys(afterRemove).some((c) => c.address === a), `${a} not planned for destroy`);
      }
      const retired = synth(`${photosGone}[infra]\nretired_buckets = ["${buckets.photos}"]\n`);
      assertEquals(unprotectedRemovals(addresses, retired.tf), []);
      const afterRetire = await plan(retired.stackDir, [...retired.targets, ...stateTargets]);
      assertEquals(destroys(afterRetire), [], JSON.stringify(afterRetire, null, 1));
      const forgotten = afterRetire.filter((c) => c.actions.includes("forget")).map((c) =>
        c.address
      );
      assertEquals(forgotten.sort(), addresses.filter((a) => a.endsWith(buckets.photos)));
      console.log(
        `  category removed: ${lost.length} protections would be destroyed (apply refused); ` +
          `retired: ${forgotten.length} forgotten, 0 destroyed`,
      );

      // 4. State as a category-keyed stack left it: today's moved blocks carry it over.
      const legacy = (address: string) => {
        const [type, name] = address.split(".");
        const at = name.indexOf("_tfplan-");
        const category = Object.entries(buckets).find(([, b]) => name.slice(at + 1) === b)![0];
        return `${type}.${name.slice(0, at)}_${category}`;
      };
      // The local state file rewritten as the old ids left it (one `state mv` costs 1.6 s).
      const statePath = join(root, "terraform.tfstate");
      const state = JSON.parse(Deno.readTextFileSync(statePath));
      for (const r of state.resources) {
        const address = `${r.type}.${r.name}`;
        if (r.mode === "managed" && addresses.includes(address)) {
          r.name = legacy(address).split(".")[1];
        }
      }
      state.serial += 1;
      Deno.writeTextFileSync(statePath, JSON.stringify(state));
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
