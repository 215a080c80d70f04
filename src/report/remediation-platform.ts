import { type ContainerFlavour, containerPlan } from '../aws/credential-platform.ts';
import { redactUrl } from '../config/mask.ts';
import type { ErrorDetail } from '../model/check.ts';
import type { Reason } from '../model/reasons.ts';
import { signingRegion } from '../model/region.ts';
import { roleFromArn } from './arn.ts';
import { type BlockTemplate, code, json, type Row, sh, t } from './remediation-blocks.ts';
import type { RemediationContext, Vars } from './vars.ts';

// Rows for the platform credential sources: ECS task roles, EKS Pod Identity
// and IRSA. Their values come from what the failing step recorded (the
// service-account token's claims, the endpoint's answer) and from the
// configuration. What the pod cannot see becomes a shell variable set by a
// printed finder command, so every block pastes and runs: the EKS cluster name
// (never visible from inside a pod), the ECS cluster and service, and the
// pod's namespace and service account when no token claim named them (the
// pod's name is its hostname).

const CLUSTER = '"$CLUSTER"';

function detail(ctx: RemediationContext, key: keyof ErrorDetail): string | undefined {
  const v = ctx.error?.detail?.[key];
  return v === undefined || v === '' ? undefined : String(v);
}

function platformOf(ctx: RemediationContext): ContainerFlavour {
  const d = detail(ctx, 'platform');
  if (d === 'ecs' || d === 'eks-pod-identity' || d === 'container') return d;
  return containerPlan(ctx.config.aws)?.flavour ?? 'container';
}

interface K8s {
  ns: string;
  sa: string;
  /** The pod's name: Kubernetes sets it as the hostname. */
  pod: string;
  subject: string;
  /** Shell lines setting NAMESPACE / SERVICE_ACCOUNT when no claim named them. */
  locate: string[];
}

function k8s(ctx: RemediationContext): K8s {
  const pod = ctx.config.hostname;
  const nsKnown = detail(ctx, 'namespace');
  const saKnown = detail(ctx, 'serviceAccount');
  const ns = nsKnown ?? '"$NAMESPACE"';
  const sa = saKnown ?? '"$SERVICE_ACCOUNT"';
  const locate = [
    ...(nsKnown
      ? []
      : [
          `NAMESPACE=$(kubectl get pods -A --field-selector metadata.name=${pod} -o jsonpath='{.items[0].metadata.namespace}')`,
        ]),
    ...(saKnown
      ? []
      : [
          `SERVICE_ACCOUNT=$(kubectl -n ${ns} get pod ${pod} -o jsonpath='{.spec.serviceAccountName}')`,
        ]),
  ];
  const subject =
    detail(ctx, 'subject') ??
    (nsKnown && saKnown ? `system:serviceaccount:${nsKnown}:${saKnown}` : 'its service account');
  return { ns, sa, pod, subject, locate };
}

/** The finder lines for what the pod does not know about itself, as one block. */
function locatePod(k: K8s): BlockTemplate[] {
  if (k.locate.length === 0) return [];
  return [
    t(`The pod is ${k.pod} (its hostname); find its namespace and service account:`),
    sh(k.locate.join('\n')),
  ];
}

/** Sets CLUSTER: a pod cannot see its EKS cluster's name. */
function findCluster(ctx: RemediationContext): BlockTemplate[] {
  return [
    t(
      "A pod cannot see its EKS cluster's name: this takes the region's cluster (if it prints several, set CLUSTER to the one running this pod):",
    ),
    sh(
      `CLUSTER=$(aws eks list-clusters --region ${regionOf(ctx)} --query 'clusters[]' --output text)\necho "CLUSTER=$CLUSTER"`,
    ),
  ];
}

/** Sets ECS_CLUSTER, ECS_SERVICE and TASK_DEFINITION from the region's ECS services. */
function findEcsService(ctx: RemediationContext): BlockTemplate[] {
  const region = regionOf(ctx);
  return [
    t(
      'The ECS cluster, service and task definition (if it prints several names, set ECS_CLUSTER and ECS_SERVICE to the ones running s3-health):',
    ),
    sh(
      [
        `ECS_CLUSTER=$(aws ecs list-clusters --region ${region} --query 'clusterArns[]' --output text)`,
        `ECS_SERVICE=$(aws ecs list-services --region ${region} --cluster "$ECS_CLUSTER" --query 'serviceArns[]' --output text)`,
        'echo "ECS_CLUSTER=$ECS_CLUSTER ECS_SERVICE=$ECS_SERVICE"',
        `TASK_DEFINITION=$(aws ecs describe-services --region ${region} --cluster "$ECS_CLUSTER" --services "$ECS_SERVICE" --query 'services[0].taskDefinition' --output text)`,
      ].join('\n'),
    ),
  ];
}

