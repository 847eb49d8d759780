/**
 * A backup host's IAM identity: the least-privilege policy from policy.ts, attached to a new
 * IAM user (with an access key when asked) or to an existing role. One for the whole stack, or
 * one per host of [infra] hosts, each confined to its own `<host>/` key prefix.
 */
import { Construct } from "constructs";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy/index.js";
import { IamUser } from "@cdktf/provider-aws/lib/iam-user/index.js";
import { IamUserPolicyAttachment } from "@cdktf/provider-aws/lib/iam-user-policy-attachment/index.js";
import { IamAccessKey } from "@cdktf/provider-aws/lib/iam-access-key/index.js";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js";
import type { Config } from "../lib/config/config.ts";
import { hostPolicy, type PolicyArns } from "./policy.ts";

export interface HostIdentityProps {
  config: Config;
  /** Undefined: the single identity of a one-host stack (whole buckets). */
  host?: string;
  /** Common prefix of the stack's resource names. */
  base: string;
  arns: PolicyArns;
}

/** The IAM names of one identity. Pure. */
export function identityNames(config: Config, base: string, host?: string) {
  const infra = config.infra;
  const fill = (template: string | undefined) =>
    host === undefined ? template : template?.replaceAll("{host}", host);
  return {
    policyName: host === undefined ? `${base}-backup-host` : `${base}-backup-${host}`,
    userName: fill(infra.iamUserName) ?? (host === undefined ? `${base}-host` : `${base}-${host}`),
    role: fill(infra.attachToRole),
  };
}

export class HostIdentity extends Construct {
  readonly policy: IamPolicy;
  readonly user?: IamUser;
  readonly accessKey?: IamAccessKey;
  readonly roleAttachment?: IamRolePolicyAttachment;

  constructor(scope: Construct, props: HostIdentityProps) {
    super(scope, props.host === undefined ? "host-identity" : `host-identity-${props.host}`);
    const { config, host } = props;
    // The one-host ids predate fleets; keeping them keeps existing stacks unchanged.
    const id = (name: string) => host === undefined ? name : `${name}_${host}`;
    const names = identityNames(config, props.base, host);

    this.policy = new IamPolicy(this, "policy", {
      name: names.policyName,
      description: host === undefined
        ? "s3backup host: write, read, list and restore the backup buckets; publish reports. " +
          "No delete."
        : `s3backup host ${host}: write, read, list and restore under ${host}/ in the backup ` +
          "buckets; publish reports. No delete.",
      policy: JSON.stringify(hostPolicy(config, host, props.arns)),
    });
    this.policy.overrideLogicalId(id("backup_host"));

    if (names.role !== undefined) {
      this.roleAttachment = new IamRolePolicyAttachment(this, "role", {
        role: names.role,
        policyArn: this.policy.arn,
      });
      this.roleAttachment.overrideLogicalId(id("backup_host_role"));
      return;
    }
    this.user = new IamUser(this, "user", { name: names.userName });
    this.user.overrideLogicalId(id("backup_host_user"));
    new IamUserPolicyAttachment(this, "user_policy", {
      user: this.user.name,
      policyArn: this.policy.arn,
    }).overrideLogicalId(id("backup_host_user_policy"));
    if (config.infra.createAccessKey) {
      this.accessKey = new IamAccessKey(this, "key", { user: this.user.name });
      this.accessKey.overrideLogicalId(id("backup_host_key"));
    }
  }
}
