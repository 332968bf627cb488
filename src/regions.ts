/**
 * The AWS partitions this action deploys to, with their regions as the AWS SDK's endpoint data lists
 * them (__tests__/unit/regions.test.ts fails when the SDK's list moves on without this one).
 * Used to check `aws-region`, to pick an STS region before Serverless has said where the service
 * lives, and to look for a stack in the other regions of its partition.
 */
export interface Partition {
  id: 'aws' | 'aws-cn' | 'aws-us-gov'
  pattern: RegExp
  regions: readonly string[]
  /** Where STS is asked before the service's own region is known. */
  stsRegion: string
}

// Most specific first: the aws pattern also matches us-gov-*.
export const PARTITIONS: readonly Partition[] = [
  {
    id: 'aws-us-gov',
    pattern: /^us-gov-\w+-\d+$/,
    regions: ['us-gov-east-1', 'us-gov-west-1'],
    stsRegion: 'us-gov-west-1'
  },
  {
    id: 'aws-cn',
    pattern: /^cn-\w+-\d+$/,
    regions: ['cn-north-1', 'cn-northwest-1'],
    stsRegion: 'cn-north-1'
  },
  {
    id: 'aws',
    pattern: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
    regions: [
      'af-south-1',
      'ap-east-1',
      'ap-east-2',
      'ap-northeast-1',
      'ap-northeast-2',
      'ap-northeast-3',
      'ap-south-1',
      'ap-south-2',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'ap-southeast-4',
      'ap-southeast-5',
      'ap-southeast-6',
      'ap-southeast-7',
      'ca-central-1',
      'ca-west-1',
      'eu-central-1',
      'eu-central-2',
      'eu-north-1',
      'eu-south-1',
      'eu-south-2',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
      'il-central-1',
      'me-central-1',
      'me-south-1',
      'me-west-1',
      'mx-central-1',
      'sa-east-1',
      'sa-west-1',
      'us-east-1',
      'us-east-2',
      'us-west-1',
      'us-west-2'
    ],
    stsRegion: 'us-east-1'
  }
]

/** The partition a region name belongs to, by the SDK's naming patterns; undefined for a name no partition has. */
export function partitionOfRegion(region: string): Partition | undefined {
  return PARTITIONS.find(p => p.pattern.test(region))
}

/** The partition of an ARN (`arn:aws-cn:…`); the commercial one when it names none this action knows. */
export function partitionOfArn(arn: string | undefined): Partition {
  const id = arn?.split(':')[1]
  return PARTITIONS.find(p => p.id === id) ?? (PARTITIONS.find(p => p.id === 'aws') as Partition)
}
