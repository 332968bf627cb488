import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { S3Client } from '@aws-sdk/client-s3'
import { STSClient } from '@aws-sdk/client-sts'

/**
 * The AWS clients of the action's own calls. Each makes one attempt per call: retry.ts retries and
 * says why. The SDK's own configuration applies otherwise, so AWS_ENDPOINT_URL points them at
 * LocalStack or moto. Steps get them from the run context, so that a test can answer for AWS.
 */
export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

export interface ClientOptions {
  region: string
  credentials?: AwsCredentials
  /** For calls that probe many regions at once and must give up quickly. */
  quick?: boolean
}

export interface AwsClients {
  cloudFormation: (options: ClientOptions) => CloudFormationClient
  sts: (options: ClientOptions) => STSClient
  logs: (options: ClientOptions) => CloudWatchLogsClient
  lambda: (options: ClientOptions) => LambdaClient
  s3: (options: ClientOptions) => S3Client
}

function settings(options: ClientOptions) {
  return {
    region: options.region,
    credentials: options.credentials,
    maxAttempts: options.quick ? 2 : 1,
    ...(options.quick ? { requestHandler: { requestTimeout: 5000, connectionTimeout: 3000 } } : {})
  }
}

export const sdkClients: AwsClients = {
  cloudFormation: options => new CloudFormationClient(settings(options)),
  sts: options => new STSClient(settings(options)),
  logs: options => new CloudWatchLogsClient(settings(options)),
  lambda: options => new LambdaClient(settings(options)),
  // Path-style: an emulator at an IP address or localhost has no bucket subdomains.
  s3: options => new S3Client({ ...settings(options), forcePathStyle: true })
}
