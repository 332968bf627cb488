import { Phases, renderSummary, summaryRows, type Report } from '../../src/summary.js'

describe('Phases', () => {
  it('records each phase with its duration, and returns the result', async () => {
    const phases = new Phases()
    expect(await phases.time('python', () => 42)).toBe(42)
    expect(
      await phases.time('npm', async () => {
        await new Promise(resolve => setTimeout(resolve, 50))
        return 'done'
      })
    ).toBe('done')
    expect(phases.list.map(phase => phase.name)).toEqual(['python', 'npm'])
    expect(phases.list[0].seconds).toBeGreaterThanOrEqual(0)
    expect(phases.list[1].seconds).toBeGreaterThanOrEqual(0.04)
    expect(phases.list[1].seconds).toBeLessThan(5)
  })

  it('records a phase whose work throws, and rethrows', async () => {
    const phases = new Phases()
    await expect(
      phases.time('serverless deploy', async () => {
        throw new Error('boom')
      })
    ).rejects.toThrow('boom')
    await expect(
      phases.time('sync', () => {
        throw new Error('sync boom')
      })
    ).rejects.toThrow('sync boom')
    expect(phases.list).toEqual([
      { name: 'serverless deploy', seconds: expect.any(Number) },
      { name: 'sync', seconds: expect.any(Number) }
    ])
  })
})

describe('summaryRows', () => {
  it('lists the filled-in fields in order and omits empty ones', () => {
    expect(
      summaryRows({
        command: 'deploy',
        service: 'api',
        stage: 'dev',
        region: '',
        stackName: 'api-dev',
        url: undefined,
        pythonVersion: '3.11.7',
        phases: []
      })
    ).toEqual([
      ['Command', 'deploy'],
      ['Service', 'api'],
      ['Stage', 'dev'],
      ['Stack', 'api-dev'],
      ['Python', '3.11.7']
    ])
  })
})

describe('renderSummary', () => {
  const report: Report = {
    command: 'deploy',
    service: 'api<script>alert(1)</script>',
    stage: 'dev',
    region: 'us-east-1',
    stackName: 'api-dev',
    url: 'https://abc.execute-api.us-east-1.amazonaws.com',
    accountId: '123456789012',
    pythonVersion: '3.11.7',
    serverlessVersion: '3.40.0',
    phases: [
      { name: 'python', seconds: 1.234 },
      { name: 'serverless deploy', seconds: 61.06 }
    ]
  }

  it('writes the table with a URL link, escaped values and phase times', async () => {
    const text = renderSummary(report)
    expect(text).toContain('<h3>✅ serverless deploy</h3>')
    expect(text).toContain(
      '<td>URL</td><td><a href="https://abc.execute-api.us-east-1.amazonaws.com">https://abc.execute-api.us-east-1.amazonaws.com</a></td>'
    )
    expect(text).toContain('<td>Service</td><td>api&lt;script&gt;alert(1)&lt;/script&gt;</td>')
    expect(text).not.toContain('<script>')
    expect(text).toContain('<td>AWS account</td><td>123456789012</td>')
    expect(text).toContain('<td>python</td><td>1.2</td>')
    expect(text).toContain('<td>serverless deploy</td><td>61.1</td>')
    expect(text).not.toContain('<blockquote>')
  })

  it('says it failed and quotes the error, escaped', async () => {
    const text = renderSummary({
      ...report,
      url: undefined,
      error: 'serverless deploy failed: <b>bad</b> & worse'
    })
    expect(text).toContain('<h3>❌ serverless deploy failed</h3>')
    expect(text).toContain(
      '<blockquote>serverless deploy failed: &lt;b&gt;bad&lt;/b&gt; &amp; worse</blockquote>'
    )
    expect(text).not.toContain('<td>URL</td>')
  })
})
