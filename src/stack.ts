import {
  CloudFormationClient,
  DescribeStacksCommand,
  type CloudFormationClientConfig,
  type Output
} from '@aws-sdk/client-cloudformation'

/** The stack outputs that hold a service's URL, most specific first. */
const URL_OUTPUTS = ['HttpApiUrl', 'ServiceEndpoint']

/**
 * The service URL as its stack reports it, not as the CLI prints it. The SDK's own configuration
 * applies, so AWS_ENDPOINT_URL points it at LocalStack or moto as it does the AWS CLI.
 */
export async function stackOutputs(
  stackName: string,
  region: string,
  credentials?: CloudFormationClientConfig['credentials']
): Promise<Record<string, string>> {
  const client = new CloudFormationClient({ region, credentials })
  try {
    const result = await client.send(new DescribeStacksCommand({ StackName: stackName }))
    return outputMap(result.Stacks?.[0]?.Outputs ?? [])
  } finally {
    client.destroy()
  }
}

export function outputMap(outputs: Output[]): Record<string, string> {
  return Object.fromEntries(
    outputs.filter(o => o.OutputKey && o.OutputValue !== undefined).map(o => [o.OutputKey, o.OutputValue])
  )
}

export function serviceUrl(outputs: Record<string, string>): string {
  for (const key of URL_OUTPUTS) if (outputs[key]) return outputs[key]
  const functionUrl = Object.keys(outputs)
    .sort()
    .find(key => key.endsWith('LambdaFunctionUrl'))
  return functionUrl ? outputs[functionUrl] : ''
}