function regionOf(ctx: RemediationContext): string {
  return signingRegion(ctx.config.aws, ctx.facts) ?? '<REGION>';
}

/** The role a platform source hands out: IRSA names it; otherwise the expected role, if any. */
function platformRole(ctx: RemediationContext, v: Vars) {
  const fromArn = roleFromArn(detail(ctx, 'roleArn') ?? ctx.config.aws.roleArn ?? '');
  if (fromArn) return fromArn;
  const expected = ctx.config.expectedRole;
  const named = expected === undefined ? undefined : roleFromArn(expected);
  if (named) return named;
  const roleName = expected ?? v.roleName;
  return {
    partition: v.partition,
    accountId: v.accountId,
    roleName,
    roleArn: `arn:${v.partition}:iam::${v.accountId}:role/${roleName}`,
  };
}

function issuerHost(issuer: string): string {
  return issuer.replace(/^https:\/\//, '');
}

/** The URL a step recorded, else the one configured, its userinfo masked. */
function endpointUrl(ctx: RemediationContext): string {
  const recorded = detail(ctx, 'url');
  if (recorded) return recorded;
  const plan = containerPlan(ctx.config.aws);
  if (!plan) return 'the container credential endpoint';
  return redactUrl(plan.url);
}

function answered(ctx: RemediationContext): string {
  const status = ctx.error?.httpStatus ?? detail(ctx, 'httpStatus');
  const agent = detail(ctx, 'agentCode');
  return [status === undefined ? undefined : `HTTP ${status}`, agent].filter(Boolean).join(' ');
}

const POD_IDENTITY_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AllowEksPodIdentity',
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ],
};

const ECS_TASK_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Action: 'sts:AssumeRole',
    },
  ],
};

function listAssociations(ctx: RemediationContext): BlockTemplate {
  const { ns, sa } = k8s(ctx);
  return sh(
    `aws eks list-pod-identity-associations --cluster-name ${CLUSTER} --region ${regionOf(ctx)} --namespace ${ns} --service-account ${sa}`,
  );
}

/** Restarts the pod's Deployment (pod -> ReplicaSet -> Deployment), so the webhook sees new pods. */
function restartPods(ctx: RemediationContext): BlockTemplate {
  const { ns, pod } = k8s(ctx);
  return sh(
    [
      `RS=$(kubectl -n ${ns} get pod ${pod} -o jsonpath='{.metadata.ownerReferences[0].name}')`,
      `DEPLOYMENT=$(kubectl -n ${ns} get rs "$RS" -o jsonpath='{.metadata.ownerReferences[0].name}')`,
      `kubectl -n ${ns} rollout restart deployment "$DEPLOYMENT"`,
    ].join('\n'),
  );
}

function ecsTaskRoleFix(v: Vars, ctx: RemediationContext): BlockTemplate[] {
  const region = regionOf(ctx);
  const role = platformRole(ctx, v);
  return [
    t(
      'Give the task definition a task role and deploy a revision; ECS then injects AWS_CONTAINER_CREDENTIALS_RELATIVE_URI for it.',
    ),
    ...findEcsService(ctx),
    t('See what the task runs with now:'),
    sh(
      `aws ecs describe-task-definition --region ${region} --task-definition "$TASK_DEFINITION" --query 'taskDefinition.taskRoleArn'`,
    ),
    t(
      'Register a revision with the task role (not executionRoleArn, which only pulls images and writes logs):',
    ),
    code(`"taskRoleArn": "${role.roleArn}"`),
    t('The role must trust ECS tasks:'),
    json(ECS_TASK_TRUST),
    t("Then deploy the family's latest revision:"),
    sh(
      `aws ecs update-service --region ${region} --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --task-definition "$(basename "\${TASK_DEFINITION%:*}")" --force-new-deployment`,
    ),
  ];
}

/** For credentials_not_found: where a role comes from on each platform. */
export const PLATFORM_SOURCES_HINT = t(
  "On ECS the task definition needs a task role (taskRoleArn); on EKS the pod's service account needs an EKS Pod Identity association or the IRSA annotation eks.amazonaws.com/role-arn (docs/ecs-eks.md). Without one, the SDK falls through to the node's instance role, or to nothing.",
);

