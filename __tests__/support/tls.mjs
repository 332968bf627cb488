import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
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
