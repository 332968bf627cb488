import path from 'node:path'
import type { Exec } from '../../src/exec.js'
import { usableTool } from '../../src/python-pins.js'

/**
 * A machine with pipenv in two PATH folders: the action's own shim folder (a second step of the job
 * finds the first step's shim there) and /usr/bin. `command -v` answers from the first folder on
 * the PATH it is given that has the tool, as sh does.
 */
function machine(has: Record<string, string[]>): { exec: Exec; searched: string[] } {
  const searched: string[] = []
  const exec: Exec = async (tool, args, options) => {
    if (tool === 'sh') {
      const name = args[1].replace('command -v ', '')
      const PATH = options.env.PATH ?? ''
      searched.push(PATH)
      const dir = PATH.split(path.delimiter).find(d => has[d]?.includes(name))
      return dir
        ? { exitCode: 0, stdout: `${dir}/${name}\n`, stderr: '' }
        : { exitCode: 1, stdout: '', stderr: '' }
    }
    return { exitCode: 0, stdout: `${path.basename(tool)}, version 2022.12.19\n`, stderr: '' }
  }
  return { exec, searched }
}

describe('usableTool', () => {
  const shims = '/runner/temp/serverless-python-deploy/bin'

  it('looks past the action’s own shim folder, which an earlier step of the job put first on PATH', async () => {
    const { exec, searched } = machine({ [shims]: ['pipenv'], '/usr/bin': ['pipenv'] })
    const env = { PATH: [shims, '/usr/local/bin', '/usr/bin'].join(path.delimiter) }
    expect(await usableTool('pipenv', exec, env, shims)).toBe('/usr/bin/pipenv')
    expect(searched).toEqual([['/usr/local/bin', '/usr/bin'].join(path.delimiter)])
  })

  it('without the shim folder named, takes the first on PATH (the shim, which is why it is named)', async () => {
    const { exec } = machine({ [shims]: ['pipenv'], '/usr/bin': ['pipenv'] })
    const env = { PATH: [shims, '/usr/bin'].join(path.delimiter) }
    expect(await usableTool('pipenv', exec, env)).toBe(`${shims}/pipenv`)
  })

  it('finds nothing when only the action’s own shim has the name', async () => {
    const { exec } = machine({ [`${shims}/`]: ['poetry'] })
    const env = { PATH: [`${shims}/`, '/usr/bin'].join(path.delimiter) }
    expect(await usableTool('poetry', exec, env, shims)).toBeUndefined()
  })
})