/** For the hop-limit rows: on EKS raising it is the wrong fix. */
export const EKS_HOP_LIMIT_NOTE = t(
  "On EKS nodes keep hop limit 1 (Karpenter's default) and give the pod its own role with EKS Pod Identity or IRSA instead: with 2, every pod on the node can take the node's role.",
);

/** env_container_credentials_conflict: which URL wins, from the configuration. */
export function conflictCause(_v: Vars, ctx: RemediationContext): string {
  const rel = ctx.config.aws.containerRelativeUri ?? '<RELATIVE_URI>';
  return `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are both set: the JS SDK and botocore ask http://169.254.170.2${rel} and ignore FULL_URI, so one of the two platforms' variables is a leftover.`;
}

/** env_token_file_invalid: either token file (IRSA's or Pod Identity's), as the step named it. */
export function tokenFileCause(v: Vars, ctx: RemediationContext): string {
  const variable = detail(ctx, 'variable') ?? 'AWS_WEB_IDENTITY_TOKEN_FILE';
  const file = detail(ctx, 'tokenFile') ?? v.tokenFile;
  const problem = detail(ctx, 'problem') ?? 'cannot be used';
  const provider =
    variable === 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
      ? 'the container credential provider (EKS Pod Identity) cannot authenticate to the agent'
      : 'the web-identity provider (IRSA) cannot call STS';
  return `${variable}=${file} ${problem}, so ${provider}.`;
}

export function tokenFileFix(_v: Vars, ctx: RemediationContext): readonly BlockTemplate[] {
  const podIdentity = detail(ctx, 'variable') === 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
  const k = k8s(ctx);
  return [
    ...locatePod(k),
    t(
      podIdentity
        ? 'EKS Pod Identity mounts the token at /var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token and the kubelet rotates it; the SDK re-reads it on every request. Use that mount unchanged (a token written by hand must have no trailing newline):'
        : 'IRSA mounts the token at /var/run/secrets/eks.amazonaws.com/serviceaccount/token and the kubelet rotates it. Use that mount unchanged; on EC2 without EKS, remove AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN instead:',
    ),
    sh(
      `kubectl -n ${k.ns} get pod ${k.pod} -o jsonpath='{.spec.volumes[*].projected.sources[*].serviceAccountToken}'`,
    ),
    t(
      'Containers that run as a non-root user need to read it: set securityContext.fsGroup in the pod spec (the token is mode 0600 otherwise).',
    ),
  ];
}

export const PLATFORM_ROWS: Pick<
  Record<Reason, Row>,
  | 'env_container_url_refused'
  | 'env_web_identity_incomplete'
  | 'container_credentials_unreachable'
  | 'container_credentials_refused'
  | 'container_credentials_error'
  | 'pod_identity_no_association'
  | 'pod_identity_access_denied'
  | 'web_identity_access_denied'
  | 'web_identity_no_oidc_provider'
  | 'web_identity_token_invalid'
  | 'web_identity_token_expired'
