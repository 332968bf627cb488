import { deploymentOf } from '../../src/rollback.js'

describe('deploymentOf', () => {
  it("reads the deployment folder a stack's functions run from", () => {
    const template = {
      Resources: {
        ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' },
        ApiLambdaFunction: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Code: {
              S3Bucket: { Ref: 'ServerlessDeploymentBucket' },
              S3Key: 'serverless/api/dev/1795977048365-2026-11-29T18:30:48.365Z/api.zip'
            }
          }
        }
      }
    }
    expect(deploymentOf(template)).toEqual({
      timestamp: '1795977048365',
      directory: 'serverless/api/dev/1795977048365-2026-11-29T18:30:48.365Z'
    })
  })

  it('reads a layer too, and a custom deployment prefix', () => {
    const template = {
      Resources: {
        PythonRequirementsLambdaLayer: {
          Type: 'AWS::Lambda::LayerVersion',
          Properties: {
            Content: {
              S3Key: 'deploys/api/prod/1700000000000-2023-11-14T22:13:20.000Z/pythonRequirements.zip'
            }
          }
        }
      }
    }
    expect(deploymentOf(template)?.timestamp).toBe('1700000000000')
  })

  it('is undefined for a stack Serverless did not deploy', () => {
    expect(deploymentOf({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } })).toBeUndefined()
    expect(deploymentOf(undefined)).toBeUndefined()
  })
})
