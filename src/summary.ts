import * as core from '@actions/core'

export interface Phase {
  name: string
  seconds: number
}

export interface Report {
  command: string
  service?: string
  stage?: string
  region?: string
  stackName?: string
  url?: string
  /** The smoke test's result in words, and its last HTTP status. */
  smoke?: string
  smokeStatus?: string
  /** The functions' log events when the smoke test failed. */
  functionLogs?: string
  /** `true` when the stage was rolled back to its previous deployment; what happened, in words. */
  rolledBack?: string
  rollback?: string
  commentUrl?: string
  /** The deployment artifact's size in bytes, and the cache that was restored. */
  artifactSize?: string
  cacheHit?: string
  /** Each cache's outcome, for the summary. */
  caches?: string
  accountId?: string
  pythonVersion?: string
  serverlessVersion?: string
  /** How the Node dependencies were installed: installed, up to date, no package.json. */
  nodeModules?: string
  /** The platform pip was asked to build for. */
  pipPlatform?: string
  /** After remove: removed, or already gone. */
  removed?: string
  /** The sha256 of the zips to upload: one digest, or a JSON map of file names for several. */
  artifactSha256?: string
  /** What the artifact checks found and how long they took, in words. */
  verification?: string
  /** command: plan: the plan's JSON file, its count of changes, and whether it destroys data. */
  plan?: string
  changes?: string
  destructive?: string
  /** The plan as Markdown, for the summary. */
  planMarkdown?: string
  /** The distributions in the artifact (name, version, wheel tags), from the static check. */
  packages?: { name: string; version: string; tags: string[]; zip: string }[]
  phases: Phase[]
  error?: string
  errorTitle?: string
}

/** Times each phase of the run for the job summary. */
export class Phases {
  readonly list: Phase[] = []

  async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.list.push({ name, seconds: (performance.now() - started) / 1000 })
    }
  }
}

export function summaryRows(report: Report): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['Command', report.command],
    ['Service', report.service],
    ['Stage', report.stage],
    ['Region', report.region],
    ['Stack', report.stackName],
    ['URL', report.url],
    ['Smoke test', report.smoke],
    ['Rollback', report.rollback],
    ['Pull request comment', report.commentUrl],
    [
      'Artifact',
      report.artifactSize ? `${(Number(report.artifactSize) / 1024 / 1024).toFixed(1)} MB` : undefined
    ],
    ['Artifact sha256', report.artifactSha256],
    ['Verification', report.verification],
    ['Caches', report.caches],
    ['AWS account', report.accountId],
    ['Python', report.pythonVersion],
    ['Serverless', report.serverlessVersion]
  ]
  return rows.filter((row): row is [string, string] => Boolean(row[1]))
}

/** The job summary's HTML for a report (core.summary only builds the text here; the runner writes it). */
export function renderSummary(report: Report): string {
  const title = report.error ? `❌ serverless ${report.command} failed` : `✅ serverless ${report.command}`
  const summary = core.summary
    .emptyBuffer()
    .addHeading(title, 3)
    .addTable([
      [
        { data: 'What', header: true },
        { data: 'Value', header: true }
      ],
      ...summaryRows(report).map(([key, value]) => [
        key,
        key === 'URL' ? `<a href="${escape(value)}">${escape(value)}</a>` : escape(value)
      ])
    ])
  if (report.error) summary.addQuote(escape(report.error))
  if (report.functionLogs) summary.addHeading('Function logs', 4).addCodeBlock(report.functionLogs)
  if (report.planMarkdown) summary.addRaw(`\n\n${report.planMarkdown}\n\n`)
  if (report.packages?.length)
    summary.addHeading('Packages in the artifact', 4).addTable([
      [
        { data: 'Package', header: true },
        { data: 'Version', header: true },
        { data: 'Platform', header: true },
        { data: 'Zip', header: true }
      ],
      ...report.packages.map(pkg => [
        escape(pkg.name),
        escape(pkg.version),
        escape(pkg.tags.join(', ')),
        escape(pkg.zip)
      ])
    ])
  summary.addHeading('Time', 4).addTable([
    [
      { data: 'Phase', header: true },
      { data: 'Seconds', header: true }
    ],
    ...report.phases.map(phase => [escape(phase.name), phase.seconds.toFixed(1)])
  ])
  const text = summary.stringify()
  summary.emptyBuffer()
  return text
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