> = {
  env_container_url_refused: {
    title: 'container credential URL refused by the SDK',
    cause: (_v, ctx) =>
      `${detail(ctx, 'variable') ?? 'AWS_CONTAINER_CREDENTIALS_FULL_URI'} points at ${endpointUrl(ctx)}, which is neither https nor an address the AWS SDKs accept for plain http (127.0.0.0/8, [::1], 169.254.170.2, 169.254.170.23, [fd00:ec2::23]), so no SDK in the container asks it for credentials.`,
    fix: (_v, ctx) => {
      const k = k8s(ctx);
      return [
        t(
          'Leave these variables to the platform: ECS injects AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (a path starting with /), EKS Pod Identity injects AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials. Remove values set by hand in the task definition, pod spec or env file; a custom credential server must use https or loopback. Find where it is set. On ECS:',
        ),
        ...findEcsService(ctx),
        sh(
          `aws ecs describe-task-definition --region ${regionOf(ctx)} --task-definition "$TASK_DEFINITION" --query 'taskDefinition.containerDefinitions[].environment'`,
        ),
        t('On Kubernetes:'),
        ...locatePod(k),
        sh(`kubectl -n ${k.ns} exec ${k.pod} -c s3-health -- env | grep AWS_CONTAINER`),
      ];
    },
  },
  env_web_identity_incomplete: {
    title: 'IRSA half-configured: web identity skipped',
    cause:
      "Only one of AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN is set, so the SDK skips web identity (IRSA) and falls through to the next source: on EKS the node's instance role when the pod can reach IMDS, otherwise no credentials.",
    fix: (v, ctx) => {
      const role = platformRole(ctx, v);
      const k = k8s(ctx);
      return [
        t(
          "Let EKS inject both: annotate the pod's service account with the role, then recreate the pods (the webhook only changes new ones).",
        ),
        ...locatePod(k),
        sh(
          `kubectl -n ${k.ns} annotate serviceaccount ${k.sa} eks.amazonaws.com/role-arn=${role.roleArn} --overwrite`,
        ),
        restartPods(ctx),
        t(
          'Setting them by hand needs both, with the token from a projected service-account volume of audience sts.amazonaws.com.',
        ),
      ];
    },
  },
  container_credentials_unreachable: {
    title: 'container credential endpoint unreachable',
    cause: (v, ctx) => {
      const why: Record<ContainerFlavour, string> = {
        'eks-pod-identity':
          'the EKS Pod Identity Agent is not running on this node (add-on missing, DaemonSet pod not ready) or a NetworkPolicy blocks 169.254.170.23',
        ecs: "the ECS agent's credential endpoint is not reachable from this task (network mode host without ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true, or the agent is down)",
        container:
          'the credential server named by AWS_CONTAINER_CREDENTIALS_FULL_URI is not running',
      };
      return `Nothing answers at ${endpointUrl(ctx)} (${v.code}): ${why[platformOf(ctx)]}.`;
    },
    fix: (_v, ctx) => {
      const region = regionOf(ctx);
      const flavour = platformOf(ctx);
      if (flavour === 'ecs') {
        return [
          t('On the container instance, check the agent and its task-role settings:'),
          sh('curl -s http://localhost:51678/v1/metadata'),
          sh('grep ECS_ENABLE_TASK_IAM_ROLE /etc/ecs/ecs.config'),
          t(
            'Tasks in network mode host need ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true in /etc/ecs/ecs.config, then restart the agent:',
          ),
          sh('sudo systemctl restart ecs'),
        ];
      }
      if (flavour === 'container') {
        return [
          t('Start the credential server, or remove AWS_CONTAINER_CREDENTIALS_FULL_URI:'),
          sh(`curl -sS -o /dev/null -w '%{http_code}\\n' ${endpointUrl(ctx)}`),
        ];
      }
      return [
        ...findCluster(ctx),
        t(
          'The Pod Identity Agent is an EKS add-on (a DaemonSet); check it, install it if missing:',
        ),
        sh(
          `aws eks describe-addon --cluster-name ${CLUSTER} --addon-name eks-pod-identity-agent --region ${region}`,
        ),
        sh(
          `aws eks create-addon --cluster-name ${CLUSTER} --addon-name eks-pod-identity-agent --region ${region}`,
        ),
        sh('kubectl -n kube-system get daemonset eks-pod-identity-agent -o wide'),
        sh('kubectl -n kube-system logs daemonset/eks-pod-identity-agent --tail 50'),
        t(
          'A NetworkPolicy with egress rules must allow 169.254.170.23/32 port 80 (and [fd00:ec2::23] on IPv6 clusters).',
        ),
      ];
    },
  },
  container_credentials_refused: {
    title: 'container credential endpoint refused the request',
    cause: (_v, ctx) => {
      const said = answered(ctx);
      const flavour = platformOf(ctx);
      if (flavour === 'eks-pod-identity') {
        return `The EKS Pod Identity Agent refused the pod's service-account token (${said}): the token file is stale or expired, not the projected eks-pod-identity-token, or the node's clock is off.`;
      }
      if (flavour === 'ecs') {
        return `The ECS agent does not know this task's credentials (${said}): the task definition has no task role (taskRoleArn), or the agent lost its state after a restart.`;
      }
      return `The container credential endpoint ${endpointUrl(ctx)} refused the request (${said}): wrong credentials path or authorization token.`;
    },
    fix: (v, ctx) => {
      const flavour = platformOf(ctx);
      if (flavour === 'ecs') return ecsTaskRoleFix(v, ctx);
      if (flavour === 'container') {
        return [
          t(
            'Check AWS_CONTAINER_CREDENTIALS_FULL_URI and the authorization token (variable or file) against what the credential server expects.',
          ),
        ];
      }
      const k = k8s(ctx);
      return [
        t(
          'The Pod Identity webhook mounts the token at /var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token and the kubelet refreshes it; do not copy it elsewhere. Check the mount, the node clock, and the association:',
        ),
        ...locatePod(k),
        sh(`kubectl -n ${k.ns} get pod ${k.pod} -o yaml | grep -B2 -A6 eks-pod-identity-token`),
        sh('chronyc tracking'),
        ...findCluster(ctx),
        listAssociations(ctx),
      ];
    },
  },
  container_credentials_error: {
    title: 'container credential endpoint failed',
    cause: (_v, ctx) =>
      `The container credential endpoint ${endpointUrl(ctx)} answered without usable credentials (${answered(ctx) || 'no status'}): the agent is restarting (the ECS agent answers 503 CredentialsUninitialized until it has reconciled its tasks), EKS Auth is failing or throttling, or something else answers on that address.`,
    fix: (v, ctx) => [
      t('Usually transient; if it persists, read the agent logs:'),
      platformOf(ctx) === 'ecs'
        ? sh('sudo docker logs ecs-agent --tail 50')
        : sh('kubectl -n kube-system logs daemonset/eks-pod-identity-agent --tail 50'),
      t(`Then look at the AWS Health Dashboard for ${regionOf(ctx)}.`),
      ...(v.code === 'MalformedCredentials'
        ? [t('A 200 without the four credential fields is not an AWS agent: check the URL.')]
        : []),
    ],
  },
  pod_identity_no_association: {
    title: 'no EKS Pod Identity association',
    cause: (_v, ctx) => {
      const { ns, sa } = k8s(ctx);
      return `EKS Auth found no Pod Identity association for service account ${ns}/${sa} in this cluster, so the Pod Identity Agent has no role to hand out.`;
    },
    fix: (v, ctx) => {
      const k = k8s(ctx);
      const { ns, sa } = k;
      const role = platformRole(ctx, v);
      return [
        ...locatePod(k),
        ...findCluster(ctx),
        t('See what the cluster has for this namespace:'),
        sh(
          `aws eks list-pod-identity-associations --cluster-name ${CLUSTER} --region ${regionOf(ctx)} --namespace ${ns}`,
        ),
        t("Associate the application's role with the service account:"),
        sh(
          `aws eks create-pod-identity-association --cluster-name ${CLUSTER} --region ${regionOf(ctx)} --namespace ${ns} --service-account ${sa} --role-arn ${role.roleArn}`,
        ),
        t(
          `Role ${role.roleName} must trust the Pod Identity service (update-assume-role-policy with this document if it does not):`,
        ),
        json(POD_IDENTITY_TRUST),
        t('Then recreate the pods, so the webhook injects the variables into new ones:'),
        restartPods(ctx),
      ];
    },
  },
  pod_identity_access_denied: {
    title: 'EKS Pod Identity cannot assume the role',
    cause: (_v, ctx) => {
      const { ns, sa } = k8s(ctx);
      return `EKS Auth refused to assume the role associated with ${ns}/${sa} (AccessDeniedException): the role's trust policy does not let pods.eks.amazonaws.com call sts:AssumeRole and sts:TagSession.`;
    },
    fix: (v, ctx) => {
      const role = platformRole(ctx, v);
      return [
        ...locatePod(k8s(ctx)),
        ...findCluster(ctx),
        t('Find the role the association names:'),
        listAssociations(ctx),
        t(`Trust policy for role ${role.roleName}; save it as pod-identity-trust.json:`),
        json(POD_IDENTITY_TRUST),
        sh(
          `aws iam update-assume-role-policy --role-name ${role.roleName} --policy-document file://pod-identity-trust.json`,
        ),
      ];
    },
  },
  web_identity_access_denied: {
    title: 'IRSA: role does not trust this service account',
    cause: (v, ctx) => {
      const role = platformRole(ctx, v);
      return `STS refused AssumeRoleWithWebIdentity for ${role.roleArn} as ${k8s(ctx).subject}: the role's trust policy does not allow this cluster's OIDC provider with this service account and audience sts.amazonaws.com.`;
    },
    fix: (v, ctx) => {
      const role = platformRole(ctx, v);
      const k = k8s(ctx);
      // A JSON document cannot read shell variables: what no claim named stays a placeholder.
      const ns = detail(ctx, 'namespace') ?? '<NAMESPACE>';
      const sa = detail(ctx, 'serviceAccount') ?? '<SERVICE_ACCOUNT>';
      const host = issuerHost(detail(ctx, 'issuer') ?? '<OIDC_ISSUER>');
      return [
        t(`Trust policy for role ${role.roleName}; save it as irsa-trust.json:`),
        json({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: {
                Federated: `arn:${role.partition}:iam::${role.accountId}:oidc-provider/${host}`,
              },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  [`${host}:sub`]: `system:serviceaccount:${ns}:${sa}`,
                  [`${host}:aud`]: 'sts.amazonaws.com',
                },
              },
            },
          ],
        }),
        t('Compare with the current one, then replace it:'),
        sh(`aws iam get-role --role-name ${role.roleName} --query Role.AssumeRolePolicyDocument`),
        sh(
          `aws iam update-assume-role-policy --role-name ${role.roleName} --policy-document file://irsa-trust.json`,
        ),
        t('The service account must name the same role:'),
        ...locatePod(k),
        sh(
          `kubectl -n ${k.ns} get serviceaccount ${k.sa} -o yaml | grep eks.amazonaws.com/role-arn`,
        ),
      ];
    },
  },
  web_identity_no_oidc_provider: {
    title: "IRSA: the cluster's OIDC provider is not in IAM",
    cause: (v, ctx) =>
      `STS found no IAM OIDC provider for issuer ${detail(ctx, 'issuer') ?? '<OIDC_ISSUER>'} in account ${platformRole(ctx, v).accountId}, so no role there can trust this cluster's service-account tokens.`,
    fix: (_v, ctx) => {
      const issuer = detail(ctx, 'issuer');
      const region = regionOf(ctx);
      return [
        ...findCluster(ctx),
        t("Register the cluster's issuer as an IAM OIDC provider (once per cluster and account):"),
        sh(
          `eksctl utils associate-iam-oidc-provider --cluster ${CLUSTER} --region ${region} --approve`,
        ),
        t(issuer ? 'or without eksctl:' : 'or without eksctl, with the issuer the cluster names:'),
        ...(issuer
          ? []
          : [
              sh(
                `ISSUER=$(aws eks describe-cluster --name ${CLUSTER} --region ${region} --query cluster.identity.oidc.issuer --output text)`,
              ),
            ]),
        sh(
          `aws iam create-open-id-connect-provider --url ${issuer ?? '"$ISSUER"'} --client-id-list sts.amazonaws.com`,
        ),
        t("Check the cluster's issuer against the providers IAM knows:"),
        sh(
          `aws eks describe-cluster --name ${CLUSTER} --region ${region} --query cluster.identity.oidc.issuer --output text`,
        ),
        sh('aws iam list-open-id-connect-providers'),
      ];
    },
  },
  web_identity_token_invalid: {
    title: 'IRSA: STS rejected the web identity token',
    cause: (v, ctx) =>
      `STS rejected the token in ${detail(ctx, 'tokenFile') ?? v.tokenFile} (${v.code}: ${v.message}): an audience other than sts.amazonaws.com, a token from another cluster, or a file that is not the projected service-account token.`,
    fix: (_v, ctx) => {
      const k = k8s(ctx);
      const claims = (['issuer', 'audience', 'subject'] as const)
        .map((claim) => `${claim} ${detail(ctx, claim) ?? 'unknown'}`)
        .join(', ');
      return [
        t(`The token in the file says: ${claims}.`),
        t(
          'The EKS webhook mounts a projected token with audience sts.amazonaws.com at /var/run/secrets/eks.amazonaws.com/serviceaccount/token; use that file unchanged. Check the pod spec:',
        ),
        ...locatePod(k),
        sh(`kubectl -n ${k.ns} get pod ${k.pod} -o yaml | grep -B2 -A6 serviceAccountToken`),
      ];
    },
  },
  web_identity_token_expired: {
    title: 'IRSA: web identity token expired',
    cause: (v, ctx) => {
      const at = detail(ctx, 'expiresAt');
      return `STS says the token in ${detail(ctx, 'tokenFile') ?? v.tokenFile} has expired${at ? ` (at ${at})` : ''}: the kubelet refreshes projected tokens, so the file is a copy nobody refreshes, or the node's clock is off.`;
    },
    fix: [
      t(
        'Mount the projected token volume the EKS webhook injects instead of a copied token (a Secret, an image layer, a file written once), and check the node clock:',
      ),
      sh('chronyc tracking'),
    ],
  },
};
