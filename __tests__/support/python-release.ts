import { execFileSync } from 'node:child_process'
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import { testCertificate } from './tls.mjs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'

/** The Python that runs the tests (python3 on PATH): a release is built from it, on any machine. */
export function testPython(): { executable: string; version: string; minor: string } {
  const [executable, version] = execFileSync(
    'python3',
    ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'],
    { encoding: 'utf8' }
  )
    .trim()
    .split('\n')
  return { executable, version, minor: version.split('.').slice(0, 2).join('.') }
}

/**
 * A folder of `python`-like commands that exist but do not run, as pyenv's shims for versions that are
 * not selected do (exit 127): put first on PATH, they hide every Python of the machine by those names.
 */
export function unansweredShims(names: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unanswered-'))
  for (const name of names) {
    writeFileSync(
      path.join(dir, name),
      `#!/bin/sh\necho "pyenv: ${name}: command not found" >&2\nexit 127\n`,
      { mode: 0o755 }
    )
  }
  return dir
}

/**
 * Builds a release the way actions/python-versions ships one: a tarball whose setup.sh installs it into
 * $RUNNER_TOOL_CACHE/Python/<version>/<arch> and marks it complete. The interpreter inside is a copied
 * virtual environment of a real Python on this machine. `ranLog`: a file setup.sh appends a line to.
 */
export function buildPythonRelease(
  executable: string,
  version: string,
  arch = 'x64',
  options: { ranLog?: string } = {}
): string {
  const work = mkdtempSync(path.join(os.tmpdir(), 'python-release-'))
  const tree = path.join(work, 'tree')
  execFileSync(executable, ['-m', 'venv', '--copies', tree])
  writeFileSync(
    path.join(tree, 'setup.sh'),
    [
      '#!/bin/bash',
      'set -e',
      // Each run of the installer adds a line: a test can tell whether it ran.
      ...(options.ranLog ? [`echo ran >> ${JSON.stringify(options.ranLog)}`] : []),
      `dest="$RUNNER_TOOL_CACHE/Python/${version}/${arch}"`,
      'rm -rf "$dest" && mkdir -p "$dest"',
      'cp -R . "$dest"',
      'rm "$dest/setup.sh"',
      `touch "$RUNNER_TOOL_CACHE/Python/${version}/${arch}.complete"`,
      ''
    ].join('\n'),
    { mode: 0o755 }
  )
  const tarball = path.join(work, `python-${version}-linux-22.04-${arch}.tar.gz`)
  execFileSync('tar', ['-czf', tarball, '-C', tree, '.'])
  return tarball
}

export interface ReleaseServer {
  manifestUrl: string
  requests: string[]
  close: () => Promise<void>
}

/**
 * Serves, over https (the world's test certificate, tls.mjs), a versions manifest in
 * actions/python-versions' format, with each file's sha256 as a mirror gives it, and the tarball it
 * points at. `sha256` overrides the checksum the manifest gives.
 */
export async function serveRelease(
  tarball: string,
  version: string,
  arch = 'x64',
  options: { sha256?: string } = {}
): Promise<ReleaseServer> {
  const requests: string[] = []
  let manifest = ''
  const tls = testCertificate()
  const server: Server = createServer(
    { key: readFileSync(tls.key), cert: readFileSync(tls.cert) },
    (request, response) => {
      requests.push(request.url ?? '')
      if (request.url === '/versions-manifest.json') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(manifest)
      } else if (request.url === `/${path.basename(tarball)}`) {
        response.writeHead(200, { 'content-length': statSync(tarball).size })
        createReadStream(tarball).pipe(response)
      } else {
        response.writeHead(404).end()
      }
    }
  )
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const sha256 = options.sha256 ?? createHash('sha256').update(readFileSync(tarball)).digest('hex')
  manifest = JSON.stringify([
    {
      version,
      stable: true,
      release_url: `${base}/release`,
      files: [
        {
          filename: path.basename(tarball),
          arch,
          platform: 'linux',
          platform_version: '22.04',
          download_url: `${base}/${path.basename(tarball)}`,
          sha256
        },
        {
          filename: `python-${version}-darwin-${arch}.tar.gz`,
          arch,
          platform: 'darwin',
          download_url: `${base}/darwin.tar.gz`
        }
      ]
    }
  ])
  return {
    manifestUrl: `${base}/versions-manifest.json`,
    requests,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

export function freshDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  mkdirSync(dir, { recursive: true })
  return dir
}
