export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

export interface CredentialResult {
  /** Variables for the serverless process only; empty when the environment already has credentials. */
  env: Record<string, string>
  /** For the action's own AWS clients; undefined means the SDK's default chain. */
  credentials?: AwsCredentials
  accountId?: string
}

/** Until OIDC is wired in, credentials come from the environment as the AWS SDKs read them. */
export async function resolveCredentials(): Promise<CredentialResult> {
  return { env: {} }
}
