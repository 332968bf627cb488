import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { PARTITIONS, partitionOfArn, partitionOfRegion } from '../../src/regions.js'

/** The AWS SDK's own endpoint data (partitions.json), as its clients use it. */
function sdkPartitions(): { id: string; regionRegex: string; regions: Record<string, unknown> }[] {
  const file =
    createRequire(import.meta.url)
      .resolve('@aws-sdk/core/client')
      .replace(/dist-cjs.*$/, '') + 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js'
  const text = readFileSync(file, 'utf8')
  return (
    JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as {
      partitions: ReturnType<typeof sdkPartitions>
    }
  ).partitions
}

describe('the partitions', () => {
  it("list the regions the AWS SDK's endpoint data lists, with the same patterns", () => {
    const sdk = sdkPartitions()
    for (const partition of PARTITIONS) {
      const theirs = sdk.find(p => p.id === partition.id)
      expect(theirs).toBeDefined()
      expect(partition.pattern.source.replace(/\\-/g, '-')).toBe(theirs?.regionRegex.replace(/\\-/g, '-'))
      expect([...partition.regions].sort()).toEqual(
        Object.keys(theirs?.regions ?? {})
          .filter(r => !r.endsWith('-global'))
          .sort()
      )
    }
  })

  it('tell a region’s partition, the GovCloud one before the commercial pattern that also matches it', () => {
    expect(partitionOfRegion('us-gov-west-1')?.id).toBe('aws-us-gov')
    expect(partitionOfRegion('cn-north-1')?.id).toBe('aws-cn')
    expect(partitionOfRegion('eu-west-2')?.id).toBe('aws')
    expect(partitionOfRegion('mars-north-1')).toBeUndefined()
  })

  it('tell an ARN’s partition, and its STS region', () => {
    expect(partitionOfArn('arn:aws-cn:iam::123456789012:role/x').stsRegion).toBe('cn-north-1')
    expect(partitionOfArn('arn:aws-us-gov:iam::123456789012:role/x').stsRegion).toBe('us-gov-west-1')
    expect(partitionOfArn(undefined).id).toBe('aws')
  })
})
