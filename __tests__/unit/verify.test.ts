import { runsTarget } from '../../src/verify.js'

describe('runsTarget', () => {
  it("is true only where the action's Python is of the target's architecture, as Python names it", () => {
    expect(runsTarget('x86_64', 'x86_64')).toBe(true)
    expect(runsTarget('AMD64', 'x86_64')).toBe(true)
    expect(runsTarget('aarch64', 'arm64')).toBe(true)
    expect(runsTarget('arm64', 'arm64')).toBe(true)
    // qemu-user lets an x86_64 machine run aarch64 programs, not load aarch64 code into an x86_64 Python.
    expect(runsTarget('x86_64', 'arm64')).toBe(false)
    expect(runsTarget('aarch64', 'x86_64')).toBe(false)
    expect(runsTarget('riscv64', 'arm64')).toBe(false)
  })
})
