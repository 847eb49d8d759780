/**
 * The SNS topic the backup reports go to: owner-account publish over TLS only, and an email
 * subscription when an address is given (`alert_email`, a Terraform variable defaulting to
 * [infra] alert_email).
 */
import { Fn, TerraformVariable, Token } from "cdktf";
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy/index.js";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription/index.js";
import { TOPIC_ACTIONS } from "./policy.ts";

export interface ReportTopicProps {
  name: string;
  alertEmail?: string;
  partition: string;
  accountId: string;
}

export class ReportTopic extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, props: ReportTopicProps) {
    super(scope, "report-topic");
    const alertEmail = new TerraformVariable(this, "alert_email", {
      type: "string",
      default: props.alertEmail ?? "",
      description: "Address that receives backup reports (empty: no subscription). " +
        "Default: infra.alert_email in s3backup.toml.",
      validation: [{
        condition:
          `\${var.alert_email == "" || can(regex("^[^@\\\\s]+@[^@\\\\s]+$", var.alert_email))}`,
        errorMessage: "alert_email must be an email address or empty.",
      }],
    });
    alertEmail.overrideLogicalId("alert_email");

    const topic = new SnsTopic(this, "reports", { name: props.name });
    topic.overrideLogicalId("reports");
    this.topic = topic;
    const policy = new DataAwsIamPolicyDocument(this, "reports_policy", {
      statement: [
        {
          sid: "OwnerAccountPublish",
          effect: "Allow",
          principals: [{
            type: "AWS",
            identifiers: [`arn:${props.partition}:iam::${props.accountId}:root`],
          }],
          actions: TOPIC_ACTIONS,
          resources: [topic.arn],
        },
        {
          sid: "DenyInsecureTransport",
          effect: "Deny",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: TOPIC_ACTIONS,
          resources: [topic.arn],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    policy.overrideLogicalId("reports_policy");
    new SnsTopicPolicy(this, "reports_topic_policy", { arn: topic.arn, policy: policy.json })
      .overrideLogicalId("reports_topic_policy");
    new SnsTopicSubscription(this, "reports_email", {
      // min(1, length(email)): 0 without an address, else 1.
      count: Token.asNumber(Fn.min([1, Fn.lengthOf(alertEmail.stringValue)])),
      topicArn: topic.arn,
      protocol: "email",
      endpoint: alertEmail.stringValue,
    }).overrideLogicalId("reports_email");
  }
}
