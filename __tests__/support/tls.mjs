import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A certificate for the tests' loopback https servers (127.0.0.1 and localhost), made with openssl in
 * the project's .cache (git-ignored) and trusted by every process the tests start: the npm scripts
 * run scripts/test-cert.mjs first and give jest NODE_EXTRA_CA_CERTS, which Node reads when a process
 * starts (jest itself, its workers, the action's runs). The action downloads over https only, so its
 * stand-ins serve https too. Plain JavaScript because the scripts and jest's setup load it as it is.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const TLS_DIR = path.join(ROOT, '.cache', 'tls')

/** @returns {{ key: string, cert: string }} */
export function testCertificate() {
  const key = path.join(TLS_DIR, 'key.pem')
  const cert = path.join(TLS_DIR, 'cert.pem')
  // Valid for 30 days; made again after 20, so that a long run never meets an expired one.
  const fresh = existsSync(cert) && Date.now() - statSync(cert).mtimeMs < 20 * 86_400_000
  if (!fresh) {
    mkdirSync(TLS_DIR, { recursive: true })
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '30',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost'
      ],
      { stdio: 'pipe' }
    )
  }
  return { key, cert }
}

/**
 * What the npm scripts pass as NODE_EXTRA_CA_CERTS, by absolute path (Node reads a relative one from
 * each process's own working directory, and the action's runs start in their workspace): the test
 * certificate after whatever the machine already trusted that way (a proxy's CA, which npm, corepack
 * and the registry downloads need), so that setting it replaces nothing.
 * @returns {string}
 */
export function trustedBundle() {
  const { cert } = testCertificate()
  const bundle = path.join(TLS_DIR, 'trusted.pem')
  const inherited = process.env.NODE_EXTRA_CA_CERTS
  const before =
    inherited && path.resolve(inherited) !== bundle && existsSync(inherited)
      ? readFileSync(inherited, 'utf8')
      : ''
  writeFileSync(bundle, `${before.trimEnd()}${before ? '\n' : ''}${readFileSync(cert, 'utf8')}`)
  return bundle
}
