import { asset } from './assets.js'
import type { Architecture } from './service.js'

/**
 * Lambda-correct wheels without Docker. pip installs wheels for the machine it runs on; the runner is
 * x86_64 Linux with its own glibc, Lambda is x86_64 or arm64 on Amazon Linux. serverless-python-
 * requirements never passes a platform, so the action gives pip the Lambda target itself: the
 * `python3.X` the plugin calls is the action's own shim, which hands `-m pip install` to the helper
 * below. The service's serverless.yml needs no edit; one that names its own --platform, or builds in
 * Docker, keeps its choice (the target is then not set).
 */

export interface WheelTarget {
  /** pip --platform values, newest first. */
  platforms: string[]
  /** `3.12`. */
  pythonVersion: string
  /** For messages: `manylinux2014_aarch64`. */
  label: string
}

/**
 * The glibc of the Amazon Linux a runtime runs on: python3.12 and later on Amazon Linux 2023 (2.34),
 * earlier ones on Amazon Linux 2 (2.26). Wheels for any manylinux up to it run there.
 */
function glibcMinor(pythonVersion: string): number {
  const minor = Number(pythonVersion.split('.')[1])
  return minor >= 12 ? 34 : 26
}

export function wheelTarget(pythonVersion: string, architecture: Architecture): WheelTarget {
  const machine = architecture === 'arm64' ? 'aarch64' : 'x86_64'
  const platforms: string[] = []
  for (let minor = glibcMinor(pythonVersion); minor >= 17; minor--)
    platforms.push(`manylinux_2_${minor}_${machine}`)
  // The legacy aliases: pip adds manylinux2010 and manylinux1 for x86_64 itself.
  platforms.push(`manylinux2014_${machine}`)
  return { platforms, pythonVersion, label: `manylinux2014_${machine}` }
}

/** What the pip helper (py/pip_lambda.py) reads from the environment of the serverless process that packages. */
export function wheelTargetEnv(target: WheelTarget): Record<string, string> {
  return {
    SPD_PIP_HELPER: asset('py', 'pip_lambda.py'),
    SPD_PIP_PLATFORMS: target.platforms.join(' '),
    SPD_PIP_PYTHON_VERSION: target.pythonVersion,
    SPD_PIP_LABEL: target.label
  }
}
