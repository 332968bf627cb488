import { wheelTarget, wheelTargetEnv } from '../../src/wheels.js'

describe('wheelTarget', () => {
  it("targets Amazon Linux 2's glibc for python3.11 on x86_64", () => {
    const target = wheelTarget('3.11', 'x86_64')
    expect(target.platforms[0]).toBe('manylinux_2_26_x86_64')
    expect(target.platforms.at(-2)).toBe('manylinux_2_17_x86_64')
    expect(target.platforms.at(-1)).toBe('manylinux2014_x86_64')
    expect(target.platforms).not.toContain('manylinux_2_28_x86_64')
    expect(target.label).toBe('manylinux2014_x86_64')
  })

  it("targets Amazon Linux 2023's glibc for python3.12 and later, on aarch64 for arm64", () => {
    const target = wheelTarget('3.13', 'arm64')
    expect(target.platforms[0]).toBe('manylinux_2_34_aarch64')
    expect(target.platforms).toContain('manylinux_2_28_aarch64')
    expect(target.platforms.every(p => p.endsWith('_aarch64'))).toBe(true)
    expect(target.pythonVersion).toBe('3.13')
  })

  it('hands the helper its target through the environment', () => {
    expect(wheelTargetEnv(wheelTarget('3.12', 'x86_64'))).toMatchObject({
      SPD_PIP_HELPER: expect.stringMatching(/\/py\/pip_lambda\.py$/),
      SPD_PIP_PYTHON_VERSION: '3.12',
      SPD_PIP_LABEL: 'manylinux2014_x86_64',
      SPD_PIP_PLATFORMS: expect.stringMatching(/^manylinux_2_34_x86_64 .* manylinux2014_x86_64$/)
    })
  })
})
