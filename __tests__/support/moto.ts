import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** A moto server on a free loopback port. Address it as localhost: moto's S3 needs that name. */
export interface Moto {
  port: number
  endpoint: string
  stop: () => Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export function motoServerCommand(): string {
  const found = spawnSync('moto_server', ['--help'], { stdio: 'ignore' })
  if (found.status === 0) return 'moto_server'
  throw new Error('moto_server is not installed; the e2e global setup installs moto[server] with pip')
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort()
  const child: ChildProcess = spawn(motoServerCommand(), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false
  })
  let stderr = ''
  child.stderr?.on('data', chunk => (stderr += String(chunk)))
  const endpoint = `http://localhost:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`)
    try {
      const response = await fetch(`${endpoint}/moto-api/`)
      if (response.status < 500) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not start on ${port}: ${stderr}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return {
    port,
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}
