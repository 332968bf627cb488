import { accessDenied, subPatterns } from '../../src/oidc-advice.js'

describe('accessDenied', () => {
  it('suggests a condition in the token’s own sub form, legacy or immutable', () => {
    const legacy = {
      sub: 'repo:octo-org/api:environment:prod',
      repository: 'octo-org/api',
      aud: 'sts.amazonaws.com'
    }
    expect(subPatterns(legacy)).toEqual({
      exact: 'repo:octo-org/api:environment:prod',
      repository: 'repo:octo-org/api:*'
    })
    const immutable = {
      sub: 'repo:octo-org@1234/api@5678:ref:refs/heads/main',
      repository: 'octo-org/api',
      aud: 'sts.amazonaws.com'
    }
    expect(subPatterns(immutable).repository).toBe('repo:octo-org@1234/api@5678:*')
    const message = accessDenied('arn:aws:iam::123456789012:role/deploy', immutable, 'AccessDenied')
    expect(message).toContain(
      '"token.actions.githubusercontent.com:sub": "repo:octo-org@1234/api@5678:ref:refs/heads/main"'
    )
    expect(message).toContain('immutable sub form')
  })
})
