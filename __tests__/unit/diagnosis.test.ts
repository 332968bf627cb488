import { diagnose } from '../../src/diagnosis.js'

describe('diagnose', () => {
  it('names the package pip could not install and requirements.txt', () => {
    const output = [
      'Running "serverless" from node_modules',
      'Error:',
      '  STDERR: ERROR: Could not find a version that satisfies the requirement mangum==9.9.9 (from versions: none)',
      'ERROR: No matching distribution found for mangum==9.9.9',
      ''
    ].join('\n')
    const message = diagnose(output, 'deploy', 'api-dev')
    expect(message).toContain('pip could not install mangum from')
    expect(message).toContain("the service's requirements.txt")
    expect(message).toContain('(ERROR: No matching distribution found for mangum==9.9.9)')
  })

  it('also reads pip\'s "Could not find a version" line alone', () => {
    const output = 'ERROR: Could not find a version that satisfies the requirement fastapi==0.0.0'
    expect(diagnose(output, 'package', 'api-dev')).toMatch(
      /^pip could not install fastapi from .*fastapi==0\.0\.0/
    )
  })

  it('explains missing credentials, naming the command', () => {
    const output =
      'Error:\n\nAWS provider credentials not found. Learn how to set up AWS provider credentials'
    expect(diagnose(output, 'remove', 'api-dev')).toBe(
      'No AWS credentials reached serverless remove. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.'
    )
  })

  it('explains expired credentials', () => {
    const output = 'Error:\n\nThe security token included in the request is expired'
    expect(diagnose(output, 'deploy', 'api-dev')).toMatch(
      /^The AWS credentials expired during serverless deploy\. Raise role-duration-seconds/
    )
    expect(diagnose('ExpiredToken: token expired', 'info', 'api-dev')).toMatch(
      /expired during serverless info/
    )
  })

  it('explains removing a stack that does not exist, but only for remove', () => {
    const output = 'Error:\n\nStack with id api-prod does not exist'
    expect(diagnose(output, 'remove', 'api-prod')).toBe(
      'Stack api-prod does not exist, so there is nothing to remove. Check stage and aws-region.'
    )
    expect(diagnose(output, 'info', 'api-prod')).toBe('Stack with id api-prod does not exist')
  })

  it('explains a stack stuck in a rollback state', () => {
    const output =
      'Error:\n\nStack:arn:aws:cloudformation:us-east-1:1:stack/api-dev/x is in ROLLBACK_COMPLETE state'
    expect(diagnose(output, 'deploy', 'api-dev')).toMatch(
      /^Stack api-dev is stuck after a failed deploy\..*command: remove/
    )
    expect(diagnose('UPDATE_ROLLBACK_FAILED', 'deploy', 'api-dev')).toMatch(/^Stack api-dev is stuck/)
  })

  it("falls back to the message under serverless' Error: heading", () => {
    const output =
      'Packaging api\n✖ Stack api-dev failed\n\nError:\n\n  Invalid handler "main.nope" in function api  \n\n'
    expect(diagnose(output, 'deploy', 'api-dev')).toBe('Invalid handler "main.nope" in function api')
  })

  it('is undefined for output it does not recognise', () => {
    expect(diagnose('Segmentation fault (core dumped)', 'deploy', 'api-dev')).toBeUndefined()
    expect(diagnose('', 'deploy', 'api-dev')).toBeUndefined()
  })
})
